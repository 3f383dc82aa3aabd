"""Drift over time, from the journal's drift runs: findings per day, new and fixed.

Pure functions over :class:`RunRecord` (a drift run keeps its findings in ``extra``).
A finding is one finding however many playbooks see it: its identity is its stable id
and the run's domain (``extra["domain"]``; runs journaled before it was recorded share
one). The latest check of each playbook says what that playbook sees; the union over
playbooks is what is open. A finding is *new* on a day when a check makes it open
after it was not, and *fixed* when a check leaves it open in no playbook's latest
check; each counts once a day. A day's *open* count is that union at the end of the
day. Warnings are counted apart, the same way, and never as drift.

:func:`chart` turns the days into bar geometry for a small inline SVG (no script, no
external file): the report pages draw it with plain ``<rect>`` elements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from adsuite.journal.records import RunRecord

DRIFT_MODE = "drift"


@dataclass(frozen=True)
class Day:
    day: str  # YYYY-MM-DD (UTC)
    open: int  # drift findings shown by the latest check of each playbook by then
    new: int
    fixed: int
    warnings: int
    checks: int  # drift runs that day


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    height: float
    label: str  # a tooltip: "2026-12-01: 3 open, 1 new, 0 fixed"


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bar_width: float
    open: tuple[Bar, ...]
    new: tuple[Bar, ...]
    fixed: tuple[Bar, ...]
    top: int  # the value of the top of the scale
    first: str
    last: str


Identity = tuple[str, str]  # (domain, finding id)


def _ids(run: RunRecord, severity: str) -> frozenset[Identity]:
    found = run.extra.get("findings", [])
    domain = str(run.extra.get("domain") or "")
    return frozenset(
        (domain, str(f.get("id")))
        for f in found
        if isinstance(f, dict)
        and (f.get("severity", "drift") == "warning") == (severity == "warning")
    )


def history(
    runs: Sequence[RunRecord], *, days: int, today: date, playbook: str | None = None
) -> list[Day]:
    """One :class:`Day` per calendar day of the last *days* days up to *today* (UTC),
    from the drift runs (all playbooks, or only *playbook*)."""
    checks = sorted(
        (r for r in runs if r.mode == DRIFT_MODE and (playbook is None or r.playbook == playbook)),
        key=lambda r: (r.started, r.start_seq),
    )
    latest: dict[str, tuple[frozenset[Identity], frozenset[Identity]]] = {}
    moves: dict[str, tuple[set[Identity], set[Identity], list[int]]] = {}  # new, fixed, checks
    standing: dict[str, tuple[int, int]] = {}  # day -> (open, warnings) at its end
    for run in checks:
        day = run.started[:10]
        before = _open(latest)
        latest[run.playbook or ""] = (_ids(run, "drift"), _ids(run, "warning"))
        after = _open(latest)
        new, fixed, counted = moves.setdefault(day, (set(), set(), [0]))
        new |= after - before
        fixed |= before - after
        counted[0] += 1
        warnings = frozenset().union(*(w for _, w in latest.values()))
        standing[day] = (len(after), len(warnings))
    counts = {day: [len(new), len(fixed), n[0]] for day, (new, fixed, n) in moves.items()}
    return _days(today - timedelta(days=days - 1), today, counts, standing)


def _open(latest: dict[str, tuple[frozenset[Identity], frozenset[Identity]]]) -> set[Identity]:
    """What the latest check of any playbook shows: a finding two playbooks see is one."""
    return set().union(*(drift for drift, _ in latest.values()))


def _days(
    first: date, today: date, moves: dict[str, list[int]], standing: dict[str, tuple[int, int]]
) -> list[Day]:
    earlier = [day for day in sorted(standing) if day < first.isoformat()]
    open_now, warnings_now = standing[earlier[-1]] if earlier else (0, 0)
    out: list[Day] = []
    day = first
    while day <= today:
        key = day.isoformat()
        open_now, warnings_now = standing.get(key, (open_now, warnings_now))
        new, fixed, count = moves.get(key, [0, 0, 0])
        out.append(Day(key, open_now, new, fixed, warnings_now, count))
        day += timedelta(days=1)
    return out


def chart(days: Sequence[Day], *, width: int = 720, height: int = 140) -> Chart | None:
    """Bars for open findings per day, with new (up) and fixed (down) beside them;
    None when no drift check ran in the window."""
    if not days or not any(d.checks for d in days):
        return None
    top = max(1, *(max(d.open, d.new, d.fixed) for d in days))
    slot = width / len(days)
    bar = max(1.0, slot / 3 - 1)
    scale = (height - 20) / top
    open_: list[Bar] = []
    new: list[Bar] = []
    fixed: list[Bar] = []
    for i, d in enumerate(days):
        label = f"{d.day}: {d.open} open, {d.new} new, {d.fixed} fixed, {d.checks} checks"
        x = i * slot
        for series, value, offset in ((open_, d.open, 0), (new, d.new, 1), (fixed, d.fixed, 2)):
            h = round(value * scale, 1)
            series.append(Bar(round(x + offset * bar, 1), round(height - h, 1), h, label))
    return Chart(
        width, height, round(bar, 1), tuple(open_), tuple(new), tuple(fixed), top,
        days[0].day, days[-1].day,
    )  # fmt: skip
