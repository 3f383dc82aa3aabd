"""The compliance map (``playbooks/compliance.yml``): each clause of the regulations and
what enforces and proves it, as data.

A clause names the playbooks whose drift state is its state, the ticket types (rules
in the approvals file) that carry it out, and other journal evidence (runs of some
modes, reads of the journal, before-images, the hash chain). Clauses adsuite does not
touch are listed as out of scope. Every mistake is one ``file:line`` InputError.
Playbook and approvals paths are relative to the map's folder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from adsuite.errors import InputError
from adsuite.formats.yaml_source import LocatedValueError, SourceDoc, read_yaml, validation_error

log = logging.getLogger(__name__)

DEFAULT_MAP = "playbooks/compliance.yml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Evidence(_Model):
    """One source of evidence beside playbooks and tickets."""

    source: Literal[
        "runs",
        "access",
        "before_images",
        "chain",
        "privileged_use",
        "audit_trail",
        "restore_drill",  # 四.5: the newest drill passed, in under target_hours
        "backups",  # 四.5: the newest backup is younger than within_hours
        "health",  # 四.1: the newest health check in within_hours was healthy
    ]
    what: str = Field(min_length=1)
    modes: list[str] = Field(default_factory=list)
    within_days: int | None = Field(default=None, ge=1)
    within_hours: int | None = Field(default=None, ge=1)
    require_ticket: bool = False
    approved_by: str | None = Field(default=None, min_length=1)  # access: the approver role
    target_hours: int | None = Field(default=None, ge=1)  # restore_drill: time to a working DC

    @model_validator(mode="after")
    def _fits_source(self) -> Evidence:
        if self.source == "runs" and not self.modes:
            raise LocatedValueError("evidence from runs needs 'modes' (e.g. [drift])", ())
        if self.source != "runs" and self.modes:
            raise LocatedValueError(f"'modes' is for runs, not {self.source}", ("modes",))
        timed = ("runs", "health", "restore_drill", "backups")
        if self.source not in timed and self.within_hours is not None:
            raise LocatedValueError(
                f"'within_hours' is for runs, health, restore_drill and backups, not {self.source}",
                ("within_hours",),
            )
        if (self.target_hours is None) != (self.source != "restore_drill"):
            raise LocatedValueError(
                "'target_hours' is for restore_drill, which needs it", ("target_hours",)
            )
        if self.source == "restore_drill" and self.within_hours is None:
            raise LocatedValueError("restore_drill needs 'within_hours'", ("within_hours",))
        if self.source == "health" and self.within_hours is None:
            raise LocatedValueError("evidence from health needs 'within_hours' (e.g. 24)", ())
        if self.require_ticket and self.source not in ("runs", "access"):
            raise LocatedValueError(
                f"'require_ticket' is for runs and access, not {self.source}", ("require_ticket",)
            )
        if self.approved_by is not None and self.source != "access":
            raise LocatedValueError(
                f"'approved_by' is for access, not {self.source}", ("approved_by",)
            )
        return self


class Clause(_Model):
    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    source: str | None = None
    requirement: str = Field(min_length=1)
    text_zh: str | None = None
    enforced_by: str = Field(min_length=1)
    remedy: str | None = Field(default=None, min_length=1)  # what to do when it is not compliant
    playbooks: list[str] = Field(default_factory=list)
    tickets: list[str] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)

    @model_validator(mode="after")
    def _listed_once(self) -> Clause:
        for field in ("playbooks", "tickets"):
            names: list[str] = getattr(self, field)
            for index, name in enumerate(names):
                if name in names[:index]:
                    raise LocatedValueError(f"{name} is listed twice", (field, index))
        return self


class OutOfScope(_Model):
    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    text_zh: str | None = None
    reason: str = Field(min_length=1)


class ComplianceMap(_Model):
    approvals: str = "approvals.yml"
    umbrellas: list[str] = Field(default_factory=list)
    checks: list[str] = Field(default_factory=list)  # playbooks of directory-wide checks
    evidence_days: int = Field(default=31, ge=1)
    clauses: list[Clause] = Field(min_length=1)
    out_of_scope: list[OutOfScope] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> ComplianceMap:
        for index, clause in enumerate(self.clauses):
            if not (clause.playbooks or clause.tickets or clause.evidence or self.checks):
                raise LocatedValueError(
                    f"clause {clause.id} names no playbooks, tickets or evidence and the map "
                    "lists no checks; list it under out_of_scope if adsuite does not enforce it",
                    ("clauses", index),
                )
        seen: set[str] = set()
        listed = [("clauses", i, c.id) for i, c in enumerate(self.clauses)]
        listed += [("out_of_scope", i, c.id) for i, c in enumerate(self.out_of_scope)]
        for section, index, clause_id in listed:
            if clause_id in seen:
                raise LocatedValueError(f"clause {clause_id} is listed twice", (section, index))
            seen.add(clause_id)
        return self


@dataclass(frozen=True)
class LoadedMap:
    map: ComplianceMap
    doc: SourceDoc
    path: Path

    @property
    def folder(self) -> Path:
        return self.path.parent

    def resolve(self, name: str) -> Path:
        """A path the map names, relative to the map's folder."""
        return self.folder / name

    def line_of(self, *path: str | int) -> int:
        return self.doc.line_for(path)

    def ticket_error(self, clause_index: int, ticket_index: int, message: str) -> InputError:
        return self.doc.error(("clauses", clause_index, "tickets", ticket_index), message)

    def playbook_names(self) -> list[str]:
        """Every playbook the clauses name, then the check playbooks, once each."""
        named = [n for c in self.map.clauses for n in c.playbooks]
        return list(dict.fromkeys([*named, *self.map.checks]))


def load_map(path: Path) -> LoadedMap:
    """Read and validate the compliance map at *path*."""
    doc, _ = read_yaml(path, str(path))
    if not isinstance(doc.data, dict):
        raise doc.error((), "the compliance map must be a mapping with 'clauses'")
    try:
        loaded = ComplianceMap.model_validate(doc.data)
    except ValidationError as exc:
        raise validation_error(
            doc, exc, base=(), what="compliance map", model=ComplianceMap
        ) from None
    log.debug("compliance map: %d clauses from %s", len(loaded.clauses), path)
    return LoadedMap(loaded, doc, path)


def umbrella_imports(loaded: LoadedMap) -> dict[str, frozenset[str]]:
    """For each umbrella playbook (site.yml), the file names it imports, however deep.

    Read shallowly (only ``import_playbook`` items), so a playbook that does not load
    still counts; an umbrella that does not exist imports nothing.
    """
    found: dict[str, frozenset[str]] = {}
    for name in loaded.map.umbrellas:
        path = loaded.resolve(name)
        found[path.name] = frozenset(_imports(path, set())) if path.exists() else frozenset()
    return found


def _imports(path: Path, seen: set[Path]) -> set[str]:
    resolved = path.resolve()
    if resolved in seen:
        return set()
    seen.add(resolved)
    doc, _ = read_yaml(path, str(path))
    items: list[Any] = doc.data if isinstance(doc.data, list) else []
    names: set[str] = set()
    for item in items:
        target = item.get("import_playbook") if isinstance(item, dict) else None
        if isinstance(target, str):
            child = path.parent / target
            names.add(child.name)
            if child.exists():
                names |= _imports(child, seen)
    return names
