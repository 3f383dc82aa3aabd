"""Who an ACE names, for file permissions: well-known principals, directory accounts, SIDs.

A playbook names a principal as ``HQ-Finance-RW`` or ``GROUP\\HQ-Finance-RW`` (a
sAMAccountName), ``Everyone`` / ``SYSTEM`` / ``Administrators`` / ``CREATOR OWNER``
(well-known, optionally ``BUILTIN\\`` or ``NT AUTHORITY\\``), or a SID. Accounts are
looked up in bulk (adsuite/formats/ldap_query.py: ``by_names``, ``sids_found``); a SID
read from a server is named by the same module's ``names_of``, from the engine's readers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

from adsuite.formats.ldap_query import Entry, Query, or_filter
from adsuite.formats.sid import WELL_KNOWN_SIDS, normalize_sid

log = logging.getLogger(__name__)

_EXTRA_NAMES = {
    "system": "S-1-5-18",
    "local system": "S-1-5-18",
    "creator owner": "S-1-3-0",
    "creator group": "S-1-3-1",
    "authenticated users": "S-1-5-11",
    "everyone": "S-1-1-0",
}
WELL_KNOWN_BY_NAME: Mapping[str, str] = {
    **{name.lower(): sid for sid, name in WELL_KNOWN_SIDS.items()},
    **_EXTRA_NAMES,
}
_PREFIXES = ("builtin\\", "nt authority\\")
DISPLAY = {**WELL_KNOWN_SIDS, "S-1-5-18": "SYSTEM"}


def fixed_sid(name: str) -> str | None:
    """The SID of a SID string or a well-known name; None for a directory account."""
    text = name.strip()
    if text.upper().startswith("S-1-"):
        return normalize_sid(text)
    lower = text.lower()
    for prefix in _PREFIXES:
        if lower.startswith(prefix):
            lower = lower[len(prefix) :]
    return WELL_KNOWN_BY_NAME.get(lower)


def account_name(name: str) -> str:
    """``GROUP\\bob`` → ``bob``: the sAMAccountName to look up."""
    return name.strip().rpartition("\\")[2]


def accounts(names: Iterable[str]) -> set[str]:
    """The directory accounts among *names* (well-known names and SIDs left out)."""
    return {account_name(n) for n in names if fixed_sid(n) is None}


def netbios_query(base_dn: str) -> Query:
    """The domain's NetBIOS name, from its crossRef in the configuration partition."""
    return Query(
        f"CN=Partitions,CN=Configuration,{base_dn}",
        or_filter("nCName", [base_dn], extra="(objectClass=crossRef)"),
        ("nETBIOSName",),
        "one",
    )


def netbios_name(found: Sequence[Entry], realm: str) -> str:
    for entry in found:
        name = entry.text("nETBIOSName")
        if name:
            return name
    return realm.split(".")[0].upper()


def display(sid: str, declared: Mapping[str, str], names: Mapping[str, str], netbios: str) -> str:
    """A SID as a person reads it: the playbook's spelling, a well-known name, DOMAIN\\sam."""
    if sid in declared:
        return declared[sid]
    if sid in DISPLAY:
        return DISPLAY[sid]
    if sid in names:
        return f"{netbios}\\{names[sid]}"
    return sid
