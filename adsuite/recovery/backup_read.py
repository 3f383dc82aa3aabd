"""Read objects out of a backup offline: unpack it into a 0700 folder and ``ldbsearch`` its
``private/sam.ldb`` (the database a restore would start from; no DC is started).

This is what ``samba-tool domain backup restore`` itself opens, read with the same
ldb modules, and no network is involved at all, so it is as isolated as the drill's
scratch DC and 100 times quicker (0.1 s against 16 s on the lab). Password hashes are
not asked for. The folder holds every hash of the domain: it is deleted on leaving.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from adsuite.errors import RecoveryError
from adsuite.formats import ldif
from adsuite.formats.ldap_query import Entry, escape
from adsuite.lab.process import find_tool
from adsuite.lab.provision import last_meaningful_line

log = logging.getLogger(__name__)

GUIDS_PER_FILTER = 200
TIMEOUT = 300.0


class BackupReader:
    """An unpacked backup, searched by objectGUID or by subtree."""

    def __init__(self, folder: Path, name: str, base_dn: str) -> None:
        self.sam = folder / "private" / "sam.ldb"
        self.name = name
        self.base_dn = base_dn

    def by_guids(self, guids: Sequence[str]) -> dict[str, Entry]:
        """The backup's copy of each object, keyed by objectGUID (lowercase text)."""
        found: dict[str, Entry] = {}
        for i in range(0, len(guids), GUIDS_PER_FILTER):
            terms = "".join(f"(objectGUID={escape(g)})" for g in guids[i : i + GUIDS_PER_FILTER])
            for entry in self._search(self.base_dn, f"(|{terms})", "sub"):
                guid = entry.text("objectGUID")
                if guid:
                    found[guid.lower()] = entry
        return found

    def subtree(self, dn: str) -> list[Entry]:
        """*dn* and everything below it, as the backup has them."""
        return self._search(dn, "(objectClass=*)", "sub")

    def _search(self, base: str, query: str, scope: str) -> list[Entry]:
        command = [find_tool("ldbsearch"), "-H", str(self.sam), "-b", base, "-s", scope, query]
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        if done.returncode == 32 or "No such Base DN" in done.stderr:
            return []
        if done.returncode != 0:
            reason = last_meaningful_line(done.stderr + done.stdout)
            raise RecoveryError(f"ldbsearch of backup {self.name} failed: {reason}")
        return ldif.parse(done.stdout)


@contextmanager
def opened(backup: Path, base_dn: str, parent: Path | None = None) -> Iterator[BackupReader]:
    """*backup* unpacked into a fresh 0700 folder, deleted when the block ends."""
    folder = Path(tempfile.mkdtemp(prefix="adsuite-recover-", dir=parent))
    try:
        try:
            with tarfile.open(backup, "r:bz2") as tar:
                tar.extractall(folder, filter="data")
        except (tarfile.TarError, OSError) as error:
            raise RecoveryError(f"cannot unpack backup {backup.name}: {error}") from None
        if not (folder / "private" / "sam.ldb").is_file():
            raise RecoveryError(f"backup {backup.name} holds no private/sam.ldb")
        yield BackupReader(folder, backup.name, base_dn)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
