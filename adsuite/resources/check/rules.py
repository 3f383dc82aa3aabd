"""The directory-wide rules of the ``check`` kind: pure functions from what was read to
violations, each naming the object and what is wrong with it in words.

Every rule takes the :class:`~adsuite.resources.check.facts.Directory`, the scope's DN
and the task's :class:`Params`, and yields :class:`Violation` objects; the kind
(adsuite/resources/check/check.py) applies exemptions and turns the rest into findings.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from fnmatch import fnmatchcase

from adsuite.formats import dn as dnlib
from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.ldap_query import Entry
from adsuite.resources.check.facts import (
    COMPUTERS,
    GROUP_ACLS,
    GROUPS,
    USERS,
    Directory,
    filetime,
    generalized_time,
    in_scope,
    name_of,
    sid_of,
)

ACCOUNTDISABLE = 0x2
PASSWD_NOTREQD = 0x20
ENCRYPTED_TEXT_PWD_ALLOWED = 0x80
SERVER_TRUST_ACCOUNT = 0x2000
DONT_EXPIRE_PASSWORD = 0x10000
PASSWORD_FLAGS = (
    (PASSWD_NOTREQD, "PASSWD_NOTREQD: password not required"),
    (DONT_EXPIRE_PASSWORD, "DONT_EXPIRE_PASSWORD: password never expires"),
    (ENCRYPTED_TEXT_PWD_ALLOWED, "ENCRYPTED_TEXT_PWD_ALLOWED: reversible encryption"),
)
# SDProp protects these groups (RIDs of the domain, then BUILTIN aliases) and accounts.
PROTECTED_RIDS = (512, 516, 518, 519, 521, 526, 527)
PROTECTED_BUILTIN = ("S-1-5-32-544", "S-1-5-32-548", "S-1-5-32-549", "S-1-5-32-550",
                     "S-1-5-32-551", "S-1-5-32-552")  # fmt: skip
PROTECTED_ACCOUNT_RIDS = (500, 502)  # Administrator, krbtgt
# schemaIDGUID of ``member``, also the rightsGuid of the Self-Membership validated write
MEMBER = uuid.UUID("bf9679c0-0de6-11d0-a285-00aa003049e2")
GROUP_CLASS = uuid.UUID("bf967a9c-0de6-11d0-a285-00aa003049e2")
_TAKES_OVER = (
    sdlib.AccessMask.GENERIC_ALL | sdlib.AccessMask.GENERIC_WRITE | sdlib.AccessMask.WRITE_DAC
    | sdlib.AccessMask.WRITE_OWNER
)  # fmt: skip
_WRITES_MEMBER = sdlib.AccessMask.WRITE_PROP | sdlib.AccessMask.SELF
_ALLOW = (sdlib.AceType.ACCESS_ALLOWED, sdlib.AceType.ACCESS_ALLOWED_OBJECT)
_DENY = (sdlib.AceType.ACCESS_DENIED, sdlib.AceType.ACCESS_DENIED_OBJECT)


@dataclass(frozen=True)
class Params:
    """The parameters a rule reads from its task (defaults as the regulations read)."""

    max_password_age: int = 183  # days (二.2.c)
    stale_days: int = 90
    restricted: str = "{code}-Restricted"
    elevated: str = "{code}-Elevated"
    allowed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # group -> members
    groups: tuple[str, ...] = ()  # self_membership: the admin groups whose DACL is read
    trustees: tuple[str, ...] = ()  # self_membership: the company admin groups


@dataclass(frozen=True)
class Violation:
    dn: str
    name: str  # what an exemption names (sAMAccountName)
    text: str


Rule = Callable[[Directory, str, Params], Iterator[Violation]]


def _company(dn: str, base_dn: str) -> str | None:
    """The company code: the first OU under the domain (None outside every OU)."""
    inner = dnlib.split(dn)[: -len(dnlib.split(base_dn))]
    return inner[-1][1] if inner and inner[-1][0].upper() == "OU" else None


def _enabled(entry: Entry) -> bool:
    return not (entry.integer("userAccountControl") or 0) & ACCOUNTDISABLE


def password_flags(d: Directory, scope: str, p: Params) -> Iterator[Violation]:
    """PASSWD_NOTREQD, DONT_EXPIRE_PASSWORD, reversible encryption; a password older
    than the maximum age on an enabled account (二.2.c)."""
    oldest = d.read_at - timedelta(days=p.max_password_age)
    for user in in_scope(d.users, scope):
        uac = user.integer("userAccountControl") or 0
        for bit, words in PASSWORD_FLAGS:
            if uac & bit:
                yield Violation(user.dn, name_of(user), f"userAccountControl has {words}")
        last = filetime(user.integer("pwdLastSet"))
        if _enabled(user) and last is not None and last < oldest:
            age = (d.read_at - last).days
            yield Violation(user.dn, name_of(user), f"password last set {age} days ago, "
                            f"over the maximum of {p.max_password_age}")  # fmt: skip


def class_groups(d: Directory, scope: str, p: Params) -> Iterator[Violation]:
    """Enabled users in neither or both of their company's class groups (二.1.a)."""
    for user in in_scope(d.users, scope):
        code = _company(user.dn, d.base_dn)
        if not _enabled(user) or code is None:
            continue
        restricted, elevated = p.restricted.format(code=code), p.elevated.format(code=code)
        groups = d.group_names_of(user.dn)
        has = [g for g in (restricted, elevated) if g.lower() in groups]
        if not has:
            text = f"is in no class group (neither {restricted} nor {elevated})"
            yield Violation(user.dn, name_of(user), text)
        elif len(has) == 2:
            yield Violation(user.dn, name_of(user), f"is in both {restricted} and {elevated}")


