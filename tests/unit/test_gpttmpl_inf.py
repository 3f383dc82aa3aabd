"""GptTmpl.inf codec and section builders, cross-checked against Samba's GptTmplInfParser.

Findings pinned here: Samba's parser (``samba-tool gpo backup``) crashes on blank lines,
on a value containing ``=`` and on a section it does not know, or files the unknown
section's lines under the section before it. Our writer writes none of these: no blank
lines, builders refuse ``=`` in values, and only parsed files carry unknown sections.
Samba re-writes a file our builders made byte for byte.
"""

from __future__ import annotations

import codecs
import configparser
import io
import random

import pytest
from samba_gp_oracle import ask_samba_gp, samba_read, samba_read_many, samba_write

from adsuite.errors import InputError
from adsuite.formats.gpttmpl_inf import (
    GptTmpl,
    GroupMembership,
    InfSection,
    RegistryValue,
    parse_gpttmpl,
    serialize_gpttmpl,
)
from adsuite.formats.gpttmpl_sections import (
    EVENT_AUDIT_KEYS,
    build_gpttmpl,
    event_audit_section,
    event_log_section,
    group_membership_section,
    principal,
    privilege_rights_section,
    registry_values_section,
    system_access_section,
)

DOMAIN = "S-1-5-21-3998610691-602631117-2390062241"


def utf16(text: str) -> bytes:
    """A file as Windows stores it: BOM, UTF-16LE, CRLF."""
    return codecs.BOM_UTF16_LE + text.replace("\n", "\r\n").encode("utf-16-le")


# Laid out the way Windows' security editor writes a GPO template: [Version] after
# [System Access], "Key = value", empty rights as "Right=", unknown sections kept.
WINDOWS_LAYOUT = utf16(
    "[Unicode]\n"
    "Unicode=yes\n"
    "[System Access]\n"
    "MinimumPasswordAge = 1\n"
    "MaximumPasswordAge = 42\n"
    "MinimumPasswordLength = 7\n"
    "PasswordComplexity = 1\n"
    "PasswordHistorySize = 24\n"
    "LockoutBadCount = 0\n"
    'NewGuestName = "Visitor"\n'
    "ClearTextPassword = 0\n"
    "[Kerberos Policy]\n"
    "MaxTicketAge = 10\n"
    "[Event Audit]\n"
    "AuditLogonEvents = 3\n"
    "AuditDSAccess = 2\n"
    "[Version]\n"
    'signature="$CHICAGO$"\n'
    "Revision=1\n"
    "[Registry Values]\n"
    "MACHINE\\System\\CurrentControlSet\\Control\\Lsa\\NoLMHash=4,1\n"
    'MACHINE\\Software\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\CachedLogonsCount=1,"10"\n'
    "MACHINE\\System\\CurrentControlSet\\Control\\Session Manager\\SubSystems\\optional=7,\n"
    "MACHINE\\System\\CurrentControlSet\\Control\\SecurePipeServers\\Winreg\\AllowedExactPaths\\Machine=7,System\\A,Software\\B\n"
    "MACHINE\\System\\CurrentControlSet\\Control\\Lsa\\FullPrivilegeAuditing=3,0\n"
    "[Privilege Rights]\n"
    "SeNetworkLogonRight = *S-1-1-0,*S-1-5-32-544\n"
    "SeInteractiveLogonRight = Guest,*S-1-5-32-544\n"
    "SeTcbPrivilege=\n"
    "[File Security]\n"
    '"%SystemRoot%\\System32\\config",2,"D:PAR(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)"\n'
    "[Group Membership]\n"
    f"*{DOMAIN}-1105__Memberof = *S-1-5-32-544\n"
    f"*{DOMAIN}-1105__Members =\n"
)


def test_a_windows_layout_file_round_trips_byte_for_byte() -> None:
    template = parse_gpttmpl(WINDOWS_LAYOUT)
    assert serialize_gpttmpl(template) == WINDOWS_LAYOUT
    assert [s.name for s in template.sections][:5] == [
        "Unicode",
        "System Access",
        "Kerberos Policy",
        "Event Audit",
        "Version",
    ]
    file_security = template.section("file security")
    assert file_security is not None
    assert file_security.lines == (
        '"%SystemRoot%\\System32\\config",2,"D:PAR(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)"',
    )


