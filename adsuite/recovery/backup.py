"""`adsuite backup`: an online backup of the domain's preferred DC into the inventory's
folder, its sha256 and size journaled, then the retention rule, each removal journaled.

``samba-tool domain backup online`` clones the DC's database over DRS and its sysvol
over SMB; it only reads from the DC. It writes into a 0700 temporary folder inside the
backup folder; the tarball is made 0600, hashed, synced and renamed into place, so the
folder never shows a half-written backup. The journal run has mode ``backup``: one
``create`` of resource ``backup`` (after: sha256, size, dc) and one ``delete`` per file
the retention rule removes.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from adsuite.connectors.credentials import Login
from adsuite.connectors.kerberos import Ticket
from adsuite.engine.session import Session
from adsuite.errors import RecoveryError
from adsuite.journal.records import ChangeRecord, RunRecord
from adsuite.journal.store import Journal
from adsuite.recovery import retention, sambatool
from adsuite.runtime.inventory import Backups

log = logging.getLogger(__name__)

MODE = "backup"
RESOURCE = "backup"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class BackupResult:
    run_id: str
    path: Path
    sha256: str
    size: int
    dc: str
    removed: tuple[str, ...]


def settings(session: Session) -> Backups:
    found = session.inventory.backups
    if found is None:
        raise RecoveryError(
            f"{session.inventory_path}: the inventory has no 'backups' section",
            hint="add backups: {folder: ..., keep: 7} (docs/recovery.md)",
        )
    return found


def operator(session: Session, signed_in: Login | None = None) -> dict[str, str]:
    return {"os_user": getpass.getuser(), "bind_identity": session.username(signed_in)}


def missing_on_disk(runs: Sequence[RunRecord], changes: Sequence[ChangeRecord]) -> str | None:
    """Why the newest successful backup the journal names is not on disk as journaled
    (gone, or another size), or None. Its sha256 is checked by every restore drill."""
    done = [r for r in runs if r.mode == MODE and r.status == "ok"]
    if not done:
        return None
    latest = done[0]
    made = [c for c in changes if c.run_id == latest.id and c.resource == RESOURCE
            and c.outcome == "applied" and isinstance(c.after, dict)]  # fmt: skip
    if not made:
        return f"backup run {latest.id} journaled no backup file"
    path = Path(str(latest.extra.get("folder", ""))) / made[0].target
    if not path.is_file():
        return f"{path} is not there (deleted or moved after it was journaled)"
    if path.stat().st_size != made[0].after.get("size"):
        return f"{path} is {path.stat().st_size} bytes, journaled as {made[0].after.get('size')}"
    return None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def take(session: Session, now: datetime | None = None) -> BackupResult:
    """Back up the domain's preferred DC, journal it, then apply the retention rule."""
    config = settings(session)
    folder = Path(config.folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    dc = session.domain.preferred().host
    extra: dict[str, object] = {"dc": dc, "folder": str(folder)}
    extra |= {"realm": session.domain.realm.lower(), "stale_after_hours": config.stale_after_hours}
    signed_in = session.login(session.domain.credential)  # a password or a Kerberos ticket
    with Journal.open(session.journal_path) as journal:
        run_id = journal.start_run(
            mode=MODE,
            operator=operator(session, signed_in),
            inventory=str(session.inventory_path),
            extra=extra,
        )
        try:
            path, digest, size = _backup_into(session, signed_in, journal, run_id, folder)
            removed = _apply_retention(session, config, journal, run_id, now)
        except BaseException:
            journal.finish_run(run_id, status="failed", counts={"created": 0})
            raise
        counts = {"created": 1, "removed": len(removed), "bytes": size}
        journal.finish_run(run_id, status="ok", counts=counts)
    return BackupResult(run_id, path, digest, size, dc, tuple(removed))


def _backup_into(
    session: Session, signed_in: Login, journal: Journal, run_id: str, folder: Path
) -> tuple[Path, str, int]:
    dc = session.domain.preferred().host
    # Kerberos asks a ticket for the DC's name (cifs/, ldap/), which must resolve here
    server = session.domain.preferred().tls_name or dc if isinstance(signed_in, Ticket) else dc
    work = Path(tempfile.mkdtemp(prefix=".backup-", dir=folder))
    try:
        args = ["domain", "backup", "online", f"--server={server}", f"--targetdir={work}"]
        sambatool.run(args, password=signed_in, username=session.username(signed_in))
        made = [p for p in work.iterdir() if retention.parse_name(p.name) is not None]
        if len(made) != 1:
            raise RecoveryError(f"samba-tool left {len(made)} backup files in {work}, not one")
        tarball = made[0]
        os.chmod(tarball, 0o600)
        _fsync(tarball)
        digest, size = sha256_of(tarball), tarball.stat().st_size
        final = folder / tarball.name
        after = {"sha256": digest, "size": size, "dc": dc}
        change = journal.record_intent(
            run_id, resource=RESOURCE, target=final.name, action="create", before=None, after=after
        )
        os.replace(tarball, final)
        _fsync(folder)
        journal.record_outcome(run_id, change, "applied")
        log.info("backup %s: %d bytes, sha256 %s", final, size, digest)
        return final, digest, size
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _apply_retention(
    session: Session, config: Backups, journal: Journal, run_id: str, now: datetime | None
) -> list[str]:
    folder = Path(config.folder)
    present = retention.backups_of(os.listdir(folder), session.domain.realm)
    doomed = retention.to_remove(
        present, keep=config.keep, max_age_days=config.max_age_days, now=now or datetime.now(UTC)
    )
    removed = []
    for backup in doomed:
        path = folder / backup.name
        before = {"size": path.stat().st_size, "taken": backup.taken.isoformat()}
        change = journal.record_intent(
            run_id,
            resource=RESOURCE,
            target=backup.name,
            action="delete",
            before=before,
            after=None,
        )
        path.unlink()
        journal.record_outcome(run_id, change, "applied")
        removed.append(backup.name)
    if removed:
        _fsync(folder)
    return removed


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
