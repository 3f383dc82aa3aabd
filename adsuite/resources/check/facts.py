"""What the ``check`` kind reads: the directory's users, computers and groups, each
family in one paged search, and — for personal devices — the journal's tickets.

:class:`CheckRead` is the request (one per family, whatever the number of check
tasks); the engine's reader (adsuite/resources/check/io.py) answers it with a
:class:`CheckFacts`. :class:`Directory` folds the families a plan needs into the
lookups the rules share: accounts by DN, group SIDs, nested memberships. Pure data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property

from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry
from adsuite.formats.sid import sid_from_bytes

USERS = "users"
COMPUTERS = "computers"
GROUPS = "groups"
GROUP_ACLS = "group_acls"
FILTERS = {
    USERS: "(&(objectCategory=person)(objectClass=user))",
    COMPUTERS: "(objectClass=computer)",
    GROUPS: "(objectClass=group)",
}
ATTRIBUTES = {
    USERS: (
        "sAMAccountName",
        "userAccountControl",
        "pwdLastSet",
        "lastLogonTimestamp",
        "whenCreated",
        "adminCount",
        "objectSid",
    ),
    COMPUTERS: ("sAMAccountName", "userAccountControl", "description", "info", "whenCreated"),
    GROUPS: ("sAMAccountName", "objectSid", "member"),
    GROUP_ACLS: ("sAMAccountName", "objectSid", "nTSecurityDescriptor"),
}
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
NEVER = (0, 0x7FFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class CheckRead:
    """Request: every object of one family under *base_dn* (``group_acls``: the DACLs of
    the groups named in *names*, in the same one search)."""

    family: str
    base_dn: str
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckFacts:
    """What the reader answers: the entries, when they were read, and for computers the
    names of the computers personal_device tickets created (lower, without ``$``)."""

    entries: tuple[Entry, ...]
    read_at: datetime
    ticketed: Mapping[str, str] = field(default_factory=dict)  # computer name -> ticket id


def filetime(value: int | None) -> datetime | None:
    """A FILETIME attribute (pwdLastSet, lastLogonTimestamp) as a time; None for 0/never."""
    if value is None or value in NEVER:
        return None
    return _FILETIME_EPOCH + timedelta(microseconds=value // 10)


def generalized_time(text: str | None) -> datetime | None:
    """whenCreated (``20261206162214.0Z``) as a time."""
    if not text:
        return None
    return datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def sid_of(entry: Entry) -> str | None:
    raw = entry.raw("objectSid")
    return sid_from_bytes(raw[0]) if raw else None


def name_of(entry: Entry) -> str:
    return entry.text("sAMAccountName") or dnlib.rdn_value(entry.dn)


@dataclass(frozen=True)
class Directory:
    """The families one plan read, with the lookups the rules share."""

    base_dn: str
    users: tuple[Entry, ...] = ()
    computers: tuple[Entry, ...] = ()
    groups: tuple[Entry, ...] = ()
    acl_groups: tuple[Entry, ...] = ()  # groups with their DACL (group_acls)
    read_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    ticketed: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def names(self) -> dict[str, str]:
        """DN key -> sAMAccountName of every object read."""
        every = (*self.users, *self.computers, *self.groups)
        return {dnlib.key(e.dn): name_of(e) for e in every}

    @cached_property
    def parents(self) -> dict[str, set[str]]:
        """DN key -> the keys of the groups it is a direct member of."""
        out: dict[str, set[str]] = {}
        for group in self.groups:
            for member in group.texts("member"):
                out.setdefault(dnlib.key(member), set()).add(dnlib.key(group.dn))
        return out

    @cached_property
    def group_sids(self) -> dict[str, str]:
        """Group SID -> DN key."""
        return {sid: dnlib.key(g.dn) for g in self.groups if (sid := sid_of(g))}

    def groups_of(self, dn: str) -> set[str]:
        """The keys of every group *dn* is in, directly or through nested groups."""
        seen: set[str] = set()
        todo = list(self.parents.get(dnlib.key(dn), ()))
        while todo:
            group = todo.pop()
            if group not in seen:
                seen.add(group)
                todo.extend(self.parents.get(group, ()))
        return seen

    def group_names_of(self, dn: str) -> set[str]:
        """The lower sAMAccountNames of every group *dn* is in, nested included."""
        return {self.names.get(g, "").lower() for g in self.groups_of(dn)}

    def display(self, dn: str) -> str:
        return self.names.get(dnlib.key(dn)) or dnlib.rdn_value(dn)


def in_scope(entries: Iterable[Entry], scope_dn: str) -> list[Entry]:
    return [e for e in entries if dnlib.is_under(e.dn, scope_dn)]
