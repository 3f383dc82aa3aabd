"""`adsuite restore-drill`: restore the newest backup into a scratch DC, time it, and check
that it holds what the journal says adsuite manages.

The clock runs from the start of ``samba-tool domain backup restore`` to the first
TLS-validated LDAPS bind to the restored DC: the time to a working DC. Then, over that
connection, the DC must list itself as the only DC (the restore removed the others),
and every object the journal says exists must be there with the attributes last
written (adsuite/recovery/expected.py). The backup's sha256 must be the one its backup
run journaled. The run is journaled with mode ``restore_drill``: the backup and its
sha256 with the start, each problem as a ``failed`` change of resource
``restore_drill``, and the time (``milliseconds``) and counts with the end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from adsuite.connectors.credentials import Login
from adsuite.connectors.ldap import Directory, Endpoint
from adsuite.engine.session import Session
from adsuite.errors import AdsuiteError, ConnectionFailed, RecoveryError
from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry, Query, by_dns
from adsuite.journal.records import ChangeRecord
from adsuite.journal.store import Journal
from adsuite.recovery import backup as backuplib
from adsuite.recovery import expected as expectedlib
from adsuite.recovery import retention
from adsuite.recovery.scratch import ScratchDC

log = logging.getLogger(__name__)

MODE = "restore_drill"
SERVER_NAME = "ADSDRILL"
READY_TIMEOUT = 600.0
_POLL = 0.5
_PER_FILTER = 200
Step = Callable[[str], None]


@dataclass(frozen=True)
class DrillResult:
    run_id: str
    backup: str
    sha256: str
    seconds: float | None  # restore start to a working DC; None: it never worked
    checked: int
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return self.seconds is not None and not self.problems


@dataclass(frozen=True)
class _Seen:
    ready: float  # time.monotonic() of the first bind
    dcs: tuple[str, ...]
    entries: tuple[Entry, ...]


def newest_backup(session: Session) -> Path:
    folder = Path(backuplib.settings(session).folder)
    names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
    found = retention.backups_of(names, session.domain.realm)
    if not found:
        raise RecoveryError(
            f"no backup of {session.domain.realm} in {folder}", hint="run `adsuite backup` first"
        )
    return folder / found[0].name


def run(session: Session, on_step: Step | None = None) -> DrillResult:
    """Restore, start, time and check; the scratch DC is removed whatever happens."""
    step = on_step or (lambda _text: None)
    path = newest_backup(session)
    step(f"checking {path.name}")
    digest = backuplib.sha256_of(path)
    with Journal.open(session.journal_path) as journal:
        changes = [c for r in journal.runs() for c in journal.changes(r.id)]
        objects = expectedlib.managed_objects(changes)
        problems = _checksum_problems(changes, path.name, digest)
        extra = {"backup": path.name, "backup_sha256": digest, "scratch_dc": SERVER_NAME}
        run_id = journal.start_run(
            mode=MODE,
            operator=backuplib.operator(session),
            inventory=str(session.inventory_path),
            extra=extra,
        )
        try:
            seconds, found = _restore_and_check(session, path, objects, step)
        except BaseException:
            journal.finish_run(run_id, status="failed", counts={"checked": 0})
            raise
        problems += found
        result = DrillResult(run_id, path.name, digest, seconds, len(objects), tuple(problems))
        _journal_end(journal, result)
    return result


def _checksum_problems(changes: list[ChangeRecord], name: str, digest: str) -> list[str]:
    journaled = [
        c.after.get("sha256")
        for c in changes
        if c.resource == backuplib.RESOURCE
        and c.action == "create"
        and c.target == name
        and isinstance(c.after, dict)
    ]
    if not journaled:
        return [f"backup {name}: no backup run journaled it"]
    if journaled[-1] != digest:
        return [f"backup {name}: sha256 {digest} differs from the journaled {journaled[-1]}"]
    return []


def _restore_and_check(
    session: Session, path: Path, objects: list[expectedlib.Expected], step: Step
) -> tuple[float | None, list[str]]:
    config = backuplib.settings(session)
    scratch = ScratchDC(SERVER_NAME, config.scratch_dir)
    try:
        started = time.monotonic()
        step(f"restoring {path.name} as {SERVER_NAME} in a private network namespace")
        scratch.restore(path)
        step("starting the scratch DC")
        scratch.start()
        step("waiting for an LDAPS bind to the scratch DC")
        # a ticket binds sealed on the scratch DC's 389 and asks a service ticket of the
        # KDC its krb5 configuration names for the realm (inside the scratch namespace)
        password = session.login(session.domain.credential)
        endpoint = _endpoint(session, scratch, password)
        base_dn = session.domain.base_dn
        try:
            alive = lambda: scratch.pid() is not None  # noqa: E731
            seen = scratch.run_inside(lambda: _probe(endpoint, password, base_dn, objects, alive))
        except AdsuiteError as error:
            return None, [f"the scratch DC never worked: {error}"]
        step(f"checking {len(objects)} managed objects")
        return seen.ready - started, _isolation(seen, base_dn) + expectedlib.problems(
            objects, seen.entries
        )
    except RecoveryError as error:
        return None, [str(error)]
    finally:
        step("stopping and deleting the scratch DC")
        scratch.remove()


def _endpoint(session: Session, scratch: ScratchDC, signed_in: Login) -> Endpoint:
    username = session.username(signed_in)
    tls_name = f"{scratch.server_name}.{session.domain.realm}".lower()
    return Endpoint("ldaps://127.0.0.1:636", str(scratch.ca_file), tls_name, username)


def _probe(
    endpoint: Endpoint,
    password: Login,
    base_dn: str,
    objects: list[expectedlib.Expected],
    alive: Callable[[], bool],
) -> _Seen:
    directory = _first_bind(endpoint, password, alive)
    ready = time.monotonic()
    with directory:
        dsas = Query(f"CN=Configuration,{base_dn}", "(objectClass=nTDSDSA)", ("objectClass",))
        dcs = tuple(e.dn for e in directory.search(dsas))
        wanted = ("objectClass", *expectedlib.ldap_attributes(objects))
        entries: list[Entry] = []
        for base, dns in _by_partition([o.dn for o in objects], base_dn).items():
            for query in by_dns(base, dns, wanted, per=_PER_FILTER):
                entries += directory.search(query)
    return _Seen(ready, dcs, tuple(entries))


def _by_partition(dns: list[str], base_dn: str) -> dict[str, list[str]]:
    """DNs by the naming context a subtree search must start at: sites and subnets live
    in the configuration partition, which a search of the domain's head never reaches."""
    config = f"CN=Configuration,{base_dn}"
    out: dict[str, list[str]] = {}
    for dn in dns:
        inside = dnlib.key(dn).endswith("," + dnlib.key(config)) or dnlib.key(dn) == dnlib.key(
            config
        )
        out.setdefault(config if inside else base_dn, []).append(dn)
    return out


