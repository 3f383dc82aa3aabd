"""A loaded playbook: plays of validated tasks, each with the file and line it came from.

Plain frozen records, built by engine/loader.py (or rebuilt from the playbook cache,
engine/playbook_cache.py) and read by the planner, rollback and tickets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

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
