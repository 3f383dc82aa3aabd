"""The plan of an object-level recovery, pure: tombstones, the backup's copies and what is
live in, the objects to bring back (parents first), the source of every attribute, the
group memberships to write, and what cannot come back, named.

An object whose tombstone the DC kept is reanimated (same objectGUID and objectSid); the
attributes the tombstone lost come from the newest backup's copy of the same objectGUID.
An object the backup holds and no tombstone does is created anew from the backup (a new
objectGUID and objectSid). Links do not survive deletion: memberships come from the
backup's ``memberOf`` of each object and ``member`` of each group, written to the groups
once every object is back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry
from adsuite.recovery.tombstones import Tombstone, guid_text, original_dns

log = logging.getLogger(__name__)

SOURCES = ("auto", "tombstone", "backup")
UF_ACCOUNTDISABLE = 0x2
# Written by the DC itself, links (memberships are planned apart), or secrets and logon
# counters no LDAP client sets: never copied from the backup.
NOT_WRITTEN = frozenset(
    name.lower()
    for name in [
        "objectGUID",
        "objectSid",
        "distinguishedName",
        "name",
        "cn",
        "ou",
        "instanceType",
        "objectCategory",
        "whenCreated",
        "whenChanged",
        "uSNCreated",
        "uSNChanged",
        "replPropertyMetaData",
        "isDeleted",
        "isRecycled",
        "lastKnownParent",
        "msDS-LastKnownRDN",
        "sAMAccountType",
        "memberOf",
        "member",
        "primaryGroupID",
        "pwdLastSet",
        "badPwdCount",
        "badPasswordTime",
        "lastLogon",
        "lastLogoff",
        "lastLogonTimestamp",
        "logonCount",
        "unicodePwd",
        "dBCSPwd",
        "supplementalCredentials",
        "ntPwdHistory",
        "lmPwdHistory",
        "msDS-KeyVersionNumber",
        "dSCorePropagationData",
        "nTSecurityDescriptor",
        "isCriticalSystemObject",
        "systemFlags",
        "adminCount",
        "operatorCount",
        "objectClass",
        # secrets Samba or a schema extension may hold: never read into a plan or journal
        "userPassword",
        "unixUserPassword",
        "msSFU30Password",
        "trustAuthIncoming",
        "trustAuthOutgoing",
        "initialAuthIncoming",
        "initialAuthOutgoing",
        "currentValue",
        "priorValue",
    ]
)
PASSWORD_LOST = (
    "password: a deleted account keeps no hash (Samba removes unicodePwd, "
    "supplementalCredentials and the password history on deletion), and the backup's hash "
    "cannot be written back (a DC takes only a new password over LDAP): set a new one"
)


@dataclass(frozen=True)
class ObjectStep:
    """One object to bring back: reanimated from *tombstone_dn*, or created when it is None."""

    dn: str
    kind: str
    guid: str  # the tombstone's, or the backup copy's (a created object gets a new one)
    tombstone_dn: str | None
    kept: tuple[str, ...]  # attributes the tombstone kept (they win over the backup's)
    restored: Mapping[str, tuple[bytes, ...]]  # from *restored_from*
    object_class: tuple[bytes, ...] = ()
    lost: tuple[str, ...] = ()
    restored_from: str = "backup"  # or "journal": what adsuite last wrote, when no backup has it


@dataclass(frozen=True)
class Membership:
    group: str
    member: str


@dataclass(frozen=True)
class RecoveryPlan:
    target: str
    backup: str | None
    objects: tuple[ObjectStep, ...]
    memberships: tuple[Membership, ...]
    lost: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not self.objects


def kind_of(object_class: Sequence[bytes]) -> str:
    names = {value.decode("utf-8").lower() for value in object_class}
    for cls, kind in (("computer", "computer"), ("user", "user"), ("group", "group")):
        if cls in names:
            return kind
    if "organizationalunit" in names:
        return "ou"
    return object_class[-1].decode("utf-8") if object_class else "object"


def build(
    target: str,
    chosen: Sequence[Tombstone],
    backup_name: str | None,
    copies: Mapping[str, Entry],
    backup_subtree: Sequence[Entry],
    live: set[str],
    source: str = "auto",
    journaled: Mapping[str, Mapping[str, tuple[bytes, ...]]] | None = None,
) -> RecoveryPlan:
    """*copies*: the backup's entries by objectGUID; *backup_subtree*: the backup's entries at
    and below *target*; *live*: DN keys (dnlib.key) that exist in the directory now;
    *journaled*: the attributes adsuite last wrote, by DN key (the journal's after-images),
    used for an object no backup holds."""
    where = original_dns(chosen)
    steps: list[ObjectStep] = []
    written = journaled or {}
    if source in ("auto", "tombstone"):
        for stone in chosen:
            dn = where[stone.guid]
            image = copies.get(stone.guid)
            steps.append(_reanimated(stone, dn, image, backup_name, written.get(dnlib.key(dn))))
    if source in ("auto", "backup"):
        known = {s.guid for s in steps} | {dnlib.key(s.dn) for s in steps}
        for entry in backup_subtree:
            guid = guid_of(entry)
            if guid not in known and dnlib.key(entry.dn) not in known | live:
                steps.append(_created(entry, guid))
    steps.sort(key=lambda s: dnlib.depth(s.dn))
    memberships, lost = _memberships(steps, copies, backup_subtree, live)
    return RecoveryPlan(target, backup_name, tuple(steps), memberships, lost)


def guid_of(entry: Entry) -> str:
    """objectGUID as text: ldbsearch prints it so; a DC returns 16 bytes."""
    raw = entry.raw("objectGUID")
    if not raw:
        return ""
    return guid_text(raw[0]) if len(raw[0]) == 16 else raw[0].decode("ascii").lower()


def _writable(entry: Entry, skip: set[str]) -> dict[str, tuple[bytes, ...]]:
    return {k: v for k, v in entry.attributes.items() if k not in NOT_WRITTEN and k not in skip}


def _reanimated(
    stone: Tombstone,
    dn: str,
    copy: Entry | None,
    backup: str | None,
    journaled: Mapping[str, tuple[bytes, ...]] | None,
) -> ObjectStep:
    kind = kind_of(stone.entry.raw("objectClass"))
    kept = sorted(k for k in stone.entry.attributes if k not in NOT_WRITTEN)
    lost: list[str] = [PASSWORD_LOST] if kind in ("user", "computer") else []
    if copy is not None:
        restored = _writable(copy, set(kept))
        return ObjectStep(dn, kind, stone.guid, stone.dn, tuple(kept), restored, (), tuple(lost))
    why = f"no backup holds objectGUID {stone.guid}" if backup else "no backup to read"
    if journaled:
        lost.append(f"attributes adsuite never wrote, and memberships: {why}")
    else:
        lost.append(f"attributes and memberships the tombstone lost: {why}")
    restored = _writable(Entry(dn, journaled or {}), set(kept))
    step = ObjectStep(dn, kind, stone.guid, stone.dn, tuple(kept), restored, (), tuple(lost))
    return replace(step, restored_from="journal") if journaled else step


def _created(entry: Entry, guid: str) -> ObjectStep:
    classes = entry.raw("objectClass")
    kind = kind_of(classes)
    restored = _writable(entry, set())
    lost = ["objectGUID and objectSid: no tombstone left, the object is created anew with new ones"]
    if kind in ("user", "computer"):
        lost.append(PASSWORD_LOST)
        flags = int(restored.get("useraccountcontrol", (b"512",))[0])
        if not flags & UF_ACCOUNTDISABLE:
            restored["useraccountcontrol"] = (str(flags | UF_ACCOUNTDISABLE).encode(),)
            lost.append("enabled: created disabled, as it has no password yet")
    return ObjectStep(entry.dn, kind, guid, None, (), restored, classes, tuple(lost))


def _memberships(
    steps: Sequence[ObjectStep],
    copies: Mapping[str, Entry],
    subtree: Sequence[Entry],
    live: set[str],
) -> tuple[tuple[Membership, ...], tuple[str, ...]]:
    back = {dnlib.key(s.dn) for s in steps}
    images = {**{guid_of(e): e for e in subtree}, **copies}
    wanted: dict[tuple[str, str], Membership] = {}
    for step in steps:
        image = images.get(step.guid)
        if image is None:
            continue
        pairs = [(group, step.dn) for group in image.texts("memberOf")]
        pairs += [(step.dn, member) for member in image.texts("member")]
        for group, member in pairs:
            wanted.setdefault((dnlib.key(group), dnlib.key(member)), Membership(group, member))
    kept, lost = [], []
    for (group_key, member_key), membership in wanted.items():
        gone = [
            dn
            for dn, key in ((membership.group, group_key), (membership.member, member_key))
            if key not in back and key not in live
        ]
        if gone:
            lost.append(
                f"membership of {membership.member} in {membership.group}: "
                f"{gone[0]} no longer exists and is not recovered"
            )
        else:
            kept.append(membership)
    return tuple(kept), tuple(lost)
