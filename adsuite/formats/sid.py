"""Security identifiers: binary <-> "S-1-5-21-..." codec, well-known SIDs and SDDL aliases.

The binary form is MS-DTYP 2.4.2.2 (revision, sub-authority count, 48-bit big-endian
identifier authority, little-endian 32-bit sub-authorities). The string form is MS-DTYP
2.4.2.1; an identifier authority of 2**32 or more is written in hex, as Samba writes it.

SDDL aliases (MS-DTYP 2.5.1.1; the very set Samba 4.17 accepts, as the tests check)
come in three kinds: absolute ones (``WD`` is always S-1-1-0), domain-relative ones
(``DA`` is the domain SID plus RID 512) and forest-root-relative ones (``EA``, ``SA``,
``RO``, ``EK`` live in the forest root domain). ``LA``/``LG`` are machine-relative in MS-DTYP; on a
domain controller the machine SID is the domain SID, so they are treated as
domain-relative, as Samba does. When ``root_domain_sid`` is not given it defaults to
``domain_sid`` (true in a single-domain forest, and what Samba assumes).
"""

from __future__ import annotations

import logging
import re
import struct
from collections.abc import Mapping
from types import MappingProxyType

from adsuite.errors import InputError

log = logging.getLogger(__name__)

MAX_SUB_AUTHORITIES = 15
_SID_TEXT = re.compile(r"S-1-(0[xX][0-9A-Fa-f]{1,12}|\d{1,15})((?:-\d{1,10}){0,15})\Z", re.I)

SDDL_SID_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "WD": "S-1-1-0",
        "CO": "S-1-3-0",
        "CG": "S-1-3-1",
        "OW": "S-1-3-4",
        "NU": "S-1-5-2",
        "IU": "S-1-5-4",
        "SU": "S-1-5-6",
        "AN": "S-1-5-7",
        "ED": "S-1-5-9",
        "PS": "S-1-5-10",
        "AU": "S-1-5-11",
        "RC": "S-1-5-12",
        "SY": "S-1-5-18",
        "LS": "S-1-5-19",
        "NS": "S-1-5-20",
        "WR": "S-1-5-33",
        "BA": "S-1-5-32-544",
        "BU": "S-1-5-32-545",
        "BG": "S-1-5-32-546",
        "PU": "S-1-5-32-547",
        "AO": "S-1-5-32-548",
        "SO": "S-1-5-32-549",
        "PO": "S-1-5-32-550",
        "BO": "S-1-5-32-551",
        "RE": "S-1-5-32-552",
        "RU": "S-1-5-32-554",
        "RD": "S-1-5-32-555",
        "NO": "S-1-5-32-556",
        "MU": "S-1-5-32-558",
        "LU": "S-1-5-32-559",
        "IS": "S-1-5-32-568",
        "CY": "S-1-5-32-569",
        "ER": "S-1-5-32-573",
        "CD": "S-1-5-32-574",
        "RA": "S-1-5-32-575",
        "ES": "S-1-5-32-576",
        "MS": "S-1-5-32-577",
        "HA": "S-1-5-32-578",
        "AA": "S-1-5-32-579",
        "RM": "S-1-5-32-580",
        "UD": "S-1-5-84-0-0-0-0-0",
        "AC": "S-1-15-2-1",
        "LW": "S-1-16-4096",
        "ME": "S-1-16-8192",
        "MP": "S-1-16-8448",
        "HI": "S-1-16-12288",
        "SI": "S-1-16-16384",
        "AS": "S-1-18-1",
        "SS": "S-1-18-2",
    }
)
"""Aliases that stand for one fixed SID."""

SDDL_DOMAIN_RID_ALIASES: Mapping[str, int] = MappingProxyType(
    {
        "LA": 500,
        "LG": 501,
        "DA": 512,
        "DU": 513,
        "DG": 514,
        "DC": 515,
        "DD": 516,
        "CA": 517,
        "PA": 520,
        "CN": 522,
        "AP": 525,
        "KA": 526,
        "RS": 553,
    }
)
"""Aliases for the domain SID plus a RID."""

SDDL_ROOT_DOMAIN_RID_ALIASES: Mapping[str, int] = MappingProxyType(
    {"RO": 498, "SA": 518, "EA": 519, "EK": 527}
)
"""Aliases for the forest root domain SID plus a RID."""

WELL_KNOWN_SIDS: Mapping[str, str] = MappingProxyType(
    {
        "S-1-0-0": "Nobody",
        "S-1-1-0": "Everyone",
        "S-1-2-0": "Local",
        "S-1-3-0": "Creator Owner",
        "S-1-3-1": "Creator Group",
        "S-1-3-4": "Owner Rights",
        "S-1-5-2": "Network",
        "S-1-5-4": "Interactive",
        "S-1-5-6": "Service",
        "S-1-5-7": "Anonymous Logon",
        "S-1-5-9": "Enterprise Domain Controllers",
        "S-1-5-10": "Principal Self",
        "S-1-5-11": "Authenticated Users",
        "S-1-5-12": "Restricted Code",
        "S-1-5-18": "Local System",
        "S-1-5-19": "Local Service",
        "S-1-5-20": "Network Service",
        "S-1-5-32-544": "Administrators",
        "S-1-5-32-545": "Users",
        "S-1-5-32-546": "Guests",
        "S-1-5-32-548": "Account Operators",
        "S-1-5-32-549": "Server Operators",
        "S-1-5-32-550": "Print Operators",
        "S-1-5-32-551": "Backup Operators",
        "S-1-5-32-554": "Pre-Windows 2000 Compatible Access",
        "S-1-5-32-557": "Incoming Forest Trust Builders",
        "S-1-5-32-560": "Windows Authorization Access Group",
        "S-1-5-32-561": "Terminal Server License Servers",
    }
)
"""Names of SIDs that are the same in every domain (a reference, not an alias table)."""

