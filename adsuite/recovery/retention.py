"""Which backup files a folder holds and which the retention rule removes: pure, no I/O.

A Samba online backup is named ``samba-backup-<realm>-<YYYY-MM-DDTHH-MM-SS.ffffff>.tar.bz2``
(samba-tool names it so); the time in the name is when it was taken, in UTC. The rule
keeps the ``keep`` newest and removes the rest that are older than ``max_age_days``
(all the rest when no age is set). The newest backup is never removed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

log = logging.getLogger(__name__)

_NAME = re.compile(
    r"^samba-backup-(?P<realm>[A-Za-z0-9.-]+)-"
    r"(?P<taken>\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{6})\.tar\.bz2$"
)


@dataclass(frozen=True)
class BackupFile:
    """One backup file in the folder: its name, the realm it holds and when it was taken."""

    name: str
    realm: str
    taken: datetime


def parse_name(name: str) -> BackupFile | None:
    """The backup a file name describes, or None for any other file."""
    match = _NAME.match(name)
    if match is None:
        return None
    taken = datetime.strptime(match["taken"], "%Y-%m-%dT%H-%M-%S.%f").replace(tzinfo=UTC)
    return BackupFile(name, match["realm"].lower(), taken)


def backups_of(names: Iterable[str], realm: str) -> list[BackupFile]:
    """The backups of *realm* among *names*, newest first."""
    found = [b for b in map(parse_name, names) if b is not None and b.realm == realm.lower()]
    return sorted(found, key=lambda b: b.taken, reverse=True)


def to_remove(
    backups: Sequence[BackupFile], *, keep: int, max_age_days: int | None, now: datetime
) -> list[BackupFile]:
    """The backups the rule removes (oldest first); *backups* newest first."""
    if keep < 1:
        raise ValueError("keep must be at least 1: the newest backup is never removed")
    beyond = backups[keep:]
    if max_age_days is not None:
        cutoff = now - timedelta(days=max_age_days)
        beyond = [b for b in beyond if b.taken < cutoff]
    return sorted(beyond, key=lambda b: b.taken)