def test_typed_views_of_a_windows_layout_file() -> None:
    template = parse_gpttmpl(WINDOWS_LAYOUT)
    assert template.system_access == {
        "MinimumPasswordAge": 1,
        "MaximumPasswordAge": 42,
        "MinimumPasswordLength": 7,
        "PasswordComplexity": 1,
        "PasswordHistorySize": 24,
        "LockoutBadCount": 0,
        "NewGuestName": '"Visitor"',
        "ClearTextPassword": 0,
    }
    assert template.event_audit == {"AuditLogonEvents": 3, "AuditDSAccess": 2}
    assert template.privilege_rights == {
        "SeNetworkLogonRight": ("*S-1-1-0", "*S-1-5-32-544"),
        "SeInteractiveLogonRight": ("Guest", "*S-1-5-32-544"),
        "SeTcbPrivilege": (),
    }
    assert template.group_membership == {f"*{DOMAIN}-1105": GroupMembership((), ("*S-1-5-32-544",))}
    values = template.registry_values
    assert values["MACHINE\\System\\CurrentControlSet\\Control\\Lsa\\NoLMHash"] == RegistryValue(
        4, 1
    )
    assert values[
        "MACHINE\\Software\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\CachedLogonsCount"
    ] == RegistryValue(1, "10")
    assert values[
        "MACHINE\\System\\CurrentControlSet\\Control\\Session Manager\\SubSystems\\optional"
    ] == RegistryValue(7, ())
    assert values[
        "MACHINE\\System\\CurrentControlSet\\Control\\SecurePipeServers\\Winreg\\AllowedExactPaths\\Machine"
    ] == RegistryValue(7, ("System\\A", "Software\\B"))
    assert values[
        "MACHINE\\System\\CurrentControlSet\\Control\\Lsa\\FullPrivilegeAuditing"
    ] == RegistryValue(3, "0")


RESTRICTED = build_gpttmpl(
    system_access={
        "MinimumPasswordLength": 12,
        "maximumpasswordage": 90,
        "MinimumPasswordAge": 1,
        "PasswordHistorySize": 24,
        "PasswordComplexity": True,
        "ClearTextPassword": False,
        "LockoutBadCount": 5,
        "ResetLockoutCount": 30,
        "LockoutDuration": -1,
    },
    event_audit={"AuditLogonEvents": 3, "AuditAccountManage": 1},
    privilege_rights={
        "SeRemoteInteractiveLogonRight": ["S-1-5-32-544", f"*{DOMAIN}-1105"],
        "SeDenyNetworkLogonRight": [],
    },
    group_membership={
        f"{DOMAIN}-1106": GroupMembership(memberof=("S-1-5-32-544",)),
        "S-1-5-32-544": GroupMembership(members=(f"{DOMAIN}-500", f"{DOMAIN}-512")),
    },
    registry_values={
        "MACHINE\\System\\CurrentControlSet\\Control\\Lsa\\SCENoApplyLegacyAuditPolicy": RegistryValue(
            4, 1
        ),
        "MACHINE\\Software\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\LegalNoticeText": RegistryValue(
            1, "集团 = group"
        ),
        "MACHINE\\System\\CurrentControlSet\\Services\\LanManServer\\Parameters\\NullSessionPipes": RegistryValue(
            7, ("a", "b")
        ),
    },
)


def test_builders_write_samba_style_lines_in_samba_order() -> None:
    text = serialize_gpttmpl(RESTRICTED).decode("utf-16")
    assert text.startswith(
        '[Unicode]\r\nUnicode=yes\r\n[Version]\r\nsignature="$CHICAGO$"\r\nRevision=1\r\n[System Access]\r\nMinimumPasswordAge = 1\r\n'
    )
    assert "\r\n\r\n" not in text
    assert "MaximumPasswordAge = 90\r\n" in text and "LockoutDuration = -1\r\n" in text
    assert "PasswordComplexity = 1\r\nPasswordHistorySize = 24\r\n" in text
    assert (
        f"SeRemoteInteractiveLogonRight = *S-1-5-32-544,*{DOMAIN}-1105\r\nSeDenyNetworkLogonRight = \r\n"
        in text
    )
    assert f"*{DOMAIN}-1106__Memberof = *S-1-5-32-544\r\n" in text
    assert (
        text.index("[Event Audit]")
        < text.index("[Registry Values]")
        < text.index("[Privilege Rights]")
        < text.index("[Group Membership]")
    )


