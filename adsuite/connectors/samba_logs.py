"""Reading a Samba DC's JSON audit logs from a folder (local, or where syslog puts them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from adsuite.errors import ConnectionFailed

DSDB_LOG = "dsdb_audit.log"
AUTH_LOG = "auth_audit.log"


def lines(folder: Path, name: str) -> Iterator[str]:
    """The lines of one audit log, oldest first (a rotated ``NAME.old`` first, if present)."""
    paths = [p for p in (folder / f"{name}.old", folder / name) if p.exists()]
    if not paths:
        raise ConnectionFailed(f"{folder / name}: no such audit log", hint="check samba_audit_dir")
    for path in paths:
        try:
            with path.open(encoding="utf-8", errors="replace") as handle:
                yield from handle
        except OSError as error:
            raise ConnectionFailed(f"{path}: cannot read ({error.strerror})") from None
