"""Directory reads as plain data: what a search asks (:class:`Query`), what it returns
(:class:`Entry`), and the one way adsuite finds accounts by name and by SID in bulk.

Pure: nothing here talks to a DC or imports ldap3, so resources can build queries
and read entries without touching the connector (adsuite/connectors/ldap.py runs
them). Filter values are escaped as RFC 4515 says; a SID goes into a filter in its
binary form, every byte escaped, which AD and Samba both match. Names are looked up
500 to an OR filter and, past :data:`SCAN_ABOVE`, by one scan of the class instead,
so a caller never loops one round trip per object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from adsuite.errors import DirectoryError
from adsuite.formats.sid import WELL_KNOWN_SIDS, sid_from_bytes, sid_to_bytes

NAMES_PER_FILTER = 500
SCAN_ABOVE = 1000  # more names than this: one scan of the class beats OR filters
ACCOUNT_ATTRIBUTES = ("sAMAccountName", "objectSid")
_FIXED_PREFIXES = ("S-1-0-", "S-1-1-", "S-1-3-", "S-1-22-", "S-1-16-")  # no directory names these
_ESCAPES = {"\\": "\\5c", "*": "\\2a", "(": "\\28", ")": "\\29", "\0": "\\00"}


@dataclass(frozen=True)
class Entry:
    """One directory object as read: DN and raw attribute values, names lowercased."""

    dn: str
    attributes: Mapping[str, tuple[bytes, ...]] = field(default_factory=dict)

    def raw(self, name: str) -> tuple[bytes, ...]:
        return self.attributes.get(name.lower(), ())

    def texts(self, name: str) -> list[str]:
        return [value.decode("utf-8") for value in self.raw(name)]

    def text(self, name: str) -> str | None:
        values = self.raw(name)
        return values[0].decode("utf-8") if values else None

    def integer(self, name: str) -> int | None:
        value = self.text(name)
        return int(value) if value is not None else None


@dataclass(frozen=True)
class Query:
    """One bulk read: a paged search. Equal queries are run once per run."""

    base: str
    filter: str
    attributes: tuple[str, ...]
    scope: str = "sub"
    sd_flags: int | None = None
    size_limit: int = 0
    show_deleted: bool = False  # also tombstones (CN=Deleted Objects): the Show Deleted control
    extended_dn: bool = False  # DNs with <GUID=..>;<SID=..>; in front (formats/extended_dn.py)


Search = Callable[[Query], Iterable[Entry]]  # Directory.search, or a run's facts


def escape(value: str) -> str:
    """A filter value with RFC 4515's special characters escaped."""
    return "".join(_ESCAPES.get(char, char) for char in value)


def or_filter(attribute: str, values: Sequence[str], *, extra: str = "") -> str:
    """``(&extra(|(attr=v1)(attr=v2)...))`` with every value escaped."""
    terms = "".join(f"({attribute}={escape(value)})" for value in values)
    return f"(&{extra}(|{terms}))"


def sid_value(sid: str) -> str:
    """A SID as a filter value: its binary form, every byte escaped."""
    return "".join(f"\\{byte:02x}" for byte in sid_to_bytes(sid))


def by_names(
    base: str,
    names: Iterable[str],
    attributes: tuple[str, ...] = ACCOUNT_ATTRIBUTES,
    extra: str = "",
) -> list[Query]:
    """Queries that find objects by sAMAccountName, in bulk.

    A few hundred names go as OR filters of 500; past ``SCAN_ABOVE`` one paged scan of
    the class is cheaper for the DC than thousands of OR terms, and the caller keeps
    only the names it asked for.
    """
    unique = sorted({n.lower() for n in names})
    if len(unique) > SCAN_ABOVE:
        return [Query(base, f"(&{extra}(sAMAccountName=*))", attributes)]
    return [
        Query(
            base,
            or_filter("sAMAccountName", unique[i : i + NAMES_PER_FILTER], extra=extra),
            attributes,
        )
        for i in range(0, len(unique), NAMES_PER_FILTER)
    ]


def by_dns(
    base: str,
    dns: Iterable[str],
    attributes: tuple[str, ...],
    extra: str = "",
    per: int = NAMES_PER_FILTER,
) -> list[Query]:
    """Queries that read objects by DN, *per* DNs to an OR filter (in the order given,
    duplicates dropped)."""
    unique = list(dict.fromkeys(dns))
    return [
        Query(base, or_filter("distinguishedName", unique[i : i + per], extra=extra), attributes)
        for i in range(0, len(unique), per)
    ]


def by_sids(
    base: str, sids: Iterable[str], attributes: tuple[str, ...] = ACCOUNT_ATTRIBUTES
) -> list[Query]:
    """Queries that find objects by objectSid, 500 SIDs to a filter."""
    unique = sorted(set(sids))
    return [
        Query(
            base,
            "(|"
            + "".join(f"(objectSid={sid_value(s)})" for s in unique[i : i + NAMES_PER_FILTER])
            + ")",
            attributes,
        )
        for i in range(0, len(unique), NAMES_PER_FILTER)
    ]


def entry_sid(entry: Entry) -> str | None:
    raw = entry.raw("objectSid")
    return sid_from_bytes(raw[0]) if raw else None


def sids_found(found: Iterable[Entry]) -> dict[str, str]:
    """lower sAMAccountName -> SID, from entries that carry both."""
    out = {}
    for entry in found:
        sam, sid = entry.text("sAMAccountName"), entry_sid(entry)
        if sam and sid:
            out[sam.lower()] = sid
    return out


def names_found(found: Iterable[Entry]) -> dict[str, str]:
    """SID -> sAMAccountName, from entries that carry both."""
    return {sid: sam for sam, sid in ((e.text("sAMAccountName"), entry_sid(e)) for e in found)
            if sam and sid}  # fmt: skip


def nameable(sids: Iterable[str]) -> set[str]:
    """The SIDs the directory may know (not well-known, not a fixed authority's)."""
    return {s for s in sids if s not in WELL_KNOWN_SIDS and not s.startswith(_FIXED_PREFIXES)}


def sids_of(search: Search, base: str, names: Iterable[str]) -> dict[str, str]:
    """lower sAMAccountName -> SID for each of *names* the directory has."""
    asked = {n.lower() for n in names}
    found = sids_found(e for q in by_names(base, asked) for e in search(q))
    return {name: sid for name, sid in found.items() if name in asked}


def names_of(search: Search, base: str, sids: Iterable[str]) -> dict[str, str]:
    """SID -> sAMAccountName for each of *sids* the directory has."""
    return names_found(e for q in by_sids(base, sids) for e in search(q))


def entries_of(
    search: Search, base: str, sids: Iterable[str], attributes: tuple[str, ...]
) -> dict[str, Entry]:
    """SID -> the entry with *attributes* (objectSid always read) for each SID found."""
    wanted = tuple(dict.fromkeys((*attributes, "objectSid")))
    found = (e for q in by_sids(base, sids, wanted) for e in search(q))
    return {sid: e for e in found if (sid := entry_sid(e)) is not None}


def sids_required(search: Search, base: str, names: Sequence[str], purpose: str) -> dict[str, str]:
    """:func:`sids_of`, or a DirectoryError naming the first account not found, e.g.
    "no account named 'bob' to put in a folder's permissions"."""
    found = sids_of(search, base, names) if names else {}
    missing = [n for n in names if n.lower() not in found]
    if missing:
        raise DirectoryError(f"no account named {missing[0]!r} {purpose}")
    return found
