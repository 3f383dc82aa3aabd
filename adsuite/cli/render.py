"""How plans, drift and apply results look: text for people, JSON/JUnit/HTML for tools."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from adsuite.cli.console import json_text
from adsuite.engine import drift
from adsuite.engine.planner import Plan
from adsuite.resources.base import Action, Change

if TYPE_CHECKING:  # the HTML and JUnit parts import theirs when asked for (jinja2, xml.sax)
    from adsuite.engine.session import ApplyResult
    from adsuite.journal.records import RunRecord

SIGNS = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-"}
COLOURS = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.DELETE: "red"}
value = drift.show
HISTORY_DAYS = 30  # the drift and compliance pages chart this many days of checks


def attribute_lines(change: Change) -> list[str]:
    """The attribute-level diff of one change, one line per attribute or member."""
    own = drift.kind_words(change, drift=False)
    if own is not None:
        return own
    before, after = change.before or {}, change.after or {}
    lines = (
        [f"+ member {dn}" for dn in after.get("added", [])] if change.kind == "membership" else []
    )
    lines += (
        [f"- member {dn}" for dn in before.get("removed", [])]
        if change.kind == "membership"
        else []
    )
    if change.kind == "membership":
        return lines
    if change.action is Action.CREATE:
        return [f"{k}: {value(v)}" for k, v in after.items()]
    if change.action is Action.DELETE:
        return [f"{k}: {value(v)}" for k, v in before.items() if v not in (None, "", [])]
    return [f"{k}: {value(before.get(k))} → {value(after[k])}" for k in after]


def plan_text(plan: Plan, playbook: str, *, markup: bool = True) -> str:
    lines = [f"Plan for domain {plan.domain} ({plan.base_dn}) from {playbook}"]
    for change in plan.changes:
        sign, colour = SIGNS[change.action], COLOURS[change.action]
        head = f"{sign} {change.kind:<10} {change.target}"
        lines.append(f"[{colour}]{_esc(head)}[/{colour}]" if markup else head)
        lines += [f"      {_esc(line) if markup else line}" for line in attribute_lines(change)]
    for notice in plan.notices:  # findings no write can fix: shown, never applied
        head = f"! {notice.kind:<10} {notice.target}: {notice.severity}: {notice.text}"
        lines.append(f"[magenta]{_esc(head)}[/magenta]" if markup else head)
    lines.append(plan_summary(plan))
    return "\n".join(lines)


def plan_summary(plan: Plan) -> str:
    c = plan.counts()
    if plan.empty:
        return f"No changes: the domain matches the playbook. ({_read(plan)})"
    counts = f"{c['create']} to create, {c['update']} to update, {c['delete']} to delete"
    return f"Plan: {counts}. ({_read(plan)})"


def _read(plan: Plan | drift.Outcome) -> str:
    return f"read {plan.objects_read} objects in {plan.queries} queries"


def plan_json(plan: Plan, playbook: str, mode: str) -> str:
    return json_text(plan_doc(plan, playbook, mode))


def plan_doc(plan: Plan, playbook: str, mode: str, *, stream: bool = False) -> dict[str, Any]:
    """A plan as JSON data: the shape `plan`, `apply`, `rollback` and `drift` share.

    With *stream*, ``changes`` is an iterator of their summaries, for ``emit_json``:
    a 200,000-change plan's summaries are never all held at once."""
    summaries = (c.summary() for c in plan.changes)
    notices = [
        {"kind": n.kind, "target": n.target, "severity": n.severity, "text": n.text}
        for n in plan.notices
    ]
    head = (mode, playbook, plan.domain, plan.base_dn, plan.counts())
    return _doc(*head, summaries if stream else list(summaries), notices)


def _doc(
    mode: str,
    playbook: str,
    domain: str,
    base_dn: str,
    counts: Mapping[str, int],
    changes: Any,
    notices: Sequence[Mapping[str, str]],
) -> dict[str, Any]:
    return {
        "mode": mode,
        "playbook": playbook,
        "domain": domain,
        "base_dn": base_dn,
        "counts": dict(counts),
        "changes": changes,
        "notices": list(notices),
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def reading_line(reading: Mapping[str, Any], now: datetime | None = None) -> str:
    """How a drift read the directory, in words (docs/drift.md)."""
    if reading.get("read") != "incremental":
        return f"read in full: {reading.get('full_because') or 'no snapshot was used'}"
    n = reading.get("changed_objects") or 0
    line = f"read incrementally: {n} object{'s' if n != 1 else ''} changed since USN "
    line += str(reading.get("usn_mark"))
    try:
        full_at = datetime.fromisoformat(str(reading["full_read_at"]))
    except (KeyError, ValueError):
        return line
    seconds = max(0.0, ((now or datetime.now(UTC)) - full_at).total_seconds())
    line = f"{line} (full read {_ago(seconds)})"
    recalled = reading.get("recalled_from")
    if recalled:  # engine/drift_memo.py: every search returned what the last check read
        line += f"; nothing the checks read changed: the findings of run {recalled} stand"
    return line


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.0f} h ago"