def test_samba_reads_our_template_with_the_same_values_and_rewrites_it_identically() -> None:
    ours = serialize_gpttmpl(RESTRICTED)
    seen = samba_read("inf", ours)
    assert bytes.fromhex(seen["rewritten"]) == ours
    sections = seen["sections"]
    assert {k: int(v) for k, v in sections["System Access"]} == RESTRICTED.system_access
    assert {k: int(v) for k, v in sections["Event Audit"]} == RESTRICTED.event_audit
    assert {
        k: tuple(s for s in v if s) for k, v in sections["Privilege Rights"]
    } == RESTRICTED.privilege_rights
    members = {(g, half): tuple(sids) for (g, half), sids in sections["Group Membership"]}
    assert members == {
        (f"*{DOMAIN}-1106", "Memberof"): ("*S-1-5-32-544",),
        ("*S-1-5-32-544", "Members"): (f"*{DOMAIN}-500", f"*{DOMAIN}-512"),
    }
    registry = RESTRICTED.section("Registry Values")
    assert registry is not None and sections["Registry Values"] == list(registry.lines)


def test_samba_reads_the_event_log_sections_we_write_in_their_place() -> None:
    log = event_log_section(
        "Security Log",
        {"auditlogretentionperiod": 2, "MaximumLogSize": 4194240, "RestrictGuestAccess": 1},
    )
    system = event_log_section("System Log", {"RetentionDays": 7})
    template = build_gpttmpl(event_audit={"AuditLogonEvents": 3}, other_sections=[system, log])
    ours = serialize_gpttmpl(template)
    text = ours.decode("utf-16")
    assert text.index("[System Log]") < text.index("[Security Log]") < text.index("[Event Audit]")
    seen = samba_read("inf", ours)
    assert bytes.fromhex(seen["rewritten"]) == ours
    assert seen["sections"]["Security Log"] == [
        ["MaximumLogSize", "4194240"],
        ["AuditLogRetentionPeriod", "2"],
        ["RestrictGuestAccess", "1"],
    ]
    assert seen["sections"]["System Log"] == [["RetentionDays", "7"]]


def test_samba_reads_a_windows_layout_file_like_we_do() -> None:
    sections = samba_read("inf", WINDOWS_LAYOUT)["sections"]
    ours = parse_gpttmpl(WINDOWS_LAYOUT)
    assert dict(sections["System Access"]) == {k: str(v) for k, v in ours.system_access.items()}
    assert {
        k: tuple(s for s in v if s) for k, v in sections["Privilege Rights"]
    } == ours.privilege_rights
    assert sections["File Security"] == [
        ["%SystemRoot%\\System32\\config", "2", "D:PAR(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)"]
    ]


def _xml_form(template: GptTmpl) -> dict[str, list[dict[str, object]]]:
    """Our typed sections in the XML form samba-tool gpo restore feeds to Samba."""
    registry = template.section("Registry Values")
    assert registry is not None
    form: dict[str, list[dict[str, object]]] = {
        "System Access": [
            {"key": k, "values": [str(v)]} for k, v in template.system_access.items()
        ],
        "Event Audit": [{"key": k, "values": [str(v)]} for k, v in template.event_audit.items()],
        "Privilege Rights": [
            {"key": k, "values": list(v)} for k, v in template.privilege_rights.items()
        ],
        "Registry Values": [{"values": [line]} for line in registry.lines],
        "Group Membership": [],
    }
    for group, halves in template.group_membership.items():
        for half, sids in (("Memberof", halves.memberof), ("Members", halves.members)):
            if sids is not None:
                form["Group Membership"].append(
                    {"key": group, "member_type": half, "values": list(sids)}
                )
    return form


def test_we_read_what_samba_writes_byte_for_byte() -> None:
    samba_bytes = samba_write("inf", sections=_xml_form(RESTRICTED))
    template = parse_gpttmpl(samba_bytes)
    assert serialize_gpttmpl(template) == samba_bytes
    for view in (
        "system_access",
        "event_audit",
        "privilege_rights",
        "group_membership",
        "registry_values",
    ):
        assert getattr(template, view) == getattr(RESTRICTED, view), view


