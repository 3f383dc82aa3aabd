"""Turning PowerShell's serialized objects (CLIXML, as pypsrp deserializes them) into
plain Python, and the CLIXML documents the pywinrm path exchanges with its runner script.

Both clients go through pypsrp's deserializer, so a script's output has the same shape
whichever client carried it: strings, ints, floats, bools, None, bytes, UUIDs, lists,
dicts (hashtables), and dicts of properties for objects. DateTime values arrive as the
ISO 8601 text PowerShell wrote (pypsrp does not convert them); enums as their names.
"""

from __future__ import annotations

import base64
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from pypsrp.complex_objects import GenericComplexObject
from pypsrp.serializer import Serializer, TaggedValue

from adsuite.connectors.winrm.model import PsError

log = logging.getLogger(__name__)

CLIXML_NAMESPACE = "http://schemas.microsoft.com/powershell/2004/04"
_NAMESPACE_PREFIX = re.compile(r"^\{[^}]*\}")

# System.Management.Automation.ErrorCategory, in value order
ERROR_CATEGORIES = [
    "NotSpecified",
    "OpenError",
    "CloseError",
    "DeviceError",
    "DeadlockDetected",
    "InvalidArgument",
    "InvalidData",
    "InvalidOperation",
    "InvalidResult",
    "InvalidType",
    "MetadataError",
    "NotImplemented",
    "NotInstalled",
    "ObjectNotFound",
    "OperationStopped",
    "OperationTimeout",
    "SyntaxError",
    "ParserError",
    "PermissionDenied",
    "ResourceBusy",
    "ResourceExists",
    "ResourceUnavailable",
    "ReadError",
    "WriteError",
    "FromStdErr",
    "SecurityError",
    "ProtocolError",
    "ConnectionError",
    "AuthenticationError",
    "LimitsExceeded",
    "QuotaExceeded",
    "NotEnabled",
]


INT32 = range(-(2**31), 2**31)


def outgoing(value: Any) -> Any:
    """A parameter value ready for pypsrp's serializer: ints beyond Int32 as Int64.

    pypsrp writes every Python int as ``<I32>``; PowerShell cannot read one that does
    not fit (an event record id past 2**31, a FILETIME), so those go as ``<I64>``.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value not in INT32:
        return TaggedValue("I64", value)
    if isinstance(value, Mapping):
        return {key: outgoing(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [outgoing(item) for item in value]
    return value


def plain(value: Any) -> Any:
    """A deserialized PowerShell value as plain Python: objects become property dicts."""
    if isinstance(value, GenericComplexObject):
        if "System.Enum" in value.types:
            return value.to_string
        properties = {**value.adapted_properties, **value.extended_properties}
        if properties:
            return {str(key): plain(item) for key, item in properties.items()}
        return value.to_string
    if isinstance(value, Mapping):
        return {str(key) if not isinstance(key, int) else key: plain(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def ps_error(record: Any) -> PsError:
    """A pypsrp ErrorRecord as a :class:`PsError` (message as PowerShell's ToString gives it)."""
    message = getattr(record, "details_message", None) or str(record) or ""
    if not message:
        exception = getattr(record, "exception", None)
        if isinstance(exception, GenericComplexObject):
            message = str(exception.adapted_properties.get("Message") or "")
    category_value = getattr(record, "category", None)
    category = None
    if isinstance(category_value, int) and 0 <= category_value < len(ERROR_CATEGORIES):
        category = ERROR_CATEGORIES[category_value]
    return PsError(message=message, error_id=getattr(record, "fq_error", None), category=category)


def to_document(value: Any) -> str:
    """One value as a CLIXML document, as ``[PSSerializer]::Deserialize`` reads it."""
    element = Serializer().serialize(value)
    body = ET.tostring(element, encoding="unicode") if element is not None else "<Nil />"
    return f'<Objs Version="1.1.0.1" xmlns="{CLIXML_NAMESPACE}">{body}</Objs>'


def from_document(text: str) -> Any:
    """The single value in a CLIXML document written by ``[PSSerializer]::Serialize``."""
    root = ET.fromstring(text)
    for element in root.iter():
        element.tag = _NAMESPACE_PREFIX.sub("", element.tag)
    children = list(root)
    if len(children) != 1:
        raise ValueError(f"expected one object in the CLIXML document, found {len(children)}")
    return Serializer().deserialize(children[0])


def to_base64_document(value: Any) -> str:
    return base64.b64encode(to_document(value).encode("utf-8")).decode("ascii")


def from_base64_document(text: str) -> Any:
    return from_document(base64.b64decode(text, validate=True).decode("utf-8"))
