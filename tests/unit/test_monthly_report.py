"""The monthly change report of a seeded journal shows the right counts, and reading the
journal for it is itself journaled (五.8)."""

from __future__ import annotations

import getpass
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_cli_errors import INVENTORY

from adsuite.cli.main import main
from adsuite.journal.store import Journal

BASE = "DC=group,DC=example,DC=com"
OPERATOR = {"os_user": "admin", "bind_identity": "svc"}


def seed(path: Path) -> str:
    with Journal.open(path) as journal:
        run = journal.start_run(
            mode="apply",
            operator=OPERATOR,
            ticket="CHG-1001",
            extra={
                "ticket": {
                    "id": "CHG-1001",
                    "type": "new_employee",
                    "requester": "li.na",
                    "approvals": [
                        {
                            "name": "wang.fang",
                            "role": "department_head",
                            "time": "2026-11-02T09:00:00+00:00",
                        }
                    ],
                }
            },
        )
        for target, outcome in [
            (f"OU=Users,OU=HQ,{BASE}", "applied"),
            (f"CN=g,OU=Groups,OU=HQ,{BASE}", "applied"),
            (f"OU=Users,OU=HANTONG,{BASE}", "failed"),
        ]:
            number = journal.record_intent(
                run,
                resource="ou" if target.startswith("OU") else "group",
                target=target,
                action="create",
                before=None,
                after={},
            )
            journal.record_outcome(
                run, number, outcome, "constraint violation" if outcome == "failed" else None
            )
        journal.finish_run(run, status="failed", counts={})
        undo = journal.start_run(mode="rollback", operator=OPERATOR, extra={"rolls_back": run})
        journal.finish_run(undo, status="ok", counts={})
        check = journal.start_run(
            mode="drift", operator=OPERATOR, extra={"findings": [{"id": "a"}, {"id": "b"}]}
        )
        journal.finish_run(check, status="drift", counts={})
    return run


def test_monthly_report_counts_a_seeded_month(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = tmp_path / "journal.sqlite"
    monkeypatch.setenv("ADSUITE_JOURNAL", str(journal))
    run = seed(journal)
    hantong = "  - {code: HANTONG, name: 韩通, ip_range: 172.17.0.0/16}\ncredentials:"
    (tmp_path / "inv.yml").write_text(INVENTORY.replace("credentials:", hantong), encoding="utf-8")
    month = datetime.now(UTC).strftime("%Y-%m")
    with pytest.raises(SystemExit) as exited:
        main(["report", "monthly", "--month", month, "-i", str(tmp_path / "inv.yml")])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "| apply | 1 |" in text and "| rollback | 1 |" in text and "| drift | 1 |" in text
    assert "| HQ | 1 | 1 | 2 |" in text  # group 1, ou 1
    assert "HANTONG" not in text.split("## Changes applied")[1].split("## Tickets")[0]
    assert f"**CHG-1001 (new_employee)** ({month}" in text and "requested by li.na" in text
    assert "wang.fang (department_head" in text
    assert (
        f"failed: create ou `OU=Users,OU=HANTONG,{BASE}` (run `{run}`) — constraint violation"
        in text
    )
    assert f"undid run `{run}`" in text
    assert "1 drift checks; 1 found drift (2 findings in all)" in text
    with Journal.open(journal) as store:
        assert store.verify().ok


def test_reading_the_journal_for_a_report_is_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = tmp_path / "journal.sqlite"
    monkeypatch.setenv("ADSUITE_JOURNAL", str(journal))
    seed(journal)
    (tmp_path / "inv.yml").write_text(INVENTORY, encoding="utf-8")
    with pytest.raises(SystemExit):
        main(
            [
                "report",
                "monthly",
                "--month",
                "2026-01",
                "-i",
                str(tmp_path / "inv.yml"),
                "--ticket",
                "AUD-7",
            ]
        )
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["journal", "export", "--format", "csv"])
    capsys.readouterr()
    rows = (
        sqlite3.connect(journal)
        .execute("SELECT body FROM entries WHERE kind = 'access' ORDER BY seq")
        .fetchall()
    )
    assert len(rows) == 2, "one access entry per read"
    who = getpass.getuser()
    assert [json.loads(r[0]) for r in rows] == [
        {"ticket": "AUD-7", "what": "report monthly 2026-01", "who": who},
        {"ticket": None, "what": "journal export csv all", "who": who},
    ]
