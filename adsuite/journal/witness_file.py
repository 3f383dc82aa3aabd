"""The file witness: one JSON line per witnessed head, appended, never rewritten.

Point it at a file the journal's writers cannot rewrite — a remote mount, a file
shipped by syslog, or a local file made append-only (``chattr +a``) — and it keeps the
whole history of heads, not only the last one.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from pathlib import Path

from adsuite.errors import JournalError
from adsuite.journal.witness import Head

log = logging.getLogger(__name__)


class FileWitness:
    """Heads appended to *path* (created 0600), the last line for a journal is its head."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def name(self) -> str:
        return f"file witness {self.path}"

    def read(self, journal: str) -> Head | None:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise JournalError(f"cannot read {self.path}: {exc.strerror}") from None
        for number, line in reversed(list(enumerate(lines, 1))):
            if _journal_of(line) == journal:
                try:
                    return Head.from_json(line)
                except JournalError as exc:
                    raise JournalError(f"{self.path}:{number}: {exc}") from None
        return None

    def prepare(self) -> None:
        """Nothing to open ahead: the file is appended to when the run ends."""

    def write(self, head: Head) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # two runs ending together: one reads, then appends
            seen = self.read(head.journal)
            if seen is not None and seen.journal_id == head.journal_id and seen.seq >= head.seq:
                log.info("journal head %d: %s is already past it", head.seq, self.path)
                return
            os.write(fd, (head.to_json() + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        log.info("journal head %d witnessed in %s", head.seq, self.path)


def _journal_of(line: str) -> str | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    name = data.get("journal") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None