WELL_KNOWN_DOMAIN_RIDS: Mapping[int, str] = MappingProxyType(
    {
        498: "Enterprise Read-only Domain Controllers",
        500: "Administrator",
        501: "Guest",
        502: "krbtgt",
        512: "Domain Admins",
        513: "Domain Users",
        514: "Domain Guests",
        515: "Domain Computers",
        516: "Domain Controllers",
        517: "Cert Publishers",
        518: "Schema Admins",
        519: "Enterprise Admins",
        520: "Group Policy Creator Owners",
        521: "Read-only Domain Controllers",
        522: "Cloneable Domain Controllers",
        525: "Protected Users",
        526: "Key Admins",
        527: "Enterprise Key Admins",
        553: "RAS and IAS Servers",
    }
)
"""Names of the RIDs every domain has, relative to its domain SID."""


def parse_sid(text: str) -> tuple[int, int, tuple[int, ...]]:
    """Split ``S-1-...`` into (revision, identifier authority, sub-authorities)."""
    match = _SID_TEXT.match(text)
    if match is None:
        raise InputError(f"not a SID: {text!r}")
    auth_text = match.group(1)
    authority = int(auth_text[2:], 16) if auth_text[:2] in ("0x", "0X") else int(auth_text)
    subs = tuple(int(part) for part in match.group(2).split("-")[1:])
    if authority >= 1 << 48 or any(sub >= 1 << 32 for sub in subs):
        raise InputError(f"SID component out of range: {text!r}")
    return 1, authority, subs


def format_sid(authority: int, subs: tuple[int, ...]) -> str:
    """Write a revision-1 SID the way Samba and Windows do."""
    auth = str(authority) if authority < 1 << 32 else f"0x{authority:x}"
    return "-".join(["S-1", auth, *(str(sub) for sub in subs)])


def normalize_sid(text: str) -> str:
    """Return the canonical spelling of a SID string (``s-1-5-0X20`` -> ``S-1-5-32``)."""
    _, authority, subs = parse_sid(text)
    return format_sid(authority, subs)


def sid_to_bytes(text: str) -> bytes:
    """Encode ``S-1-5-32-544`` as its binary form."""
    revision, authority, subs = parse_sid(text)
    header = struct.pack("<BB", revision, len(subs)) + authority.to_bytes(6, "big")
    return header + struct.pack(f"<{len(subs)}I", *subs)


def read_sid(data: bytes, offset: int = 0) -> tuple[str, int]:
    """Decode the binary SID at ``offset``; return it and the offset just after it."""
    if offset + 8 > len(data):
        raise InputError(f"truncated SID at byte {offset}")
    revision, count = data[offset], data[offset + 1]
    if revision != 1 or count > MAX_SUB_AUTHORITIES:
        raise InputError(f"bad SID at byte {offset}: revision {revision}, {count} sub-authorities")
    end = offset + 8 + 4 * count
    if end > len(data):
        raise InputError(f"truncated SID at byte {offset}")
    authority = int.from_bytes(data[offset + 2 : offset + 8], "big")
    subs = struct.unpack_from(f"<{count}I", data, offset + 8)
    return format_sid(authority, subs), end


def sid_from_bytes(data: bytes) -> str:
    """Decode a binary SID that fills ``data`` exactly."""
    sid, end = read_sid(data)
    if end != len(data):
        raise InputError(f"{len(data) - end} trailing bytes after SID {sid}")
    return sid


def alias_to_sid(
    alias: str, domain_sid: str | None = None, root_domain_sid: str | None = None
) -> str:
    """Resolve an SDDL alias (``BA``, ``DA``, ...) to a SID string."""
    if alias in SDDL_SID_ALIASES:
        return SDDL_SID_ALIASES[alias]
    if alias in SDDL_DOMAIN_RID_ALIASES:
        base, rid = domain_sid, SDDL_DOMAIN_RID_ALIASES[alias]
    elif alias in SDDL_ROOT_DOMAIN_RID_ALIASES:
        base, rid = root_domain_sid or domain_sid, SDDL_ROOT_DOMAIN_RID_ALIASES[alias]
    else:
        raise InputError(f"unknown SDDL SID alias {alias!r}")
    if base is None:
        raise InputError(f"SDDL alias {alias!r} is domain-relative: a domain SID is needed")
    return f"{normalize_sid(base)}-{rid}"


def sid_to_alias(
    sid: str, domain_sid: str | None = None, root_domain_sid: str | None = None
) -> str | None:
    """Return the SDDL alias that stands for ``sid`` in this domain, or None."""
    for alias, fixed in SDDL_SID_ALIASES.items():
        if fixed == sid:
            return alias
    base, _, rid_text = sid.rpartition("-")
    if not rid_text.isdigit():
        return None
    rid = int(rid_text)
    if domain_sid is not None and base == normalize_sid(domain_sid):
        for alias, alias_rid in SDDL_DOMAIN_RID_ALIASES.items():
            if alias_rid == rid:
                return alias
    root = root_domain_sid or domain_sid
    if root is not None and base == normalize_sid(root):
        for alias, alias_rid in SDDL_ROOT_DOMAIN_RID_ALIASES.items():
            if alias_rid == rid:
                return alias
    return None
