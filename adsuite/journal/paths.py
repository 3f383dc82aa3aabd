"""Where the journal lives when nobody says: ``$ADSUITE_JOURNAL``, else a system or user path."""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

ENV_JOURNAL = "ADSUITE_JOURNAL"
SYSTEM_JOURNAL = Path("/var/lib/adsuite/journal.sqlite")


def default_journal_path(configured_path: Path | None = None) -> Path:
    """``$ADSUITE_JOURNAL`` if set; else *configured_path* (the inventory's ``journal:``);
    else the system path for root; else the user's state dir.

    The user path is ``$XDG_STATE_HOME/adsuite/journal.sqlite`` when XDG_STATE_HOME is an
    absolute path, otherwise ``~/.local/state/adsuite/journal.sqlite`` (the XDG default).
    """
    configured = os.environ.get(ENV_JOURNAL, "")
    if configured:
        return Path(configured).expanduser()
    if configured_path is not None:
        return configured_path
    if _is_root():
        return SYSTEM_JOURNAL
    state_home = os.environ.get("XDG_STATE_HOME", "")
    base = Path(state_home) if os.path.isabs(state_home) else Path.home() / ".local" / "state"
    return base / "adsuite" / "journal.sqlite"


def _is_root() -> bool:
    geteuid = getattr(os, "geteuid", None)
    return geteuid is not None and geteuid() == 0