def test_generated_templates_round_trip_through_us_and_samba() -> None:
    rng = random.Random(11)
    templates = []
    for _ in range(40):
        sids = [f"{DOMAIN}-{rng.randint(500, 5000)}" for _ in range(rng.randint(0, 4))]
        template = build_gpttmpl(
            system_access={
                "MinimumPasswordLength": rng.randint(0, 128),
                "LockoutBadCount": rng.randint(0, 999),
            },
            event_audit={rng.choice(EVENT_AUDIT_KEYS): rng.randint(0, 3)},
            privilege_rights={"SeBackupPrivilege": list(dict.fromkeys(sids))},
            group_membership={"S-1-5-32-555": GroupMembership(members=tuple(dict.fromkeys(sids)))},
            registry_values={"MACHINE\\Software\\X\\V": RegistryValue(4, rng.getrandbits(32))},
        )
        data = serialize_gpttmpl(template)
        assert parse_gpttmpl(data) == template
        templates.append(data)
    for data, seen in zip(templates, samba_read_many("inf", templates), strict=True):
        assert bytes.fromhex(seen["rewritten"]) == data


def test_blank_lines_are_dropped_because_samba_cannot_read_them() -> None:
    config = configparser.ConfigParser(interpolation=None)
    config.optionxform = str  # type: ignore[assignment,method-assign]
    config["Unicode"] = {"Unicode": "yes"}
    config["System Access"] = {"MinimumPasswordLength": "12"}
    buffer = io.StringIO()
    config.write(buffer)
    configparser_file = utf16(buffer.getvalue())
    (crash,) = ask_samba_gp([{"op": "read", "kind": "inf", "hex": configparser_file.hex()}])
    assert "error" in crash
    template = parse_gpttmpl(configparser_file)
    assert template.system_access == {"MinimumPasswordLength": 12}
    assert samba_read("inf", serialize_gpttmpl(template))["sections"]["System Access"] == [
        ["MinimumPasswordLength", "12"]
    ]


def test_unknown_sections_are_kept_verbatim_though_samba_misreads_them() -> None:
    data = utf16(
        '[Unicode]\nUnicode=yes\n[Registry Values]\nMACHINE\\X=4,1\n[Custom Vendor]\nSome Key=%SystemRoot%,"x"\n'
    )
    template = parse_gpttmpl(data)
    assert template.section("Custom Vendor") == InfSection(
        "Custom Vendor", ('Some Key=%SystemRoot%,"x"',)
    )
    assert serialize_gpttmpl(template) == data
    seen = samba_read("inf", data)
    assert seen["sections"]["Registry Values"] == [
        "MACHINE\\X=4,1",
        "[Custom Vendor]",
        'Some Key=%SystemRoot%,"x"',
    ]


def test_sections_are_replaced_in_place_or_inserted_where_they_belong() -> None:
    template = parse_gpttmpl(WINDOWS_LAYOUT)
    replaced = template.with_section(system_access_section({"MinimumPasswordLength": 14}))
    assert [s.name for s in replaced.sections] == [s.name for s in template.sections]
    assert replaced.system_access == {"MinimumPasswordLength": 14}
    base = build_gpttmpl(group_membership={"S-1-5-32-544": GroupMembership(members=())})
    added = base.with_section(event_audit_section({"AuditLogonEvents": 1}))
    assert [s.name for s in added.sections] == [
        "Unicode",
        "Version",
        "Event Audit",
        "Group Membership",
    ]
    assert added.without_section("event audit") == base