def stale_accounts(d: Directory, scope: str, p: Params) -> Iterator[Violation]:
    """Enabled users with no logon (lastLogonTimestamp; else since created) for
    ``stale_days`` days (二.2.c: leavers' accounts are disabled)."""
    oldest = d.read_at - timedelta(days=p.stale_days)
    for user in in_scope(d.users, scope):
        last = filetime(user.integer("lastLogonTimestamp"))
        since = last or generalized_time(user.text("whenCreated"))
        if _enabled(user) and since is not None and since < oldest:
            what = f"last logon {last.date()}" if last else "never logged on"
            text = f"enabled with no logon for over {p.stale_days} days ({what})"
            yield Violation(user.dn, name_of(user), text)


def disabled_placement(d: Directory, scope: str, p: Params) -> Iterator[Violation]:
    """Disabled users outside their company's ``Disabled`` OU (二.2.c, leavers)."""
    for user in in_scope(d.users, scope):
        if _enabled(user):
            continue
        code = _company(user.dn, d.base_dn)
        home = dnlib.ou_path_to_dn(f"{code}/Disabled", d.base_dn) if code else None
        if home is None or dnlib.key(dnlib.parent(user.dn)) != dnlib.key(home):
            where = f"{code}/Disabled" if code else "a company's Disabled OU"
            yield Violation(user.dn, name_of(user), f"is disabled but not in {where}")


def personal_devices(d: Directory, scope: str, p: Params) -> Iterator[Violation]:
    """Computers in a ``Personal Devices`` OU that no personal_device ticket created (一.3)."""
    for computer in in_scope(d.computers, scope):
        if dnlib.rdn_value(dnlib.parent(computer.dn)).lower() != "personal devices":
            continue
        name = name_of(computer).removesuffix("$")
        if name.lower() not in d.ticketed:
            text = "is in Personal Devices but no approved personal_device ticket created it"
            yield Violation(computer.dn, name, text)


def asset_numbers(d: Directory, scope: str, p: Params) -> Iterator[Violation]:
    """Company computers without an ``asset: <number>`` line in their notes (一.1)."""
    for computer in in_scope(d.computers, scope):
        if (computer.integer("userAccountControl") or 0) & SERVER_TRUST_ACCOUNT:
            continue  # domain controllers
        lines = (computer.text("info") or "").splitlines()
        if not any(line.lower().startswith("asset:") and line[6:].strip() for line in lines):
            text = "has no asset number (its notes need a line 'asset: <number>')"
            yield Violation(computer.dn, name_of(computer).removesuffix("$"), text)


