"""What the ``privileged`` kind reads: the privileged groups, found by SID, and who is in them.

The groups are found by their well-known SIDs (names differ between languages): the
built-in ``S-1-5-32-5xx`` groups and the domain's ``-512``/``-518``/``-519``. A member
counts if it is one *effectively*: through nested groups (one
LDAP_MATCHING_RULE_IN_CHAIN search per group) or through ``primaryGroupID`` (which no
``member`` value shows). :class:`PrivilegedRead` is the request; the engine's reader
(adsuite/resources/privileged/io.py) answers it with a :class:`PrivilegedState`. Pure data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry

# The groups 五.6 covers, by the English label a playbook uses → well-known SID or RID.
DOMAIN_RIDS = {"Domain Admins": 512, "Schema Admins": 518, "Enterprise Admins": 519}
BUILTIN_SIDS = {
    "Administrators": "S-1-5-32-544",
    "Account Operators": "S-1-5-32-548",
    "Server Operators": "S-1-5-32-549",
    "Print Operators": "S-1-5-32-550",
    "Backup Operators": "S-1-5-32-551",
}
GROUP_NAMES = (*DOMAIN_RIDS, *BUILTIN_SIDS)
DOMAIN_USERS_RID = 513
BUILTIN_ADMINISTRATOR_RID = 500
NOT_DELEGATED = 0x100000  # userAccountControl: "account is sensitive and cannot be delegated"
ACCOUNTDISABLE = 0x2
PRINCIPAL_ATTRIBUTES = (
    "sAMAccountName",
    "objectSid",
    "objectClass",
    "objectGUID",
    "primaryGroupID",
    "userAccountControl",
    "pwdLastSet",
    "memberOf",
)
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PrivilegedRead:
    """Request: the privileged groups of the domain under *base_dn*, and their members."""

    base_dn: str


@dataclass(frozen=True)
class Principal:
    """A user, computer or group that is (effectively) in a privileged group."""

    entry: Entry
    sid: str

    @property
    def dn(self) -> str:
        return self.entry.dn

    @property
    def name(self) -> str:
        return self.entry.text("sAMAccountName") or dnlib.rdn_value(self.entry.dn)

    @property
    def is_group(self) -> bool:
        return "group" in {c.lower() for c in self.entry.texts("objectClass")}

    @property
    def primary_group_rid(self) -> int | None:
        return self.entry.integer("primaryGroupID")

    @property
    def uac(self) -> int:
        return self.entry.integer("userAccountControl") or 0

    @property
    def rid(self) -> int:
        return int(self.sid.rsplit("-", 1)[-1])

    def password_set_at(self) -> datetime | None:
        """pwdLastSet as a time; None when never set (0) or unknown."""
        ticks = self.entry.integer("pwdLastSet") or 0
        return _FILETIME_EPOCH + timedelta(microseconds=ticks // 10) if ticks > 0 else None


@dataclass(frozen=True)
class PrivilegedGroup:
    """One privileged group: its entry (DN, ``member``), SID, and who is in it effectively."""

    label: str  # the English label the playbook uses ("Domain Admins")
    entry: Entry
    sid: str
    effective: tuple[str, ...] = ()  # DN keys of users and computers in it by any path
    primary: tuple[str, ...] = ()  # DN keys of those whose primaryGroupID is this group

    @property
    def dn(self) -> str:
        return self.entry.dn

    @property
    def rid(self) -> int:
        return int(self.sid.rsplit("-", 1)[-1])

    def direct(self) -> dict[str, str]:
        """DN key → DN of each ``member`` value."""
        return {dnlib.key(dn): dnlib.normalize(dn) for dn in self.entry.texts("member")}


@dataclass(frozen=True)
class PrivilegedState:
    """The answer to :class:`PrivilegedRead`, read at ``read_at`` while bound as ``bound_as``."""

    domain_sid: str
    read_at: datetime
    bound_as: str
    max_password_age_days: float | None  # the domain's maxPwdAge; None: never expires
    groups: Mapping[str, PrivilegedGroup] = field(default_factory=dict)  # by label
    principals: Mapping[str, Principal] = field(default_factory=dict)  # by DN key
    builtin_administrator: Principal | None = None
    domain_users_dn: str | None = None

    def principal(self, dn: str) -> Principal | None:
        return self.principals.get(dnlib.key(dn))

    def group_by_key(self, key: str) -> PrivilegedGroup | None:
        return next((g for g in self.groups.values() if dnlib.key(g.dn) == key), None)


def group_sid(label: str, domain_sid: str) -> str:
    """The SID of privileged group *label* in the domain whose SID is *domain_sid*."""
    rid = DOMAIN_RIDS.get(label)
    return f"{domain_sid}-{rid}" if rid is not None else BUILTIN_SIDS[label]


def max_age_days(ticks: int | None) -> float | None:
    """maxPwdAge (negative 100-ns ticks) in days; None for never (0 or the minimum)."""
    if ticks is None or ticks == 0 or ticks == -0x8000000000000000:
        return None
    return -ticks / 864_000_000_000
