"""A loaded playbook: plays of validated tasks, each with the file and line it came from.

Plain frozen records, built by engine/loader.py (or rebuilt from the playbook cache,
engine/playbook_cache.py) and read by the planner, rollback and tickets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from adsuite.errors import InputError
from adsuite.resources import registry
from adsuite.resources.base import Desired
from adsuite.source import Location


@dataclass(frozen=True, slots=True)
class Task:
    kind: str
    name: str
    spec: BaseModel
    location: Location
    loop_index: int | None  # 0-based index into the loop's list; None without a loop


@dataclass(frozen=True)
class Play:
    name: str
    domain: str | None  # the inventory's domain key, resolved when the play omits it
    tasks: tuple[Task, ...]
    location: Location


@dataclass(frozen=True)
class Playbook:
    path: Path
    sha256: str
    plays: tuple[Play, ...]
    files: tuple[Path, ...]

    def domains(self) -> set[str | None]:
        """The domain each play targets (the inventory's key; None: the default)."""
        return {play.domain for play in self.plays}


class Deferred(Playbook):
    """A playbook known from its cache entry — its digest, the files its load read and
    the domains its plays target — whose plays are loaded when first asked for: a drift
    that recalls its last outcome (engine/drift_memo.py) never asks."""

    def __init__(
        self,
        path: Path,
        sha256: str,
        files: tuple[Path, ...],
        domains: set[str | None],
        load: Callable[[], Playbook],
    ) -> None:
        for name, value in (("path", path), ("sha256", sha256), ("files", files)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_domains", domains)
        object.__setattr__(self, "_load", load)

    def __getattr__(self, name: str) -> Any:
        if name != "plays":
            raise AttributeError(name)
        plays = self._load().plays  # once: it is an attribute from then on
        object.__setattr__(self, "plays", plays)
        return plays

    def domains(self) -> set[str | None]:
        return set(self._domains)


def desired_by_kind(playbook: Playbook) -> dict[str, list[Desired]]:
    out: dict[str, list[Desired]] = {name: [] for name in registry.KINDS}
    for play in playbook.plays:
        for task in play.tasks:
            out[task.kind].append(Desired(task.spec, task.location, task.name))
    return out


def check_duplicates(desired: Mapping[str, Sequence[Desired]]) -> None:
    """Refuse one object declared twice, whatever the values and whichever playbooks
    (imports included) declare it: which one would win is not something to guess."""
    for kind, items in desired.items():
        identity = registry.KINDS[kind].identity if items else None  # import no unused kind
        if identity is None:
            continue
        seen: dict[str, Desired] = {}
        for item in items:
            key = identity(item.spec)
            if key in seen:
                first = seen[key].location
                raise InputError(
                    f"{kind} {key!r} is declared twice (first at {first})",
                    file=item.location.file,
                    line=item.location.line,
                )
            seen[key] = item
