"""`adsuite recover`: bring back an object deleted by hand, with what was below it, its
attributes and its group memberships (docs/recovery.md).

Reading: one paged search of CN=Deleted Objects with the Show Deleted control, the
newest backup read offline (adsuite/recovery/backup_read.py), and one bulk read of the
DNs the memberships name; recover_plan.py turns that into the plan. Writing, under the
domain lease, in the plan's order: each object reanimated (or created) with the backup's
attributes, then each membership; every step journaled (intent, write, outcome) in a
run of mode ``recover``. An attribute the DC refuses does not stop the run: it is named.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from adsuite.connectors.ldap import Directory
from adsuite.engine.session import Session
from adsuite.errors import AdsuiteError, DirectoryError, InputError
from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry, by_dns
from adsuite.journal.store import Journal
from adsuite.recovery import backup_read, tombstones
from adsuite.recovery import drill as drilllib
from adsuite.recovery import expected as expectedlib
from adsuite.recovery.recover_plan import Membership, ObjectStep, RecoveryPlan, build
from adsuite.resources import attributes as attrs
from adsuite.runtime.connections import Connections

log = logging.getLogger(__name__)

MODE = "recover"
OBJECT = "recovered_object"
MEMBERSHIP = "recovered_membership"
_EXISTS = 20  # attributeOrValueExists: the membership is already there
_CREATE_FIRST = ("objectclass", "samaccountname", "useraccountcontrol", "grouptype")
Step = Callable[[str], None]


@dataclass(frozen=True)
class RecoverResult:
    run_id: str
    applied: int
    failed: tuple[str, ...]  # steps that did not happen, each with the DC's reason
    refused: tuple[str, ...]  # attributes the DC would not take back, named

    @property
    def status(self) -> str:
        return "failed" if self.failed else "ok"


def make_plan(
    session: Session, conn: Connections, target: str | None, name: str | None, source: str
) -> RecoveryPlan:
    """What a recovery of *target* (a DN) or *name* would do, from the DC and the backup."""
    directory, base = conn.ldap, session.domain.base_dn
    stones = tombstones.parse(directory.search(tombstones.query(base)))
    dn = target or tombstones.dn_by_name(stones, name or "")
    if dn is None:
        raise InputError(f"no deleted object is named {name!r}: pass --dn with its former DN")
    if not dnlib.looks_like_dn(dn) or not dnlib.is_under(dn, base):
        raise InputError(f"--dn {dn!r} is not a DN in {base}")
    chosen = tombstones.subtree(stones, dn) if source != "backup" else []
    backup = _newest_backup(session, required=source == "backup")
    copies: dict[str, Entry] = {}
    subtree: list[Entry] = []
    if backup is not None:
        with backup_read.opened(backup, base, _scratch(session)) as reader:
            copies = reader.by_guids([t.guid for t in chosen])
            subtree = reader.subtree(dn) if source != "tombstone" else []
    live = _live(directory, base, [dn, *_named_dns(copies.values()), *_named_dns(subtree)])
    journaled = _journaled(session)
    name_of_backup = backup.name if backup else None
    plan = build(dn, chosen, name_of_backup, copies, subtree, live, source, journaled)
    if plan.empty:
        where = "no tombstone" if source == "tombstone" else "no tombstone and no backup copy"
        raise InputError(f"nothing to recover at {dn}: {where} of it, or it exists")
    return plan


def _journaled(session: Session) -> dict[str, dict[str, tuple[bytes, ...]]]:
    """The attributes adsuite last wrote to each object it manages, by DN key."""
    with Journal.open(session.journal_path) as journal:
        changes = [c for r in journal.runs() for c in journal.changes(r.id)]
    found = {}
    for obj in expectedlib.managed_objects(changes):
        values = attrs.add_attributes(obj.fields, expectedlib.table_of(obj.kind))
        found[dnlib.key(obj.dn)] = {
            k.lower(): tuple(str(v).encode("utf-8") for v in vs) for k, vs in values.items()
        }
    return found


def _newest_backup(session: Session, *, required: bool) -> Path | None:
    if session.inventory.backups is None and not required:
        return None
    return drilllib.newest_backup(session)


def _scratch(session: Session) -> Path | None:
    config = session.inventory.backups
    return Path(config.scratch_dir) if config and config.scratch_dir else None


def _named_dns(entries: Iterable[Entry]) -> list[str]:
    found: list[str] = []
    for entry in entries:
        found += [entry.dn, *entry.texts("memberOf"), *entry.texts("member")]
    return found


def _live(directory: Directory, base: str, dns: list[str]) -> set[str]:
    found: set[str] = set()
    for query in by_dns(base, [d for d in dns if dnlib.looks_like_dn(d)], ("objectClass",)):
        found |= {dnlib.key(entry.dn) for entry in directory.search(query)}
    return found


def apply(session: Session, conn: Connections, plan: RecoveryPlan, step: Step) -> RecoverResult:
    """Write *plan*, each step journaled, under the domain lease *conn* holds."""
    held = conn.lease
    if held is None:
        raise AdsuiteError("internal error: a recovery must hold the domain lease")
    held.check()
    extra = {"target": plan.target, "backup": plan.backup, "lost": list(plan.lost)}
    with Journal.open(session.journal_path) as journal:
        run_id = journal.start_run(
            mode=MODE,
            operator=session.operator(conn),
            inventory=str(session.inventory_path),
            extra=extra,
        )
        held.bind_run(run_id)
        writer = _Writer(conn.ldap, journal, run_id, step)
        try:
            for obj in plan.objects:
                held.check()
                writer.object(obj)
            for membership in plan.memberships:
                writer.membership(membership)
        except BaseException:
            journal.finish_run(run_id, status="failed", counts={"applied": writer.applied})
            raise
        result = RecoverResult(run_id, writer.applied, tuple(writer.failed), tuple(writer.refused))
        counts = {"applied": result.applied, "failed": len(result.failed)}
        journal.finish_run(
            run_id, status=result.status, counts=counts | {"refused": len(result.refused)}
        )
    return result


class _Writer:
    """The writes of one run, each journaled as intent, write, outcome."""

    def __init__(self, directory: Directory, journal: Journal, run_id: str, step: Step) -> None:
        self.directory, self.journal, self.run_id, self.step = directory, journal, run_id, step
        self.applied = 0
        self.failed: list[str] = []
        self.refused: list[str] = []

    def object(self, obj: ObjectStep) -> None:
        action = "reanimate" if obj.tombstone_dn else "create"
        before = {"tombstone": obj.tombstone_dn, "kept": obj.kept} if obj.tombstone_dn else None
        after = {"objectGUID": obj.guid, "kind": obj.kind, "attributes": printable(obj.restored)}
        change = self.journal.record_intent(
            self.run_id, resource=OBJECT, target=obj.dn, action=action, before=before, after=after
        )
        self.step(f"{action} {obj.dn}")
        try:
            rest = self._bring_back(obj)
        except DirectoryError as error:
            self.journal.record_outcome(self.run_id, change, "failed", str(error))
            self.failed.append(str(error))
            return
        self.refused += self._write_attributes(obj.dn, rest)
        self.journal.record_outcome(self.run_id, change, "applied")
        self.applied += 1

    def _bring_back(self, obj: ObjectStep) -> dict[str, tuple[bytes, ...]]:
        """Reanimate or create *obj*; the attributes still to write."""
        if obj.tombstone_dn is not None:
            self.directory.reanimate(obj.tombstone_dn, obj.dn)
            return dict(obj.restored)
        first = {k: v for k, v in obj.restored.items() if k in _CREATE_FIRST}
        self.directory.add(obj.dn, {"objectClass": list(obj.object_class)} | _lists(first))
        return {k: v for k, v in obj.restored.items() if k not in _CREATE_FIRST}

    def _write_attributes(self, dn: str, values: Mapping[str, tuple[bytes, ...]]) -> list[str]:
        """All at once; when the DC refuses that, one by one, naming each it refuses."""
        if not values:
            return []
        try:
            self.directory.modify(dn, {k: ("replace", list(v)) for k, v in values.items()})
            return []
        except DirectoryError:
            pass
        refused = []
        for name, value in values.items():
            try:
                self.directory.modify(dn, {name: ("replace", list(value))})
            except DirectoryError as error:
                refused.append(f"{dn}: {name} not restored: {error}")
        return refused

    def membership(self, membership: Membership) -> None:
        change = self.journal.record_intent(
            self.run_id,
            resource=MEMBERSHIP,
            target=membership.group,
            action="add",
            before=None,
            after={"member": membership.member},
        )
        self.step(f"add {membership.member} to {membership.group}")
        try:
            self.directory.modify(membership.group, {"member": ("add", [membership.member])})
        except DirectoryError as error:
            if error.code == _EXISTS:
                self.journal.record_outcome(self.run_id, change, "skipped", "already a member")
                return
            self.journal.record_outcome(self.run_id, change, "failed", str(error))
            self.failed.append(str(error))
            return
        self.journal.record_outcome(self.run_id, change, "applied")
        self.applied += 1


def _lists(values: Mapping[str, tuple[bytes, ...]]) -> dict[str, list[bytes]]:
    return {k: list(v) for k, v in values.items()}


def printable(values: Mapping[str, tuple[bytes, ...]]) -> dict[str, list[str]]:
    """Attribute values as text for the journal and the screen; binary ones as base64."""
    shown: dict[str, list[str]] = {}
    for name, raw in sorted(values.items()):
        texts = []
        for value in raw:
            try:
                texts.append(value.decode("utf-8"))
            except UnicodeDecodeError:
                texts.append("base64:" + base64.b64encode(value).decode("ascii"))
        shown[name] = texts
    return shown
