"""Drift over time from journaled drift runs: new and fixed per playbook, open per day."""

from __future__ import annotations

import dataclasses
from datetime import date

from adsuite.journal import drift_history
from adsuite.journal.records import RunRecord


def _run(started: str, playbook: str, ids: list[str], warnings: list[str] = ()) -> RunRecord:  # type: ignore[assignment]
    found = [{"id": i, "severity": "drift"} for i in ids]
    found += [{"id": i, "severity": "warning"} for i in warnings]
    return RunRecord(
        started, started, started, "drift", "ok", {}, playbook, "x", None, None, {},
        {"findings": found}, "host", 1, 1,
    )  # fmt: skip


def test_new_and_fixed_are_counted_per_playbook_and_open_carries_over_quiet_days() -> None:
    runs = [
        _run("2026-12-01T08:00:00Z", "a.yml", ["x", "y"], ["w"]),
        _run("2026-12-01T09:00:00Z", "b.yml", ["z"]),
        _run("2026-12-03T08:00:00Z", "a.yml", ["y", "v"]),
    ]
    days = drift_history.history(runs, days=4, today=date(2026, 12, 4))
    assert [(d.day, d.open, d.new, d.fixed, d.warnings, d.checks) for d in days] == [
        ("2026-12-01", 3, 3, 0, 1, 2),
        ("2026-12-02", 3, 0, 0, 1, 0),
        ("2026-12-03", 3, 1, 1, 0, 1),
        ("2026-12-04", 3, 0, 0, 0, 0),
    ]


def test_a_playbook_filter_and_a_window_after_the_checks_keep_their_open_count() -> None:
    runs = [_run("2026-11-01T08:00:00Z", "a.yml", ["x"]), _run("2026-11-01T09:00:00Z", "b.yml", [])]
    days = drift_history.history(runs, days=2, today=date(2026, 12, 4), playbook="a.yml")
    assert [(d.open, d.new, d.checks) for d in days] == [(1, 0, 0), (1, 0, 0)]
    assert drift_history.chart(days) is None  # no check in the window: no chart


def test_chart_scales_bars_to_the_highest_value() -> None:
    runs = [_run("2026-12-04T08:00:00Z", "a.yml", ["x", "y"])]
    chart = drift_history.chart(drift_history.history(runs, days=2, today=date(2026, 12, 4)))
    assert chart is not None and chart.top == 2
    assert chart.open[0].height == 0 and chart.open[1].height == chart.height - 20


def _in(domain: str, run: RunRecord) -> RunRecord:
    return dataclasses.replace(run, extra={**run.extra, "domain": domain})


def test_a_finding_two_playbooks_see_on_one_day_is_one_finding() -> None:
    runs = [
        _run("2026-12-01T08:00:00Z", "site.yml", ["x", "y"]),
        _run("2026-12-01T08:05:00Z", "group_domain.yml", ["x"]),
        _run("2026-12-02T08:00:00Z", "site.yml", ["y"]),  # group_domain.yml still sees x
        _run("2026-12-03T08:00:00Z", "group_domain.yml", []),
    ]
    days = drift_history.history(runs, days=3, today=date(2026, 12, 3))
    assert [(d.open, d.new, d.fixed, d.checks) for d in days] == [
        (2, 2, 0, 2),
        (2, 0, 0, 1),
        (1, 0, 1, 1),
    ]


def test_the_same_finding_id_in_two_domains_is_two_findings() -> None:
    runs = [
        _in("group", _run("2026-12-01T08:00:00Z", "a.yml", ["x"])),
        _in("lab", _run("2026-12-01T09:00:00Z", "b.yml", ["x"])),
        _in("group", _run("2026-12-01T10:00:00Z", "c.yml", ["x"])),
    ]
    days = drift_history.history(runs, days=1, today=date(2026, 12, 1))
    assert [(d.open, d.new, d.checks) for d in days] == [(2, 2, 3)]


def test_a_warning_two_playbooks_show_is_one_warning() -> None:
    runs = [
        _run("2026-12-01T08:00:00Z", "a.yml", [], ["w"]),
        _run("2026-12-01T09:00:00Z", "b.yml", [], ["w"]),
    ]
    days = drift_history.history(runs, days=1, today=date(2026, 12, 1))
    assert [(d.open, d.warnings) for d in days] == [(0, 1)]
