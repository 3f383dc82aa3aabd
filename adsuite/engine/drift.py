"""Drift: the planned changes of a check, as findings in words with stable ids.

A finding's id depends on what drifted (kind, object, which attributes or members),
not on the values, so the same drift keeps its id from one check to the next and
``adsuite drift --compare`` can say what is new, what is fixed and what persists.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from adsuite.engine.planner import Plan
from adsuite.formats import dn as dnlib
from adsuite.resources import registry
from adsuite.resources.base import Action, Change, Notice

WORDS = {Action.CREATE: "missing", Action.UPDATE: "differs", Action.DELETE: "should be absent"}


@dataclass(frozen=True)
class Finding:
    id: str
    kind: str
    target: str
    text: str
    source: str | None
    severity: str = "drift"  # drift | warning (a warning is shown, never counted as drift)
    clause: str | None = None  # a directory-wide check's clause: the one it counts against

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.clause is None:  # only checks name a clause; other findings read as before
            del out["clause"]
        return out


@dataclass(frozen=True)
class Outcome:
    """A drift check's result as data: what is rendered and journaled, and what a later
    check that finds nothing changed recalls instead of planning again (drift_memo)."""

    domain: str
    base_dn: str
    counts: dict[str, int]
    objects_read: int
    queries: int
    changes: tuple[dict[str, Any], ...]  # each planned change's summary (Change.summary)
    notices: tuple[dict[str, str], ...]
    findings: tuple[Finding, ...]
    actions: tuple[str | None, ...]  # per finding: its change's action; None for a notice

    @property
    def drifted(self) -> list[Finding]:
        return drifted(self.findings)


@dataclass(frozen=True)
class Comparison:
    new: tuple[Finding, ...]
    fixed: tuple[Finding, ...]
    persisting: tuple[Finding, ...]


MAX_SHOWN = 2048  # characters of one value in a plan line; the schema's limits are lower


def show(value: Any) -> str:
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = json.dumps(value) if isinstance(value, bool) or value is None else str(value)
    if len(text) <= MAX_SHOWN:
        return text
    return f"{text[:MAX_SHOWN]}… ({len(text)} characters)"


def describe(change: Change) -> str:
    """One line an administrator reads: what is wrong with the object."""
    what = f"{change.kind} {change.target}: {WORDS[change.action]}"
    details = details_of(change)
    return f"{what}: {'; '.join(details)}" if details else what


def details_of(change: Change) -> list[str]:
    own = kind_words(change, drift=True)
    if own is not None:
        return own
    before, after = change.before or {}, change.after or {}
    if change.kind == "membership":
        lacks = [f"lacks member {dn}" for dn in after.get("added", [])]
        return lacks + [f"has unwanted member {dn}" for dn in before.get("removed", [])]
    if change.action is not Action.UPDATE:
        return []
    return [f"{key} is {show(before.get(key))}, want {show(value)}" for key, value in after.items()]


def kind_words(change: Change, *, drift: bool) -> list[str] | None:
    """Lines from a kind that words its own changes (file_acl: ACEs, with the approver)."""
    kind = registry.KINDS.get(change.kind)
    if kind is None or kind.describe is None:
        return None
    return list(kind.describe(change, drift=drift))


def _target_key(target: str) -> str:
    return dnlib.key(target) if dnlib.looks_like_dn(target) else target.lower()


def finding_id(change: Change) -> str:
    before, after = change.before or {}, change.after or {}
    kind = registry.KINDS.get(change.kind)
    own = kind.finding_aspects if kind is not None else None
    if own is not None:  # a kind that says what its finding is about (ticketed_membership)
        aspects = list(own(change))
    elif change.kind == "membership":
        aspects = sorted(f"+{dnlib.key(d)}" for d in after.get("added", []))
        aspects += sorted(f"-{dnlib.key(d)}" for d in before.get("removed", []))
    else:
        aspects = sorted(set(before) | set(after))
    raw = "|".join([change.kind, str(change.action), _target_key(change.target), *aspects])
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:12]


def findings(plan: Plan) -> list[Finding]:
    found = [
        Finding(finding_id(c), c.kind, c.target, describe(c), str(c.source) if c.source else None)
        for c in plan.changes
    ]
    return found + [notice_finding(n) for n in plan.notices]


def outcome(plan: Plan) -> Outcome:
    """The outcome of a drift check that planned *plan*."""
    found = findings(plan)
    notices = tuple(
        {"kind": n.kind, "target": n.target, "severity": n.severity, "text": n.text}
        for n in plan.notices
    )
    actions = tuple([str(c.action) for c in plan.changes] + [None] * len(plan.notices))
    changes = tuple(c.summary() for c in plan.changes)
    return Outcome(
        plan.domain, plan.base_dn, plan.counts(), plan.objects_read, plan.queries,
        changes, notices, tuple(found), actions,
    )  # fmt: skip


def notice_finding(notice: Notice) -> Finding:
    """A finding no write can fix; its id ignores numbers (a password's age grows daily)."""
    words = re.sub(r"\d+", "#", notice.text)
    raw = "|".join([notice.kind, "notice", _target_key(notice.target), notice.severity, words])
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:12]
    text = f"{notice.kind} {notice.target}: {notice.text}"
    source = str(notice.source) if notice.source else None
    return Finding(digest, notice.kind, notice.target, text, source, notice.severity, notice.clause)


def drifted(found: Sequence[Finding]) -> list[Finding]:
    """The findings that count as drift (warnings do not)."""
    return [f for f in found if f.severity != "warning"]


def compare(current: Sequence[Finding], previous: Sequence[Mapping[str, Any]]) -> Comparison:
    """Classify *current* against the findings of an earlier check (as journaled)."""
    before = {f["id"]: Finding(**f) for f in previous}
    now = {f.id: f for f in current}
    return Comparison(
        new=tuple(f for i, f in now.items() if i not in before),
        fixed=tuple(f for i, f in before.items() if i not in now),
        persisting=tuple(f for i, f in now.items() if i in before),
    )
