"""The compliance page as a person sees it in a real headless Chromium at 1280 px: the
summary before any table, clauses worst first with what to do, no horizontal overflow
(long DNs wrap), and a finding planted with <script> shown as text, never run."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from adsuite.cli.report import compliance_html
from adsuite.journal.records import RunRecord
from tests.browser import chromium
from tests.compliance_sample import LONG_DN, PLANTED, report

pytestmark = pytest.mark.skipif(chromium.BINARY is None, reason=chromium.WHY_ABSENT)

TODAY = date(2026, 12, 6)


def _run(run_id: str, started: str, playbook: str, ids: list[str]) -> RunRecord:
    findings = [{"id": i, "severity": "drift"} for i in ids]
    return RunRecord(
        run_id, started, started, "drift", "drift", {}, playbook, "x", None, None, {},
        {"findings": findings, "domain": "group"}, "host", 1, 1,
    )  # fmt: skip


def test_compliance_page_fits_1280px_summary_first_and_planted_script_is_text(
    tmp_path: Path,
) -> None:
    page = chromium.load(compliance_html(report(), [], TODAY), tmp_path)
    assert not page.overflows, (page.scroll_width, page.client_width)
    assert page.pwned is None and page.scripts == 1  # only the probe's own script
    assert PLANTED in page.text
    assert LONG_DN in page.text.replace("\n", "")
    text = page.text
    assert "Compliance: 1 compliant, 1 drift, 1 evidence missing." in text
    first_table = text.index("Company\tDrift findings")
    assert text.index("Summary") < text.index("drift findings") < first_table
    order = ["Drift — 1 clause", "Evidence missing — 1 clause", "Compliant — 1 clause"]
    assert [text.index(o) for o in order] == sorted(text.index(o) for o in order)
    assert first_table < text.index(order[0])
    assert "What to do: Remedy of 五.6." in text
    assert "HANTONG — 1 finding" in text and "(domain-wide) — 1 finding" in text
    assert "Warnings (not drift)" in text


def test_compliance_page_charts_a_finding_two_playbooks_see_once(tmp_path: Path) -> None:
    runs = [
        _run("r1", "2026-12-06T01:00:00Z", "site.yml", ["a", "b"]),
        _run("r2", "2026-12-06T01:01:00Z", "group_domain.yml", ["a"]),
    ]
    html = compliance_html(report(), runs, TODAY)
    page = chromium.load(html, tmp_path)
    assert "2 checks in 30 days; today 2 open" in page.text
    assert "2026-12-06: 2 open, 2 new, 0 fixed, 2 checks" in html  # the day's bar tooltip
    assert not page.overflows
