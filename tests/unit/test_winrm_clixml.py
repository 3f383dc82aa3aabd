"""CLIXML codecs of the WinRM connector, with psrpcore (a separate implementation of
PowerShell's serializer) as the other side of every round trip."""

from __future__ import annotations

import importlib.util
import xml.etree.ElementTree as ET
from typing import Any

import psrpcore
import psrpcore.types as ps
import pytest
from pypsrp.serializer import Serializer

from adsuite.connectors.credentials import Secret
from adsuite.connectors.winrm import PsError, WinRmError, WinRmTarget, open_session
from adsuite.connectors.winrm.clixml import from_document, outgoing, plain, ps_error, to_document

VALUES: list[Any] = [
    "plain",
    "quotes ' \" and $dollar `backtick",
    "new\nlines\r\nand\ttabs",
    "_x000A_ literal escape-looking text",
    "中文 😀 \u0000 nul",
    12,
    2**40,
    -1.5,
    True,
    None,
    ["a", 1, ["nested"]],
    {"Key": "value", "List": ["x", "y"], "Map": {"inner": 1}},
]
CIPHER = psrpcore.PSRemotingCrypto()


def _from_psrpcore(value: Any) -> Any:
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _from_psrpcore(v) for k, v in value.items()}
    return [_from_psrpcore(item) for item in value]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_document_adsuite_writes_is_read_back_equal_by_psrpcore(value: Any) -> None:
    [read] = ps.deserialize_clixml(to_document(outgoing(value)), CIPHER)
    assert _from_psrpcore(read) == value


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_document_psrpcore_writes_is_read_back_equal(value: Any) -> None:
    wrapped = [value] if isinstance(value, list) else value  # a bare list is one object per item
    assert plain(from_document(ps.serialize_clixml(wrapped, CIPHER))) == value


def test_big_ints_go_as_int64_because_pypsrp_writes_every_int_as_int32() -> None:
    assert "<I32>1099511627776</I32>" in to_document(2**40)  # what pypsrp alone would send
    assert "<I64>1099511627776</I64>" in to_document(outgoing(2**40))
    assert "<I32>7</I32>" in to_document(outgoing(7))
    assert "<B>true</B>" in to_document(outgoing(True))


def test_objects_become_property_dicts_and_enums_their_names() -> None:
    element = ps.serialize(ps.PSCustomObject(Name="dc1", Count=ps.PSInt(3)), CIPHER)
    assert plain(Serializer().deserialize(ET.tostring(element).decode())) == {
        "Name": "dc1",
        "Count": 3,
    }
    enum_xml = (
        '<Obj RefId="0"><TN RefId="0"><T>System.DayOfWeek</T><T>System.Enum</T>'
        "<T>System.ValueType</T><T>System.Object</T></TN><ToString>Monday</ToString><I32>1</I32></Obj>"
    )
    assert plain(Serializer().deserialize(enum_xml)) == "Monday"


def test_error_record_gives_message_id_and_category() -> None:
    record = ps.ErrorRecord(
        Exception=ps.NETException(Message="group not found: X"),
        CategoryInfo=ps.ErrorCategoryInfo(Category=ps.ErrorCategory.ObjectNotFound),
        FullyQualifiedErrorId="AdsuiteGroupNotFound",
    )
    parsed = Serializer().deserialize(ET.tostring(ps.serialize(record, CIPHER)).decode())
    assert ps_error(parsed) == PsError(
        "group not found: X", "AdsuiteGroupNotFound", "ObjectNotFound"
    )


def test_kerberos_without_gssapi_is_a_clear_error_before_connecting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec  # the kerberos extra installs gssapi: hide it here
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "gssapi" else real(name, *a)
    )
    target = WinRmTarget(
        name="dc1", url="https://192.0.2.1:5986/wsman", username="u", password=Secret("p")
    )
    with pytest.raises(WinRmError, match="Kerberos needs the Python package gssapi") as raised:
        open_session(target)
    assert raised.value.hint and "auth: ntlm" in raised.value.hint