def _first_bind(endpoint: Endpoint, password: Login, alive: Callable[[], bool]) -> Directory:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            return Directory.connect(endpoint, password, timeout=5)
        except ConnectionFailed as error:
            if not alive():
                raise RecoveryError(f"the scratch DC exited while starting: {error}") from None
            if time.monotonic() > deadline:
                waited = f"{READY_TIMEOUT:.0f} s"
                raise RecoveryError(f"no LDAPS bind within {waited}: {error}") from None
        time.sleep(_POLL)


def _isolation(seen: _Seen, base_dn: str) -> list[str]:
    own = f"CN=NTDS SETTINGS,CN={SERVER_NAME},"
    others = [dn for dn in seen.dcs if not dnlib.normalize(dn).upper().startswith(own)]
    return [f"the restored DC still lists another DC: {dn}" for dn in others]


def _journal_end(journal: Journal, result: DrillResult) -> None:
    for problem in result.problems:
        change = journal.record_intent(
            result.run_id,
            resource=MODE,
            target=result.backup,
            action="check",
            before=None,
            after={"problem": problem},
        )
        journal.record_outcome(result.run_id, change, "failed", problem)
    missing = sum(1 for p in result.problems if p.endswith(": missing"))
    counts = {"checked": result.checked, "missing": missing, "problems": len(result.problems)}
    if result.seconds is not None:
        counts["milliseconds"] = round(result.seconds * 1000)
    journal.finish_run(result.run_id, status="ok" if result.passed else "failed", counts=counts)
