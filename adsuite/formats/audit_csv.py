"""audit.csv (MS-GPAC 2.2): a GPO's advanced audit policy, read and written as data.

The file lives at ``Machine\\Microsoft\\Windows NT\\Audit\\audit.csv``. It is UTF-8 with CRLF
line ends: a fixed header line, then one row per subcategory (``,System,Audit Logon,
{0cce9215-...},Success and Failure,,3``), audit options (``,,Option:CrashOnAuditFail,,
Enabled,,1``) and global SACLs. GPMC writes no byte-order mark and an empty machine name;
``auditpol /backup`` writes the machine name. Both are read, a BOM is remembered, and
every row is kept verbatim, so a file re-serializes byte for byte.

Only the GUID and the setting value matter to the client; names and inclusion texts are
for people (MS-GPAC 2.2.1.2, 2.2.1.3.1). :data:`SUBCATEGORIES` holds every subcategory GUID
of MS-GPAC 2.2.1.2 with the name GPMC writes, keyed by a short snake_case name.

Setting values: 1 success, 2 failure, 3 both, 0 "No Auditing" as GPMC and auditpol write
it (MS-GPAC calls 0 "unchanged"), 4 none (MS-GPAC; GPMC does not write it).
"""

from __future__ import annotations

import codecs
import csv
import enum
import io
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import astuple, dataclass
from types import MappingProxyType

from adsuite.errors import InputError

log = logging.getLogger(__name__)

HEADER: tuple[str, ...] = (
    "Machine Name",
    "Policy Target",
    "Subcategory",
    "Subcategory GUID",
    "Inclusion Setting",
    "Exclusion Setting",
    "Setting Value",
)
_GUID = re.compile(
    r"\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}\Z"
)


class AuditSetting(enum.IntEnum):
    """The ``Setting Value`` of a system subcategory row."""

    NO_AUDITING = 0
    SUCCESS = 1
    FAILURE = 2
    SUCCESS_AND_FAILURE = 3
    NONE = 4


INCLUSION_TEXT: Mapping[AuditSetting, str] = MappingProxyType(
    {
        AuditSetting.NO_AUDITING: "No Auditing",
        AuditSetting.SUCCESS: "Success",
        AuditSetting.FAILURE: "Failure",
        AuditSetting.SUCCESS_AND_FAILURE: "Success and Failure",
        AuditSetting.NONE: "No Auditing",
    }
)


@dataclass(frozen=True)
class Subcategory:
    """An advanced audit subcategory: the name GPMC writes and its GUID."""

    name: str
    guid: str


def _sub(name: str, low: str) -> Subcategory:
    return Subcategory("Audit " + name, "{0cce9" + low + "-69ae-11d9-bed3-505054503030}")