def test_principals_are_written_as_starred_canonical_sids_or_names() -> None:
    assert principal("s-1-5-32-544") == "*S-1-5-32-544"
    assert principal("*S-1-5-21-1-2-3-1104") == "*S-1-5-21-1-2-3-1104"
    assert principal("Guest") == "Guest"
    for bad in ("S-1-5-x", "*Guest", "a,b", "a=b", ""):
        with pytest.raises(InputError):
            principal(bad)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: system_access_section({"MinPasswordLength": 8}),
            "unknown \\[System Access\\] key 'MinPasswordLength'",
        ),
        (
            lambda: system_access_section({"LockoutBadCount": "5"}),
            "LockoutBadCount must be a number",
        ),
        (
            lambda: system_access_section({"NewGuestName": "a=b"}),
            "NewGuestName must be an account name",
        ),
        (
            lambda: system_access_section({"lockoutbadcount": 1, "LockoutBadCount": 2}),
            "names a key twice",
        ),
        (lambda: event_audit_section({"AuditLogonEvents": 4}), "must be 0, 1, 2 or 3"),
        (
            lambda: privilege_rights_section({"RemoteLogon": []}),
            "not a privilege or logon right name",
        ),
        (
            lambda: privilege_rights_section(
                {"SeBackupPrivilege": ["S-1-5-32-544", "s-1-5-32-544"]}
            ),
            "name someone twice",
        ),
        (
            lambda: group_membership_section(
                {"S-1-5-32-544": GroupMembership(members=("not,ok",))}
            ),
            "neither a SID nor",
        ),
        (
            lambda: event_log_section("Security Log", {"MaximumLogSize": 4194241}),
            "MaximumLogSize must be a number from 64 to 4194240",
        ),
        (
            lambda: event_log_section("Security Log", {"AuditLogRetentionPeriod": 3}),
            "from 0 to 2",
        ),
        (lambda: event_log_section("Security Log", {"MaxLogSize": 64}), "unknown"),
        (lambda: event_log_section("Audit Log", {"MaximumLogSize": 64}), "not an event log"),
        (
            lambda: registry_values_section({"HKLM\\X": RegistryValue(4, 1)}),
            "must start with MACHINE",
        ),
        (
            lambda: registry_values_section({"MACHINE\\X": RegistryValue(4, "1")}),
            "cannot be written as type 4",
        ),
        (
            lambda: registry_values_section({"MACHINE\\X": RegistryValue(7, ("a,b",))}),
            "cannot be written as type 7",
        ),
        (
            lambda: registry_values_section({"MACHINE\\X": RegistryValue(7, ("",))}),
            "cannot be written as type 7",
        ),
        (
            lambda: registry_values_section({"MACHINE\\X": RegistryValue(4, -1)}),
            "cannot be written as type 4",
        ),
    ],
)
def test_builders_refuse_what_windows_would_silently_ignore(build: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        build()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            "[Unicode]\nUnicode=yes\n".encode("utf-16-le"),
            "^x.inf: GptTmpl.inf is not UTF-16LE with a byte-order mark",
        ),
        (
            utf16("Unicode=yes\n[Unicode]\n"),
            "^x.inf:1: 'Unicode=yes' comes before the first \\[section\\]",
        ),
        (
            utf16("[Unicode]\nUnicode=yes\n[unicode]\n"),
            "^x.inf:3: section header '\\[unicode\\]' is empty or repeated",
        ),
        (codecs.BOM_UTF16_LE + b"\x00\xd8", "^x.inf: GptTmpl.inf byte 2 is not valid UTF-16LE"),
    ],
)
def test_malformed_files_are_one_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_gpttmpl(data, source="x.inf")


@pytest.mark.parametrize(
    ("text", "view", "message"),
    [
        (
            "[Event Audit]\nAuditLogonEvents = 7\n",
            "event_audit",
            "AuditLogonEvents = '7' is not 0, 1, 2 or 3",
        ),
        (
            "[Group Membership]\n*S-1-5-32-544__Owners = x\n",
            "group_membership",
            "ends in neither __Members nor __Memberof",
        ),
        ("[Registry Values]\nMACHINE\\X\n", "registry_values", "is not 'path=type,data'"),
        ("[Registry Values]\nMACHINE\\X=4,one\n", "registry_values", "REG_DWORD data 'one'"),
        (
            "[System Access]\nLockoutBadCount = 1\nlockoutbadcount = 2\n",
            "system_access",
            "sets 'lockoutbadcount' twice",
        ),
        ("[Privilege Rights]\nSeBackupPrivilege\n", "privilege_rights", "is not 'key = value'"),
    ],
)
def test_typed_views_refuse_values_they_cannot_mean(text: str, view: str, message: str) -> None:
    template = parse_gpttmpl(utf16(text))
    with pytest.raises(InputError, match=message):
        getattr(template, view)
