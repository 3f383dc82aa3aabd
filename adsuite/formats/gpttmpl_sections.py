"""Build the GptTmpl.inf sections the GPO engine manages, from plain Python values.

Each builder validates its input (a typo in a key would otherwise be silently ignored by
Windows) and returns an :class:`~adsuite.formats.gpttmpl_inf.InfSection` whose lines are
written the way Samba's writer writes them (``key = value``), so Samba reads them back
unchanged. :func:`build_gpttmpl` assembles a whole file.

Units follow MS-GPSB 2.2.1: password ages in days, ``ResetLockoutCount`` and
``LockoutDuration`` in minutes, ``-1`` for "never" where the spec allows it. The event
log sections (MS-GPSB 2.2.3) take ``MaximumLogSize`` in KB (64 to 4194240, the range
GPMC offers), ``AuditLogRetentionPeriod`` 0 (overwrite as needed), 1 (by days) or 2
(do not overwrite), ``RetentionDays`` 1 to 365 and ``RestrictGuestAccess`` 0 or 1.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping

from adsuite.errors import InputError
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
    GptTmpl,
    GroupMembership,
    InfSection,
    RegistryValue,
    ServiceSetting,
    assemble,
    registry_value_to_text,
    service_line,
)
from adsuite.formats.sid import normalize_sid

log = logging.getLogger(__name__)

SYSTEM_ACCESS_KEYS: tuple[str, ...] = (
    "MinimumPasswordAge",
    "MaximumPasswordAge",
    "MinimumPasswordLength",
    "PasswordComplexity",
    "PasswordHistorySize",
    "LockoutBadCount",
    "ResetLockoutCount",
    "LockoutDuration",
    "AllowAdministratorLockout",
    "RequireLogonToChangePassword",
    "ForceLogoffWhenHourExpire",
    "NewAdministratorName",
    "NewGuestName",
    "ClearTextPassword",
    "LSAAnonymousNameLookup",
    "EnableAdminAccount",
    "EnableGuestAccount",
)
"""[System Access] keys (MS-GPSB 2.2.1), in the order Windows writes them."""

SYSTEM_ACCESS_NAMES = frozenset({"NewAdministratorName", "NewGuestName"})
"""The [System Access] keys whose value is a quoted name rather than a number."""

EVENT_AUDIT_KEYS: tuple[str, ...] = (
    "AuditSystemEvents",
    "AuditLogonEvents",
    "AuditObjectAccess",
    "AuditPrivilegeUse",
    "AuditPolicyChange",
    "AuditAccountManage",
    "AuditProcessTracking",
    "AuditDSAccess",
    "AuditAccountLogon",
)
"""[Event Audit] keys (MS-GPSB 2.2.4), in the order Windows writes them."""

EVENT_LOG_SECTIONS: tuple[str, ...] = (SYSTEM_LOG, SECURITY_LOG, APPLICATION_LOG)
EVENT_LOG_KEYS: tuple[str, ...] = (
    "MaximumLogSize",
    "AuditLogRetentionPeriod",
    "RetentionDays",
    "RestrictGuestAccess",
)
"""Keys of [System Log], [Security Log] and [Application Log] (MS-GPSB 2.2.3)."""
_EVENT_LOG_RANGES = {
    "MaximumLogSize": range(64, 4194240 + 1),
    "AuditLogRetentionPeriod": range(0, 3),
    "RetentionDays": range(1, 366),
    "RestrictGuestAccess": range(0, 2),
}

_RIGHT = re.compile(r"Se[A-Za-z]+(Privilege|Right)\Z")
_SID_LIKE = re.compile(r"\*?S-1-", re.I)
_BAD_NAME_CHARS = set(',="\r\n')


def _canonical_key(key: str, known: tuple[str, ...], section: str) -> str:
    for name in known:
        if name.casefold() == key.casefold():
            return name
    raise InputError(f"unknown [{section}] key {key!r} (known: {', '.join(known)})")


def _canonical_mapping(
    settings: Mapping[str, object], known: tuple[str, ...], section: str
) -> dict[str, object]:
    given = {_canonical_key(k, known, section): v for k, v in settings.items()}
    if len(given) != len(settings):
        raise InputError(f"[{section}] names a key twice (keys are case-insensitive)")
    return given


def system_access_section(settings: Mapping[str, int | bool | str]) -> InfSection:
    """``[System Access]`` from ``{"MinimumPasswordLength": 12, ...}``.

    Booleans are written 1/0; ``NewAdministratorName`` / ``NewGuestName`` take a name.
    """
    given = _canonical_mapping(settings, SYSTEM_ACCESS_KEYS, SYSTEM_ACCESS)
    lines = []
    for key in (k for k in SYSTEM_ACCESS_KEYS if k in given):
        value = given[key]
        if key in SYSTEM_ACCESS_NAMES:
            if not isinstance(value, str) or not value or set(value) & _BAD_NAME_CHARS:
                raise InputError(f"[{SYSTEM_ACCESS}] {key} must be an account name, not {value!r}")
            lines.append(f'{key} = "{value}"')
        elif isinstance(value, bool | int) and -1 <= int(value) < 1 << 32:
            lines.append(f"{key} = {int(value)}")
        else:
            raise InputError(f"[{SYSTEM_ACCESS}] {key} must be a number, not {value!r}")
    return InfSection(SYSTEM_ACCESS, tuple(lines))


def event_audit_section(settings: Mapping[str, int]) -> InfSection:
    """``[Event Audit]`` from ``{"AuditLogonEvents": 3, ...}`` (0 none .. 3 both)."""
    given = _canonical_mapping(settings, EVENT_AUDIT_KEYS, EVENT_AUDIT)
    lines = []
    for key in (k for k in EVENT_AUDIT_KEYS if k in given):
        value = given[key]
        if isinstance(value, bool) or value not in (0, 1, 2, 3):
            raise InputError(f"[{EVENT_AUDIT}] {key} must be 0, 1, 2 or 3, not {value!r}")
        lines.append(f"{key} = {value}")
    return InfSection(EVENT_AUDIT, tuple(lines))


def event_log_section(section: str, settings: Mapping[str, int]) -> InfSection:
    """``[Security Log]`` (or System / Application) from ``{"MaximumLogSize": 4194240}``."""
    if section not in EVENT_LOG_SECTIONS:
        raise InputError(f"[{section}] is not an event log section")
    given = _canonical_mapping(settings, EVENT_LOG_KEYS, section)
    lines = []
    for key in (k for k in EVENT_LOG_KEYS if k in given):
        value, allowed = given[key], _EVENT_LOG_RANGES[key]
        if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
            raise InputError(
                f"[{section}] {key} must be a number from {allowed.start} to "
                f"{allowed.stop - 1}, not {value!r}"
            )
        lines.append(f"{key} = {value}")
    return InfSection(section, tuple(lines))


def principal(text: str) -> str:
    """``S-1-5-32-544`` or ``*S-1-5-32-544`` -> ``*S-1-5-32-544``; a name stays a name."""
    text = text.strip()
    if _SID_LIKE.match(text):
        return "*" + normalize_sid(text.lstrip("*"))
    if not text or set(text) & _BAD_NAME_CHARS or text.startswith("*"):
        raise InputError(f"{text!r} is neither a SID nor an account name")
    return text


def _principals(values: Iterable[str]) -> tuple[str, ...]:
    listed = tuple(principal(v) for v in values)
    if len({p.casefold() for p in listed}) != len(listed):
        raise InputError(f"principals {list(listed)} name someone twice")
    return listed


def privilege_rights_section(rights: Mapping[str, Iterable[str]]) -> InfSection:
    """``[Privilege Rights]`` from ``{"SeRemoteInteractiveLogonRight": ["S-1-5-32-544"]}``.

    An empty list is written too: it takes the right away from everyone.
    """
    lines = []
    for right, holders in rights.items():
        if not _RIGHT.match(right):
            raise InputError(
                f"{right!r} is not a privilege or logon right name (Se...Privilege/Right)"
            )
        lines.append(f"{right} = {','.join(_principals(holders))}")
    return InfSection(PRIVILEGE_RIGHTS, tuple(lines))


def group_membership_section(groups: Mapping[str, GroupMembership]) -> InfSection:
    """``[Group Membership]`` (Restricted Groups): Memberof line, then Members, per group."""
    lines = []
    for group, membership in groups.items():
        key = principal(group)
        if membership.memberof is not None:
            lines.append(f"{key}__Memberof = {','.join(_principals(membership.memberof))}")
        if membership.members is not None:
            lines.append(f"{key}__Members = {','.join(_principals(membership.members))}")
    return InfSection(GROUP_MEMBERSHIP, tuple(lines))


def registry_values_section(values: Mapping[str, RegistryValue]) -> InfSection:
    """``[Registry Values]`` from ``{"MACHINE\\System\\...\\NoLMHash": RegistryValue(4, 1)}``."""
    lines = []
    for path, value in values.items():
        if not path.upper().startswith("MACHINE\\") or "=" in path or set(path) & {"\r", "\n"}:
            raise InputError(
                f"registry value path {path!r} must start with MACHINE\\ and hold no '='"
            )
        lines.append(f"{path}={registry_value_to_text(value)}")
    return InfSection(REGISTRY_VALUES, tuple(lines))


def service_general_section(services: Mapping[str, ServiceSetting]) -> InfSection:
    """``[Service General Setting]`` from ``{"AppIDSvc": ServiceSetting(2)}``, one line each."""
    if len({name.casefold() for name in services}) != len(services):
        raise InputError(f"[{SERVICE_GENERAL_SETTING}] names a service twice")
    lines = tuple(service_line(name, setting) for name, setting in services.items())
    return InfSection(SERVICE_GENERAL_SETTING, lines)


def build_gpttmpl(
    *,
    system_access: Mapping[str, int | bool | str] | None = None,
    event_audit: Mapping[str, int] | None = None,
    privilege_rights: Mapping[str, Iterable[str]] | None = None,
    group_membership: Mapping[str, GroupMembership] | None = None,
    registry_values: Mapping[str, RegistryValue] | None = None,
    services: Mapping[str, ServiceSetting] | None = None,
    other_sections: Iterable[InfSection] = (),
) -> GptTmpl:
    """A complete template: preamble plus every non-empty section given."""
    sections = []
    if system_access:
        sections.append(system_access_section(system_access))
    if event_audit:
        sections.append(event_audit_section(event_audit))
    if registry_values:
        sections.append(registry_values_section(registry_values))
    if privilege_rights:
        sections.append(privilege_rights_section(privilege_rights))
    if services:
        sections.append(service_general_section(services))
    if group_membership:
        sections.append(group_membership_section(group_membership))
    return assemble([*sections, *other_sections])