SUBCATEGORIES: Mapping[str, Subcategory] = MappingProxyType(
    {
        # System
        "security_state_change": _sub("Security State Change", "210"),
        "security_system_extension": _sub("Security System Extension", "211"),
        "system_integrity": _sub("System Integrity", "212"),
        "ipsec_driver": _sub("IPsec Driver", "213"),
        "other_system_events": _sub("Other System Events", "214"),
        # Logon/Logoff
        "logon": _sub("Logon", "215"),
        "logoff": _sub("Logoff", "216"),
        "account_lockout": _sub("Account Lockout", "217"),
        "ipsec_main_mode": _sub("IPsec Main Mode", "218"),
        "ipsec_quick_mode": _sub("IPsec Quick Mode", "219"),
        "ipsec_extended_mode": _sub("IPsec Extended Mode", "21a"),
        "special_logon": _sub("Special Logon", "21b"),
        "other_logon_logoff_events": _sub("Other Logon/Logoff Events", "21c"),
        "network_policy_server": _sub("Network Policy Server", "243"),
        "user_device_claims": _sub("User / Device Claims", "247"),
        "group_membership": _sub("Group Membership", "249"),
        # Object Access
        "file_system": _sub("File System", "21d"),
        "registry": _sub("Registry", "21e"),
        "kernel_object": _sub("Kernel Object", "21f"),
        "sam": _sub("SAM", "220"),
        "certification_services": _sub("Certification Services", "221"),
        "application_generated": _sub("Application Generated", "222"),
        "handle_manipulation": _sub("Handle Manipulation", "223"),
        "file_share": _sub("File Share", "224"),
        "filtering_platform_packet_drop": _sub("Filtering Platform Packet Drop", "225"),
        "filtering_platform_connection": _sub("Filtering Platform Connection", "226"),
        "other_object_access_events": _sub("Other Object Access Events", "227"),
        "detailed_file_share": _sub("Detailed File Share", "244"),
        "removable_storage": _sub("Removable Storage", "245"),
        "central_access_policy_staging": _sub("Central Access Policy Staging", "246"),
        # Privilege Use
        "sensitive_privilege_use": _sub("Sensitive Privilege Use", "228"),
        "non_sensitive_privilege_use": _sub("Non Sensitive Privilege Use", "229"),
        "other_privilege_use_events": _sub("Other Privilege Use Events", "22a"),
        # Detailed Tracking
        "process_creation": _sub("Process Creation", "22b"),
        "process_termination": _sub("Process Termination", "22c"),
        "dpapi_activity": _sub("DPAPI Activity", "22d"),
        "rpc_events": _sub("RPC Events", "22e"),
        "pnp_activity": _sub("PNP Activity", "248"),
        "token_right_adjusted_events": _sub("Token Right Adjusted Events", "24a"),
        # Policy Change
        "audit_policy_change": _sub("Audit Policy Change", "22f"),
        "authentication_policy_change": _sub("Authentication Policy Change", "230"),
        "authorization_policy_change": _sub("Authorization Policy Change", "231"),
        "mpssvc_rule_level_policy_change": _sub("MPSSVC Rule-Level Policy Change", "232"),
        "filtering_platform_policy_change": _sub("Filtering Platform Policy Change", "233"),
        "other_policy_change_events": _sub("Other Policy Change Events", "234"),
        # Account Management
        "user_account_management": _sub("User Account Management", "235"),
        "computer_account_management": _sub("Computer Account Management", "236"),
        "security_group_management": _sub("Security Group Management", "237"),
        "distribution_group_management": _sub("Distribution Group Management", "238"),
        "application_group_management": _sub("Application Group Management", "239"),
        "other_account_management_events": _sub("Other Account Management Events", "23a"),
        # DS Access
        "directory_service_access": _sub("Directory Service Access", "23b"),
        "directory_service_changes": _sub("Directory Service Changes", "23c"),
        "directory_service_replication": _sub("Directory Service Replication", "23d"),
        "detailed_directory_service_replication": _sub(
            "Detailed Directory Service Replication", "23e"
        ),
        # Account Logon
        "credential_validation": _sub("Credential Validation", "23f"),
        "kerberos_service_ticket_operations": _sub("Kerberos Service Ticket Operations", "240"),
        "other_account_logon_events": _sub("Other Account Logon Events", "241"),
        "kerberos_authentication_service": _sub("Kerberos Authentication Service", "242"),
    }
)
"""Every subcategory of MS-GPAC 2.2.1.2, by short name (plus Token Right Adjusted Events,
newer than the spec's table, as current ``auditpol`` writes it)."""

AUDIT_OPTIONS: tuple[str, ...] = (
    "CrashOnAuditFail",
    "FullPrivilegeAuditing",
    "AuditBaseObjects",
    "AuditBaseDirectories",
)
"""Audit options of MS-GPAC 2.2.2.1."""


@dataclass(frozen=True)
class AuditRow:
    """One line of audit.csv, every column as written."""

    machine_name: str
    policy_target: str
    subcategory: str
    subcategory_guid: str
    inclusion_setting: str
    exclusion_setting: str
    setting_value: str


