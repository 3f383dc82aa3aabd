"""Which clauses of the regulations a journaled run counts towards, from the compliance
map: the clauses naming its playbook (or, for an umbrella like site.yml, a playbook it
imports) and those whose evidence is runs of its mode. Used to label the SIEM stream."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from adsuite.compliance.clause_map import load_map, umbrella_imports

log = logging.getLogger(__name__)

# evidence sources that are runs of one mode (compliance_map.Evidence.source)
SOURCE_MODES = {"health": "health", "restore_drill": "restore_drill", "backups": "backup"}


def clause_index(path: Path) -> Callable[[str, str | None], list[str]]:
    """``(mode, playbook path) -> clause ids`` from the compliance map at *path*.

    Playbooks are matched by file name (``site.yml``): a run records the path it was
    given, the map names files relative to its own folder.
    """
    loaded = load_map(path)
    by_mode: dict[str, list[str]] = {}
    by_playbook: dict[str, list[str]] = {}
    for clause in loaded.map.clauses:
        for evidence in clause.evidence:
            modes = evidence.modes if evidence.source == "runs" else []
            mode = SOURCE_MODES.get(evidence.source)
            for name in [*modes, *([mode] if mode else [])]:
                by_mode.setdefault(name, []).append(clause.id)
        for playbook in clause.playbooks:
            by_playbook.setdefault(Path(playbook).name, []).append(clause.id)
    umbrellas = umbrella_imports(loaded)

    def clauses(mode: str, playbook: str | None) -> list[str]:
        found = list(by_mode.get(mode, []))
        if playbook:
            name = Path(playbook).name
            for imported in sorted(umbrellas.get(name, frozenset())) or [name]:
                found += by_playbook.get(Path(imported).name, [])
        return list(dict.fromkeys(found))

    return clauses
