"""audit.csv codec, the subcategory GUID table, and Samba's GPAuditCsvParser as oracle.

GPMC writes audit.csv as UTF-8 without a byte-order mark, CRLF, an empty machine name,
"Audit <name>" and lower-case GUIDs; we write the same. Samba's parser keeps a BOM as
part of the first column name ("\\ufeffMachine Name"), one more reason to write none.
"""

from __future__ import annotations

import codecs
import random
import re
from dataclasses import astuple

import pytest
from samba_gp_oracle import ask_samba_gp, samba_read, samba_read_many, samba_write

from adsuite.errors import InputError
from adsuite.formats.audit_csv import (
    HEADER,
    SUBCATEGORIES,
    AuditCsv,
    AuditRow,
    AuditSetting,
    build_audit_csv,
    parse_audit_csv,
    serialize_audit_csv,
    subcategory,
)

HEADER_LINE = "Machine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion Setting,Exclusion Setting,Setting Value\r\n"

# MS-GPAC 2.2.1.2, the subcategories the audit GPOs of issue 4 set. A wrong GUID makes
# Windows silently ignore the row, so each is pinned to the spec's table here.
MS_GPAC_GUIDS = {
    "logon": "{0CCE9215-69AE-11D9-BED3-505054503030}",
    "special_logon": "{0CCE921B-69AE-11D9-BED3-505054503030}",
    "credential_validation": "{0CCE923F-69AE-11D9-BED3-505054503030}",
    "user_account_management": "{0CCE9235-69AE-11D9-BED3-505054503030}",
    "security_group_management": "{0CCE9237-69AE-11D9-BED3-505054503030}",
    "directory_service_changes": "{0CCE923C-69AE-11D9-BED3-505054503030}",
    "audit_policy_change": "{0CCE922F-69AE-11D9-BED3-505054503030}",
    "file_system": "{0CCE921D-69AE-11D9-BED3-505054503030}",
    "detailed_file_share": "{0CCE9244-69AE-11D9-BED3-505054503030}",
    "handle_manipulation": "{0CCE9223-69AE-11D9-BED3-505054503030}",
}

GPMC_LAYOUT = (
    HEADER_LINE
    + ",System,Audit Credential Validation,{0cce923f-69ae-11d9-bed3-505054503030},Success and Failure,,3\r\n"
    + ",System,Audit Security Group Management,{0cce9237-69ae-11d9-bed3-505054503030},Success,,1\r\n"
    + ",System,Audit Logon,{0cce9215-69ae-11d9-bed3-505054503030},Failure,,2\r\n"
    + ",System,Audit IPsec Driver,{0cce9213-69ae-11d9-bed3-505054503030},No Auditing,,0\r\n"
).encode()

AUDITPOL_LAYOUT = (
    codecs.BOM_UTF8
    + (
        HEADER_LINE
        + "DC1,System,Logon,{0CCE9215-69AE-11D9-BED3-505054503030},Success and Failure,,3\r\n"
        + "DC1,,Option:CrashOnAuditFail,,Disabled,,0\r\n"
        + "DC1,,Option:AuditBaseObjects,,Enabled,,1\r\n"
        + "DC1,,FileGlobalSacl,,,,S:(AU;SA;FA;;;WD)\r\n"
        + 'DC1,,"Quoted, name",,,,\r\n'
    ).encode()
)


def test_the_subcategories_the_issue_needs_carry_the_ms_gpac_guids() -> None:
    for name, guid in MS_GPAC_GUIDS.items():
        assert SUBCATEGORIES[name].guid == guid.lower(), name
    guids = [s.guid for s in SUBCATEGORIES.values()]
    assert len(set(guids)) == len(guids) == 59  # MS-GPAC's 58 and Token Right Adjusted Events
    assert all(re.fullmatch(r"\{0cce92[0-9a-f]{2}-69ae-11d9-bed3-505054503030\}", g) for g in guids)
    assert all(s.name.startswith("Audit ") for s in SUBCATEGORIES.values())


def test_subcategories_are_found_by_short_name_gpmc_name_or_guid() -> None:
    logon = SUBCATEGORIES["logon"]
    for key in (
        "logon",
        "Audit Logon",
        "LOGON",
        "{0CCE9215-69AE-11D9-BED3-505054503030}",
        "0cce9215-69ae-11d9-bed3-505054503030",
    ):
        assert subcategory(key) == logon
    assert subcategory("Detailed File Share") == SUBCATEGORIES["detailed_file_share"]
    with pytest.raises(InputError, match="unknown audit subcategory 'Audit Logons'"):
        subcategory("Audit Logons")


def test_gpmc_and_auditpol_layouts_round_trip_byte_for_byte() -> None:
    gpmc = parse_audit_csv(GPMC_LAYOUT)
    assert serialize_audit_csv(gpmc) == GPMC_LAYOUT
    assert gpmc.bom is False
    assert gpmc.subcategory_settings() == {
        "{0cce923f-69ae-11d9-bed3-505054503030}": AuditSetting.SUCCESS_AND_FAILURE,
        "{0cce9237-69ae-11d9-bed3-505054503030}": AuditSetting.SUCCESS,
        "{0cce9215-69ae-11d9-bed3-505054503030}": AuditSetting.FAILURE,
        "{0cce9213-69ae-11d9-bed3-505054503030}": AuditSetting.NO_AUDITING,
    }
    auditpol = parse_audit_csv(AUDITPOL_LAYOUT)
    assert serialize_audit_csv(auditpol) == AUDITPOL_LAYOUT
    assert auditpol.bom is True
    assert auditpol.options() == {"CrashOnAuditFail": False, "AuditBaseObjects": True}
    assert auditpol.rows[-1] == AuditRow("DC1", "", "Quoted, name", "", "", "", "")


