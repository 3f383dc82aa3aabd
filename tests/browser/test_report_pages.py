"""The drift page as a person sees it in a real headless Chromium at 1280 px: the
verdict the CLI gives, severities, warnings apart, what to do, no horizontal overflow,
and a description planted with <script> shown as text, never run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from adsuite.cli import render
from adsuite.engine import drift
from adsuite.engine.planner import Plan
from adsuite.journal.records import RunRecord
from adsuite.resources.base import Action, Change, Notice
from adsuite.source import Location
from tests.browser import chromium

pytestmark = pytest.mark.skipif(chromium.BINARY is None, reason=chromium.WHY_ABSENT)

BASE = "DC=group,DC=example,DC=com"
PLANTED = '<script>document.body.dataset.pwned="yes"</script>'
LONG_DN = ",".join(f"OU=DepartmentOfVeryLongNames{i}" for i in range(6)) + f",OU=HQ,{BASE}"
COMPANIES = ["HQ", "HANTONG"]


def _change(action: Action, target: str, before: dict[str, str] | None) -> Change:
    after = {"description": "HANTONG Workstations"}
    where = Location("playbooks/group_domain.yml", 35)
    return Change("ou", action, target, before, after, where, (), None)


def _plan(*, drifted: bool) -> Plan:
    changes = (
        (
            _change(Action.UPDATE, f"OU=Workstations,OU=HANTONG,{BASE}", {"description": PLANTED}),
            _change(Action.CREATE, LONG_DN, None),
        )
        if drifted
        else ()
    )
    warning = Notice(
        "privileged", f"CN=Administrator,CN=Users,{BASE}", "is the built-in Administrator",
        Location("playbooks/superadmin.yml", 14), "warning",
    )  # fmt: skip
    return Plan("group", BASE, changes, objects_read=18, queries=3, notices=(warning,))


def _run(run_id: str, started: str, ids: list[str]) -> RunRecord:
    findings = [{"id": i, "severity": "drift"} for i in ids]
    return RunRecord(
        run_id, started, started, "drift", "drift" if ids else "ok", {}, "site.yml", "x", None,
        None, {}, {"findings": findings}, "host", 1, 1,
    )  # fmt: skip


def test_drift_page_fits_1280px_says_what_the_cli_says_and_shows_planted_script_as_text(
    tmp_path: Path,
) -> None:
    page = chromium.load(
        render.drift_html(drift.outcome(_plan(drifted=True)), "site.yml", COMPANIES), tmp_path
    )
    assert not page.overflows, (page.scroll_width, page.client_width)
    assert page.pwned is None and page.scripts == 1  # only the probe's own script
    assert PLANTED.replace('"', '\\"') in page.text
    assert "Drift: 2 findings. 1 warning shown apart, not counted as drift." in page.text
    assert "Warnings (not drift)" in page.text
    assert (
        page.text.index("Summary") < page.text.index("Findings") < page.text.index("Warnings (not")
    )
    assert "HANTONG — 1 finding" in page.text and "HQ — 1 finding" in page.text
    assert "Run `adsuite apply site.yml` to create it" in page.text
    assert "DRIFT" in page.text and "WARNING" in page.text  # severity, shown upper-case


def test_drift_page_with_only_a_warning_is_clean_like_the_cli(tmp_path: Path) -> None:
    page = chromium.load(
        render.drift_html(drift.outcome(_plan(drifted=False)), "site.yml", COMPANIES), tmp_path
    )
    assert "Clean: no drift. 1 warning shown apart" in page.text
    assert "1 finding" not in page.text
    assert not page.overflows


def test_drift_page_charts_the_journals_drift_checks(tmp_path: Path) -> None:
    today = datetime.now(UTC).date().isoformat()
    runs = [
        _run("r1", f"{today}T01:00:00Z", ["a", "b"]),
        _run("r2", f"{today}T02:00:00Z", ["b", "c", "d"]),
    ]
    html = render.drift_html(drift.outcome(_plan(drifted=True)), "site.yml", COMPANIES, runs, "r2")
    page = chromium.load(html, tmp_path)
    assert "2 checks in 30 days; today 3 open" in page.text
    assert f"{today}: 3 open, 4 new, 1 fixed, 2 checks" in html  # the day's bar, as a tooltip
    assert not page.overflows