def takeover_groups(d: Directory, scope: str, p: Params) -> Iterator[Violation]:
    """Members of groups that can take over the domain beyond their allow-list (五.6)."""
    wanted = {g.lower(): {m.lower() for m in members} for g, members in p.allowed.items()}
    for group in in_scope(d.groups, scope):
        allowed = wanted.get(name_of(group).lower())
        if allowed is None:
            continue
        for member in sorted(group.texts("member"), key=dnlib.key):
            name = d.display(member)
            if name.lower() not in allowed:
                text = f"has member {name} ({member}), not in its allow-list"
                yield Violation(group.dn, name_of(group), text)


def admin_count(d: Directory, scope: str, p: Params) -> Iterator[Violation]:
    """Accounts with adminCount=1 that no protected group holds any more (五.6): their
    ACLs stay locked by SDProp and their old rights go unseen."""
    domain_sid = _domain_sid(d)
    protected = {f"{domain_sid}-{rid}" for rid in PROTECTED_RIDS} | set(PROTECTED_BUILTIN)
    keys = {k for sid, k in d.group_sids.items() if sid in protected}
    for user in in_scope(d.users, scope):
        sid = sid_of(user) or ""
        if user.integer("adminCount") != 1 or sid.rsplit("-", 1)[-1] in map(
            str, PROTECTED_ACCOUNT_RIDS
        ):
            continue
        if not d.groups_of(user.dn) & keys:
            text = "has adminCount=1 but is in no protected group (reset adminCount, its ACL)"
            yield Violation(user.dn, name_of(user), text)


def _domain_sid(d: Directory) -> str:
    for sid in d.group_sids:
        if sid.startswith("S-1-5-21-"):
            return sid.rsplit("-", 1)[0]
    return "S-1-5-21-unknown"


def self_membership(d: Directory, scope: str, p: Params) -> Iterator[Violation]:
    """Admin groups whose membership a company admin group (``trustees``; its members
    when it is the group itself) can write (三.4, 五.6): a DACL entry granting
    write-member, self-membership, full control, write DACL or take ownership to it."""
    suspects = {sid: name_of(g) for g in d.acl_groups
                if _matches(g, p.trustees) and (sid := sid_of(g))}  # fmt: skip
    for group in in_scope(d.acl_groups, scope):
        if not _matches(group, p.groups) or not group.raw("nTSecurityDescriptor"):
            continue
        dacl = sdlib.parse(group.raw("nTSecurityDescriptor")[0]).dacl
        for sid, trustee in sorted(suspects.items()):
            if dacl is not None and _can_write_member(dacl.aces, sid):
                text = f"{trustee} can change the membership of {name_of(group)} (its DACL)"
                yield Violation(group.dn, name_of(group), text)


def _matches(group: Entry, patterns: tuple[str, ...]) -> bool:
    """Whether the group's name matches one of *patterns* (``*`` a wildcard, any case)."""
    name = name_of(group).lower()
    return any(fnmatchcase(name, p.lower()) for p in patterns)


def _covers(ace: sdlib.Ace) -> bool:
    if ace.inherited_object_type not in (None, GROUP_CLASS):
        return False
    if ace.mask & _TAKES_OVER:
        return True
    return bool(ace.mask & _WRITES_MEMBER) and ace.object_type in (None, MEMBER)


def _can_write_member(aces: tuple[sdlib.Ace, ...] | list[sdlib.Ace], sid: str) -> bool:
    """Whether *sid* is granted it before any ACE denies it (canonical order decides)."""
    for ace in aces:
        if ace.sid != sid or ace.flags & sdlib.AceFlags.INHERIT_ONLY or not _covers(ace):
            continue
        if ace.ace_type in _DENY:
            return False
        if ace.ace_type in _ALLOW:
            return True
    return False


RULES: dict[str, tuple[Rule, tuple[str, ...]]] = {
    "password_flags": (password_flags, (USERS,)),
    "class_groups": (class_groups, (USERS, GROUPS)),
    "stale_accounts": (stale_accounts, (USERS,)),
    "disabled_placement": (disabled_placement, (USERS,)),
    "personal_devices": (personal_devices, (COMPUTERS,)),
    "asset_numbers": (asset_numbers, (COMPUTERS,)),
    "takeover_groups": (takeover_groups, (USERS, COMPUTERS, GROUPS)),
    "admin_count": (admin_count, (USERS, GROUPS)),
    "self_membership": (self_membership, (GROUP_ACLS,)),
}