def test_a_localized_ansi_auditpol_backup_is_read_and_rewritten_unchanged() -> None:
    data = (
        "Nombre de equipo, destino de directiva, subcategoría, GUID de subcategoría, "
        "configuración de inclusión, configuración de exclusión, valor de configuración\r\n"
        "PC,Sistema,Inicio de sesión,{0CCE9215-69AE-11D9-BED3-505054503030},Aciertos,,1\r\n"
    ).encode("cp1252")
    audit = parse_audit_csv(data)
    assert audit.encoding == "cp1252"
    assert audit.rows[0].subcategory == "Inicio de sesión"
    assert serialize_audit_csv(audit) == data


def test_a_declared_policy_is_written_as_gpmc_writes_it() -> None:
    audit = build_audit_csv(
        {
            "logon": AuditSetting.SUCCESS_AND_FAILURE,
            "Audit Special Logon": 1,
            "{0cce923f-69ae-11d9-bed3-505054503030}": AuditSetting.FAILURE,
        },
        options={"CrashOnAuditFail": False},
    )
    assert serialize_audit_csv(audit).decode() == (
        HEADER_LINE
        + ",System,Audit Logon,{0cce9215-69ae-11d9-bed3-505054503030},Success and Failure,,3\r\n"
        + ",System,Audit Special Logon,{0cce921b-69ae-11d9-bed3-505054503030},Success,,1\r\n"
        + ",System,Audit Credential Validation,{0cce923f-69ae-11d9-bed3-505054503030},Failure,,2\r\n"
        + ",,Option:CrashOnAuditFail,,Disabled,,0\r\n"
    )


def test_generated_policies_round_trip() -> None:
    rng = random.Random(3)
    names = list(SUBCATEGORIES)
    for _ in range(200):
        chosen = rng.sample(names, rng.randint(0, 12))
        settings = {name: AuditSetting(rng.randint(0, 4)) for name in chosen}
        audit = build_audit_csv(settings, machine_name=rng.choice(["", "DC1"]))
        data = serialize_audit_csv(audit)
        assert parse_audit_csv(data) == audit
        assert parse_audit_csv(data).subcategory_settings() == {
            SUBCATEGORIES[n].guid: s for n, s in settings.items()
        }


def test_samba_reads_what_we_write_and_writes_it_back_identically() -> None:
    ours = [
        serialize_audit_csv(
            build_audit_csv({name: AuditSetting.SUCCESS_AND_FAILURE for name in MS_GPAC_GUIDS})
        ),
        GPMC_LAYOUT,
    ]
    for data, seen in zip(ours, samba_read_many("csv", ours), strict=True):
        assert bytes.fromhex(seen["rewritten"]) == data
        parsed = parse_audit_csv(data)
        assert seen["rows"] == [list(HEADER), *(list(astuple(row)) for row in parsed.rows)]


def test_we_read_what_samba_writes_byte_for_byte() -> None:
    audit = build_audit_csv({"file_system": 3, "detailed_file_share": 2, "handle_manipulation": 1})
    rows = [list(HEADER), *(list(astuple(row)) for row in audit.rows)]
    samba_bytes = samba_write("csv", rows=rows)
    assert parse_audit_csv(samba_bytes) == audit
    assert serialize_audit_csv(parse_audit_csv(samba_bytes)) == samba_bytes


def test_samba_keeps_a_bom_inside_the_first_column_name() -> None:
    (seen,) = ask_samba_gp([{"op": "read", "kind": "csv", "hex": AUDITPOL_LAYOUT.hex()}])
    assert seen["rows"][0][0] == "\ufeffMachine Name"
    assert parse_audit_csv(AUDITPOL_LAYOUT).header[0] == "Machine Name"
    assert samba_read("csv", GPMC_LAYOUT)["rows"][0][0] == "Machine Name"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"Machine Name,Policy Target\r\n",
            "^a.csv:1: audit.csv does not start with a 7-column header",
        ),
        (
            HEADER_LINE.encode() + b",System,Audit Logon,{x},Success\r\n",
            "^a.csv:2: audit.csv row has 5 columns",
        ),
        (b"\x81\x8d\x8f", "^a.csv: audit.csv is neither UTF-8 nor Windows-1252"),
    ],
)
def test_malformed_files_are_one_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_audit_csv(data, source="a.csv")


def test_typed_reading_refuses_malformed_guids_and_values() -> None:
    bad_guid = AuditCsv((AuditRow("", "System", "Audit Logon", "{0cce9215}", "Success", "", "1"),))
    with pytest.raises(InputError, match="GUID '\\{0cce9215\\}' is malformed"):
        bad_guid.subcategory_settings()
    bad_value = AuditCsv(
        (AuditRow("", "System", "Audit Logon", SUBCATEGORIES["logon"].guid, "?", "", "9"),)
    )
    with pytest.raises(InputError, match="setting '9' for Audit Logon is not 0-4"):
        bad_value.subcategory_settings()


@pytest.mark.parametrize(
    ("settings", "options", "message"),
    [
        ({"logon": 5}, None, "audit setting 5 for Audit Logon is not 0-4"),
        ({"logon": 1, "Audit Logon": 2}, None, "'Audit Logon' is given twice"),
        ({"logons": 1}, None, "unknown audit subcategory 'logons'"),
        ({}, {"CrashOnAudit": True}, "unknown audit option 'CrashOnAudit'"),
    ],
)
def test_declarations_windows_would_ignore_are_refused(
    settings: dict[str, int], options: dict[str, bool] | None, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        build_audit_csv(settings, options=options)