@dataclass(frozen=True)
class AuditCsv:
    """A whole audit.csv: rows in file order, and the BOM, encoding and header it had.

    ``auditpol /backup`` on a localized Windows writes a translated header; it is kept.
    """

    rows: tuple[AuditRow, ...] = ()
    bom: bool = False
    encoding: str = "utf-8"
    header: tuple[str, ...] = HEADER

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", tuple(self.rows))
        object.__setattr__(self, "header", tuple(self.header))
        if len(self.header) != len(HEADER):
            raise InputError(f"audit.csv header {list(self.header)} does not have 7 columns")

    def __iter__(self) -> Iterator[AuditRow]:
        return iter(self.rows)

    def subcategory_settings(self) -> dict[str, AuditSetting]:
        """System subcategory settings by lower-case ``{guid}``."""
        result: dict[str, AuditSetting] = {}
        for row in self.rows:
            if row.policy_target.casefold() != "system" or not row.subcategory_guid:
                continue
            guid = row.subcategory_guid.lower()
            if not _GUID.match(guid) or guid in result:
                raise InputError(
                    f"audit.csv subcategory GUID {row.subcategory_guid!r} is malformed or repeated"
                )
            try:
                result[guid] = AuditSetting(int(row.setting_value))
            except ValueError:
                raise InputError(
                    f"audit.csv setting {row.setting_value!r} for {row.subcategory} is not 0-4"
                ) from None
        return result

    def options(self) -> dict[str, bool]:
        """Audit options (``Option:CrashOnAuditFail`` ...) by option name."""
        return {
            row.subcategory.partition(":")[2]: row.setting_value == "1"
            for row in self.rows
            if row.subcategory.startswith("Option:")
        }


def subcategory(name_or_guid: str) -> Subcategory:
    """Look a subcategory up by short name, GPMC name (with or without "Audit ") or GUID."""
    wanted = name_or_guid.strip().casefold()
    for short, sub in SUBCATEGORIES.items():
        names = {short, sub.name.casefold(), sub.name.casefold().removeprefix("audit "), sub.guid}
        if wanted in names or wanted.strip("{}") == sub.guid.strip("{}"):
            return sub
    raise InputError(f"unknown audit subcategory {name_or_guid!r}")


def build_audit_csv(
    settings: Mapping[str, AuditSetting | int],
    *,
    options: Mapping[str, bool] | None = None,
    machine_name: str = "",
) -> AuditCsv:
    """An audit.csv as GPMC writes it, from ``{"logon": AuditSetting.SUCCESS_AND_FAILURE}``."""
    rows = []
    seen: set[str] = set()
    for name, value in settings.items():
        sub = subcategory(name)
        if sub.guid in seen:
            raise InputError(f"audit subcategory {sub.name!r} is given twice")
        seen.add(sub.guid)
        try:
            setting = AuditSetting(value)
        except ValueError:
            raise InputError(f"audit setting {value!r} for {sub.name} is not 0-4") from None
        text = INCLUSION_TEXT[setting]
        rows.append(
            AuditRow(machine_name, "System", sub.name, sub.guid, text, "", str(int(setting)))
        )
    for option, enabled in (options or {}).items():
        if option not in AUDIT_OPTIONS:
            raise InputError(f"unknown audit option {option!r} (known: {', '.join(AUDIT_OPTIONS)})")
        text = "Enabled" if enabled else "Disabled"
        rows.append(AuditRow(machine_name, "", f"Option:{option}", "", text, "", str(int(enabled))))
    return AuditCsv(tuple(rows))


def parse_audit_csv(data: bytes, *, source: str | None = None) -> AuditCsv:
    """Read audit.csv (UTF-8 with or without BOM, else Windows-1252); errors name the line."""
    bom = data.startswith(codecs.BOM_UTF8)
    body = data[len(codecs.BOM_UTF8) if bom else 0 :]
    try:
        text, encoding = body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        # a localized ``auditpol /backup`` writes the ANSI code page, not UTF-8
        try:
            text, encoding = body.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            raise InputError("audit.csv is neither UTF-8 nor Windows-1252", file=source) from None
    records = list(csv.reader(io.StringIO(text, newline="")))
    if not records or len(records[0]) != len(HEADER):
        raise InputError(
            "audit.csv does not start with a 7-column header line", file=source, line=1
        )
    rows = []
    for number, record in enumerate(records[1:], start=2):
        if len(record) != len(HEADER):
            raise InputError(
                f"audit.csv row has {len(record)} columns, not 7", file=source, line=number
            )
        rows.append(AuditRow(*record))
    return AuditCsv(tuple(rows), bom, encoding, tuple(records[0]))


def serialize_audit_csv(audit: AuditCsv) -> bytes:
    """UTF-8 (or the encoding and BOM the parsed file had), CRLF, minimal quoting."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(audit.header)
    writer.writerows(astuple(row) for row in audit.rows)
    return (codecs.BOM_UTF8 if audit.bom else b"") + buffer.getvalue().encode(audit.encoding)