def drift_text(
    outcome: drift.Outcome,
    playbook: str,
    comparison: drift.Comparison | None = None,
    reading: Mapping[str, Any] | None = None,
) -> str:
    lines = [f"Drift check of domain {outcome.domain} against {playbook}"]
    if reading is not None:
        lines.append(f"  {reading_line(reading)}")
    for found in outcome.findings:
        where = f"  (declared at {found.source})" if found.source else ""
        label = "DRIFT" if found.severity != "warning" else "WARN "
        if comparison is not None:
            label = "NEW  " if found in comparison.new else "STILL"
        lines.append(f"  {label} [{found.id}] {found.text}{where}")
    if comparison is not None:
        lines += [f"  FIXED [{f.id}] {f.text}" for f in comparison.fixed]
    n = len(outcome.drifted)
    lines.append("Clean: no drift." if not n else f"Drift: {n} finding{'s' if n != 1 else ''}.")
    if comparison is not None:
        c = comparison
        lines[-1] += f" {len(c.new)} new, {len(c.persisting)} still there, {len(c.fixed)} fixed."
    lines[-1] += f" ({_read(outcome)})"
    return "\n".join(lines)


def drift_json(
    outcome: drift.Outcome,
    playbook: str,
    comparison: drift.Comparison | None = None,
    run_id: str | None = None,
    reading: Mapping[str, Any] | None = None,
) -> str:
    doc: dict[str, Any] = {"run_id": run_id} if run_id is not None else {}
    head = ("drift", playbook, outcome.domain, outcome.base_dn, outcome.counts)
    doc |= _doc(*head, list(outcome.changes), outcome.notices)
    doc["findings"] = [f.to_dict() for f in outcome.findings]
    if reading is not None:
        doc["reading"] = dict(reading)
    if comparison is not None:
        doc["compare"] = {
            "new": [f.id for f in comparison.new],
            "persisting": [f.id for f in comparison.persisting],
            "fixed": [f.to_dict() for f in comparison.fixed],
        }
    return json_text(doc)


def drift_junit(outcome: drift.Outcome, playbook: str) -> str:
    from xml.sax.saxutils import quoteattr  # imports urllib and http: only for JUnit

    cases = [
        f"  <testcase classname={quoteattr(f.kind)} name={quoteattr(f.target)}>"
        f"<failure message={quoteattr(f.text)}>{_as_json(f.to_dict())}</failure></testcase>"
        for f in outcome.findings
    ]
    if not cases:
        name = quoteattr(f"{outcome.domain} matches {playbook}")
        cases = [f'  <testcase classname="drift" name={name}/>']
    failures = len(outcome.drifted)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuite name={quoteattr("adsuite drift " + playbook)} tests="{len(cases)}" '
        f'failures="{failures}" errors="0">\n' + "\n".join(cases) + "\n</testsuite>\n"
    )


def _as_json(data: Any) -> str:
    from xml.sax.saxutils import escape

    return escape(json.dumps(data, ensure_ascii=False))


def drift_html(
    outcome: drift.Outcome,
    playbook: str,
    companies: Sequence[str] = (),
    runs: Sequence[RunRecord] = (),
    run_id: str | None = None,
) -> str:
    """The drift page: summary, history from the journal's drift *runs*, findings."""
    from adsuite.engine import drift_page  # the page's parts and jinja2: only for HTML
    from adsuite.journal import drift_history
    from adsuite.templates import environment

    now = datetime.now(UTC)
    days = drift_history.history(runs, days=HISTORY_DAYS, today=now.date(), playbook=playbook)
    page = drift_page.build(
        outcome,
        playbook,
        companies,
        generated=now.strftime("%Y-%m-%d %H:%M UTC"),
        days=days,
        chart=drift_history.chart(days),
        run_id=run_id,
    )
    return environment().get_template("reports/drift.html.j2").render(p=page)


def apply_summary(result: ApplyResult) -> str:
    c = result.counts()
    return (
        f"Applied {c['applied']}, failed {c['failed']}, conflict {c['conflict']}, "
        f"skipped {c['skipped']}. Journal run {result.run_id}."
    )


def result_doc(result: ApplyResult) -> dict[str, Any]:
    """What a run did, as JSON data: its status, counts and one entry per change."""
    return {
        "run_id": result.run_id,
        "status": result.status,
        "counts": result.counts(),
        "outcomes": [
            {"target": o.change.target, "kind": o.change.kind, "outcome": o.outcome}
            | ({"error": o.error} if o.error else {})
            for o in result.outcomes
        ],
    }


def applied_doc(plan: Plan, result: ApplyResult, playbook: str, mode: str) -> dict[str, Any]:
    """`apply` and `rollback` in JSON: the run id, the plan that ran, and its result."""
    return {"run_id": result.run_id, **plan_doc(plan, playbook, mode), "result": result_doc(result)}


def outcome_lines(result: ApplyResult) -> list[str]:
    """One line per failed, conflicting or skipped change; after a lost DC one line for
    all the changes skipped because of it."""
    lines: list[str] = []
    lost = [o for o in result.outcomes if o.outcome == "skipped" and o.lost]
    for o in result.outcomes:
        if o.outcome in ("failed", "conflict"):
            lines.append(f"{o.outcome.upper()}: {o.change.kind} {o.change.target}: {o.error}")
        elif o.outcome == "skipped" and not o.lost:
            lines.append(f"SKIPPED: {o.change.kind} {o.change.target}: {o.error}")
    if lost:
        lines.append(f"SKIPPED {len(lost)} changes after it: {lost[0].error}")
    return lines


def _esc(text: str) -> str:
    return text.replace("[", "\\[")


def counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())
