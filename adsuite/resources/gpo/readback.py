"""A GPO's files and names read back as spec arguments, for the images rollback keeps
(:mod:`adsuite.resources.gpo.image`): Registry.pol as a ``registry`` list, GptTmpl.inf as
``security`` and ``restricted_groups``, audit.csv as ``audit``, SIDs as account names.

What a spec cannot declare raises :class:`Unrestorable` with the reason.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from adsuite.errors import AdsuiteError, InputError
from adsuite.formats import audit_csv
from adsuite.formats.gpttmpl_inf import (
    APPLICATION_LOG,
    EVENT_AUDIT,
    GROUP_MEMBERSHIP,
    PRIVILEGE_RIGHTS,
    REGISTRY_VALUES,
    SECURITY_LOG,
    SERVICE_GENERAL_SETTING,
    SYSTEM_ACCESS,
    SYSTEM_LOG,
    UNICODE,
    VERSION,
    GptTmpl,
    ServiceSetting,
    parse_gpttmpl,
    registry_value_from_text,
)
from adsuite.formats.registry_pol import Action, RegType, parse_registry_pol
from adsuite.resources.file_acl import principals
from adsuite.resources.gpo import requests as io
from adsuite.resources.gpo import services as gpo_services
from adsuite.resources.gpo.spec import AUDIT_WORDS, FORCE_SUBCATEGORIES, MachineHalf

log = logging.getLogger(__name__)

SECTIONS = {  # SecuritySettings field -> GptTmpl.inf section
    "system_access": SYSTEM_ACCESS,
    "event_audit": EVENT_AUDIT,
    "privilege_rights": PRIVILEGE_RIGHTS,
    "registry_values": REGISTRY_VALUES,
    "system_log": SYSTEM_LOG,
    "security_log": SECURITY_LOG,
    "application_log": APPLICATION_LOG,
}
_KNOWN_SECTIONS = {
    s.casefold()
    for s in (*SECTIONS.values(), UNICODE, VERSION, GROUP_MEMBERSHIP, SERVICE_GENERAL_SETTING)
}
_AUDIT_NAMES = {setting: word for word, setting in AUDIT_WORDS.items()}
_NUMBER = re.compile(r"-?\d+\Z")
Args = dict[str, Any]


class Unrestorable(AdsuiteError):
    """Part of a GPO no spec can declare; the reason is what rollback reports (caught
    where the image is made: it never reaches a caller)."""


def named(sid: str, names: Mapping[str, str]) -> str:
    shown = principals.DISPLAY.get(sid)
    if shown and principals.fixed_sid(shown) == sid:
        return shown
    return names.get(sid) or sid


def principal(text: str, names: Mapping[str, str]) -> str:
    """``*S-1-5-32-544`` as a playbook names it (``Administrators``, ``HQ-Admins``)."""
    return named(text[1:].upper(), names) if text.startswith("*") else text


def policies(data: bytes | None, path: str) -> list[Args]:
    """A Registry.pol as a ``registry`` list."""
    if data is None:
        return []
    try:
        pol = parse_registry_pol(data, source=path)
    except InputError as error:
        raise Unrestorable(f"its {path} was unreadable ({error.message})") from None
    out = []
    for entry in pol:
        if entry.action is Action.DELETE_VALUE:
            out.append({"key": entry.key, "value": entry.target, "state": "absent"})
            continue
        value: Any = entry.data
        binary = entry.type is RegType.REG_BINARY and isinstance(value, bytes)
        if entry.action is not Action.SET or (isinstance(value, bytes) and not binary):
            raise Unrestorable(
                f"its {path} held {entry.key}\\{entry.value_name}, which no playbook declares"
            )
        value = value.hex() if binary else list(value) if isinstance(value, tuple) else value
        out.append({"key": entry.key, "value": entry.value_name, "type": entry.type.name})
        out[-1]["data"] = value
    return out


def _template(data: bytes | None) -> GptTmpl | None:
    if data is None:
        return None
    try:
        return parse_gpttmpl(data, source=io.GPTTMPL)
    except InputError as error:
        raise Unrestorable(f"its GptTmpl.inf was unreadable ({error.message})") from None


def _value(name: str, text: str, names: Mapping[str, str]) -> Any:
    """A GptTmpl.inf value as SecuritySettings declares it."""
    text = text.strip()
    if name == "privilege_rights":
        return [principal(p.strip(), names) for p in text.split(",") if p.strip()]
    if name == "registry_values":
        kind, _, data = text.partition(",")
        if not kind.strip().isdigit():
            raise Unrestorable(f"its [Registry Values] held {text!r}")
        value = registry_value_from_text(int(kind), data)
        shown = list(value.data) if isinstance(value.data, tuple) else value.data
        return {"type": value.type, "data": shown}
    return int(text) if _NUMBER.match(text) else text.strip('"')


def _section(template: GptTmpl | None, name: str) -> dict[str, str]:
    section = template.section(name) if template else None
    try:
        return {k.casefold(): v for k, v in (section.mapping() if section else {}).items()}
    except InputError as error:
        raise Unrestorable(f"its GptTmpl.inf [{name}] was unreadable ({error.message})") from None


def declared_template(machine: MachineHalf, data: bytes | None, names: Mapping[str, str]) -> Args:
    """The declared GptTmpl.inf keys and groups as the file holds them (null: not set)."""
    template = _template(data)
    security: Args = {}
    declared = machine.security
    for name, section in SECTIONS.items():
        keys = list(getattr(declared, name) or {}) if declared else []
        if name == "registry_values" and machine.force_audit_subcategories is not None:
            keys.append(FORCE_SUBCATEGORIES)
        if keys:
            have = _section(template, section)
            security[name] = {
                k: _value(name, have[k.casefold()], names) if k.casefold() in have else None
                for k in keys
            }
    if declared and declared.services:
        have_services = {k.casefold(): v for k, v in _services(template).items()}
        security["services"] = {
            name: _service(have_services.get(name.casefold())) for name in declared.services
        }
    out: Args = {"security": security} if security else {}
    if machine.restricted_groups is not None:
        out["restricted_groups"] = _groups(template, names)
    return out


def whole_template(data: bytes | None, names: Mapping[str, str]) -> Args:
    template = _template(data)
    if template is None:
        return {}
    unknown = [s.name for s in template.sections if s.name.casefold() not in _KNOWN_SECTIONS]
    if unknown:
        raise Unrestorable(
            f"its GptTmpl.inf held [{'], ['.join(unknown)}], which adsuite does not manage"
        )
    security: Args = {}
    for name, section in SECTIONS.items():
        found = template.section(section)
        if found is not None and found.lines:
            security[name] = {k: _value(name, v, names) for k, v in found.mapping().items()}
    found_services = _services(template)
    if found_services:
        security["services"] = {k: _service(v) for k, v in found_services.items()}
    out: Args = {"security": security} if security else {}
    groups = _groups(template, names)
    return out | ({"restricted_groups": groups} if groups else {})


def _services(template: GptTmpl | None) -> dict[str, ServiceSetting]:
    if template is None or template.section(SERVICE_GENERAL_SETTING) is None:
        return {}
    try:
        return template.services
    except InputError as error:
        raise Unrestorable(
            f"its [{SERVICE_GENERAL_SETTING}] was unreadable ({error.message})"
        ) from None


def _service(value: ServiceSetting | None) -> Any:
    return None if value is None else gpo_services.as_declared(value)


def _groups(template: GptTmpl | None, names: Mapping[str, str]) -> list[Args]:
    if template is None or template.section(GROUP_MEMBERSHIP) is None:
        return []
    try:
        groups = template.group_membership
    except InputError as error:
        raise Unrestorable(f"its [Group Membership] was unreadable ({error.message})") from None
    out = []
    for group, membership in groups.items():
        entry: Args = {"group": principal(group, names)}
        for half in ("members", "memberof"):
            listed = getattr(membership, half)
            if listed is not None:
                entry[half] = [principal(p, names) for p in listed]
        out.append(entry)
    return out


def audit_settings(data: bytes | None, *, options_allowed: bool) -> dict[str, str]:
    if data is None:
        return {}
    try:
        found = audit_csv.parse_audit_csv(data, source=io.AUDIT_CSV)
        settings, options = found.subcategory_settings(), found.options()
    except InputError as error:
        raise Unrestorable(f"its audit.csv was unreadable ({error.message})") from None
    if options and not options_allowed:
        raise Unrestorable(f"its audit.csv set audit options ({', '.join(options)})")
    by_guid = {sub.guid.lower(): short for short, sub in audit_csv.SUBCATEGORIES.items()}
    out = {}
    for guid, setting in settings.items():
        if guid not in by_guid or setting not in _AUDIT_NAMES:
            raise Unrestorable(f"its audit.csv set {guid} to {int(setting)}")
        out[by_guid[guid]] = _AUDIT_NAMES[setting]
    return out
