"""Mutation tests of the clauses whose proof is more than settings, on the real lab DC:
五.6 (every super-administrator logon explained), 五.7 (the audit chain records the
report's own write) and 五.8 (every journal read on an IT-head-approved ticket).

Each test has its own journal, so only its own runs count. The map holds 五.6, 五.7 and
五.8 with their shipped evidence and no playbooks, so each clause's state is its
evidence's. A violation is planted by hand (an LDAP bind as Administrator that no run
explains, a failed one, a journal read without a ticket, a DC audit log that holds
nothing) and must mark its clause — and no other — naming the finding.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from labkit import Cli, Lab
from test_superadmin import bind

from adsuite.admin.events import LogonEvent
from adsuite.admin.reconcile import finding_id
from adsuite.journal.store import Journal

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
CLAUSES = ("五.6", "五.7", "五.8")
APPROVED = "LOG-READ-1"  # the ticket every report of these tests reads the journal on
IT_HEAD_APPROVAL = {"needs": "it_head", "name": "wang.jun", "role": "it_head",
                    "time": "2026-01-01T00:00:00+00:00"}  # fmt: skip


def write_map(folder: Path) -> Path:
    shipped = yaml.safe_load((REPO / "playbooks" / "compliance.yml").read_text(encoding="utf-8"))
    clauses = [dict(c, playbooks=[], tickets=[]) for c in shipped["clauses"] if c["id"] in CLAUSES]
    doc = {"approvals": str(REPO / "playbooks" / "approvals.yml"), "clauses": clauses}
    (folder / "map.yml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return folder / "map.yml"


def seed_approved_ticket(journal: Path) -> None:
    """A ticket the IT head approved and adsuite carried out, as a ticket run journals it
    (adsuite/tickets/runner.py): what 五.8 accepts as the approval of a read."""
    with Journal.open(journal) as store:
        run = store.start_run(
            mode="ticket",
            operator={"os_user": "test"},
            ticket=APPROVED,
            extra={
                "ticket": {"id": APPROVED, "type": "log_query", "requester": "audit.dept"},
                "approval_rules": {
                    "file": "approvals.yml",
                    "satisfied": [
                        {
                            "needs": "it_head",
                            "name": "wang.jun",
                            "role": "it_head",
                            "time": "2026-01-01T00:00:00+00:00",
                        }
                    ],
                },
            },
        )
        store.finish_run(run, status="ok", counts={})


class Runner:
    def __init__(self, lab: Lab, cli: Callable[..., Cli], journal: Path) -> None:
        self.lab, self.cli, self.env = lab, cli, {"ADSUITE_JOURNAL": str(journal)}

    def run(self, *args: str) -> Cli:
        return self.cli(*args, env=self.env)

    def usage(self, since: str) -> dict[str, Any]:
        done = self.run("admin", "usage", "--since", since, "--format", "json",
                        "-p", str(REPO / "playbooks" / "superadmin.yml"),
                        "-i", str(self.lab.inventory))  # fmt: skip
        assert done.code in (0, 2), done.err
        doc: dict[str, Any] = json.loads(done.out)
        return doc

    def report(self, inventory: Path, map_file: Path) -> tuple[int, dict[str, Any]]:
        done = self.run("report", "compliance", "-i", str(inventory), "--map", str(map_file),
                        "--format", "json", "--ticket", APPROVED)  # fmt: skip
        assert done.code in (0, 2), done.err
        return done.code, {c["id"]: c for c in json.loads(done.out)["clauses"]}


def lines(clause: dict[str, Any]) -> str:
    return "\n".join([*clause["reasons"], *(ln["text"] for p in clause["evidence"]
                                            for ln in p["lines"])])  # fmt: skip


def only(clauses: dict[str, Any], broken: str, state: str) -> None:
    states = {i: c["state"] for i, c in clauses.items()}
    assert states == {i: (state if i == broken else "compliant") for i in CLAUSES}, {
        i: c["reasons"] for i, c in clauses.items()
    }


def row_of(usage: dict[str, Any], port: int, verdict: str) -> dict[str, Any]:
    (row,) = [r for r in usage["uses"]
              if str(r["remote"]).endswith(f":{port}") and r["verdict"] == verdict]  # fmt: skip
    return row


def test_unexplained_and_failed_logons_are_五6_drift_until_acknowledged(
    lab_env: Lab, tmp_path: Path, cli: Callable[..., Cli]
) -> None:
    journal = tmp_path / "journal.sqlite"
    seed_approved_ticket(journal)
    run, map_file = Runner(lab_env, cli, journal), write_map(tmp_path)
    since = datetime.now(UTC).isoformat()  # only this test's logons are reconciled
    assert run.usage(since)["findings"] == 0
    code, clauses = run.report(lab_env.inventory, map_file)
    assert code == 0, {i: c["reasons"] for i, c in clauses.items()}

    admin = lab_env.status.admin_username
    password = Path(lab_env.status.secret_file).read_text(encoding="utf-8").strip()
    by_hand, failed = bind(lab_env, admin, password), bind(lab_env, admin, "not-the-password")
    assert by_hand.ok and not failed.ok
    first = run.usage(since)
    hand, bad = row_of(first, by_hand.port, "unrecorded"), row_of(first, failed.port, "failed")
    again = run.usage(since)  # ids are stable: the same logon, the same id
    assert row_of(again, by_hand.port, "unrecorded")["id"] == hand["id"]
    assert hand["id"] == finding_id(LogonEvent(
        hand["dc"], hand["record"], datetime.fromisoformat(hand["at"]), hand["event_id"],
        hand["account"], hand["sid"], hand["remote"], hand["service"], hand["ok"],
        hand["status"], hand["source"]))  # fmt: skip

    code, clauses = run.report(lab_env.inventory, map_file)
    assert code == 2
    only(clauses, "五.6", "drift")
    named = lines(clauses["五.6"])
    assert f"{hand['id']}: unrecorded logon of administrator from {hand['remote']}" in named
    assert f"{bad['id']}: failed logon of administrator from {bad['remote']}" in named

    ack = run.run("admin", "acknowledge", hand["id"], "--ticket", "INC-7",
                  "--reason", "test: the lab's bind by hand", "-i", str(lab_env.inventory),
                  "-p", str(REPO / "playbooks" / "superadmin.yml"))  # fmt: skip
    assert ack.code == 0, ack.err
    code, clauses = run.report(lab_env.inventory, map_file)
    only(clauses, "五.6", "drift")  # the failed logon is still open
    assert hand["id"] not in lines(clauses["五.6"]) and bad["id"] in lines(clauses["五.6"])
    refused = run.run("admin", "acknowledge", "lf-000000000000", "--ticket", "INC-8",
                      "--reason", "r", "-i", str(lab_env.inventory),
                      "-p", str(REPO / "playbooks" / "superadmin.yml"))  # fmt: skip
    assert refused.code == 1 and "lf-000000000000" in refused.err
    assert run.run("admin", "acknowledge", bad["id"], "--ticket", "INC-8", "--reason",
                   "test: a wrong password typed on purpose", "-i", str(lab_env.inventory),
                   "-p", str(REPO / "playbooks" / "superadmin.yml")).code == 0  # fmt: skip
    code, clauses = run.report(lab_env.inventory, map_file)
    assert code == 0, {i: c["reasons"] for i, c in clauses.items()}


def test_an_audit_log_without_the_reports_own_write_is_五7_not_compliant(
    lab_env: Lab, tmp_path: Path, cli: Callable[..., Cli]
) -> None:
    """Stopping Samba's dsdb_json_audit logging needs a DC restart (smb.conf is read at
    start), which the shared lab cannot afford mid-suite: the inventory points the DC's
    samba_audit_dir at an empty folder instead — the same for adsuite: no record."""
    journal = tmp_path / "journal.sqlite"
    seed_approved_ticket(journal)
    run, map_file = Runner(lab_env, cli, journal), write_map(tmp_path)
    assert run.usage(datetime.now(UTC).isoformat())["findings"] == 0
    code, clauses = run.report(lab_env.inventory, map_file)
    assert code == 0, {i: c["reasons"] for i, c in clauses.items()}
    proof = clauses["五.7"]["evidence"][0]["summary"]
    assert "CN=adsuite-audit-probe,CN=System," in proof and " logged the write of run " in proof

    empty = tmp_path / "empty-log"
    empty.mkdir()
    blind = tmp_path / "blind.yml"
    blind.write_text(
        lab_env.inventory.read_text(encoding="utf-8").replace(
            str(lab_env.status.dsdb_audit_log.parent), str(empty)
        ),
        encoding="utf-8",
    )
    code, clauses = run.report(blind, map_file)
    assert code == 2
    only(clauses, "五.7", "evidence_missing")
    assert "the audit chain produced no record of this check's own write" in lines(clauses["五.7"])
    with Journal.open(journal) as store:  # the write itself was made and journaled
        probes = [r for r in store.runs() if r.mode == "audit_probe"]
        assert probes[0].status == "ok" and probes[0].id in lines(clauses["五.7"])
    assert run.report(lab_env.inventory, map_file)[0] == 0


def test_a_journal_read_without_an_approved_ticket_is_五8_not_compliant(
    lab_env: Lab, tmp_path: Path, cli: Callable[..., Cli]
) -> None:
    """A read cannot be undone: once made without an approved ticket it stays named for
    the evidence window (31 days), so there is no repair to return to compliant."""
    journal = tmp_path / "journal.sqlite"
    seed_approved_ticket(journal)
    run, map_file = Runner(lab_env, cli, journal), write_map(tmp_path)
    assert run.usage(datetime.now(UTC).isoformat())["findings"] == 0
    assert run.report(lab_env.inventory, map_file)[0] == 0

    assert run.run("journal", "export", "--format", "csv").code == 0  # no ticket
    assert run.run("journal", "export", "--format", "csv", "--ticket", "LOG-X").code == 0
    code, clauses = run.report(lab_env.inventory, map_file)
    assert code == 2
    only(clauses, "五.8", "evidence_missing")
    named = lines(clauses["五.8"])
    assert "read: journal export csv all — no ticket" in named
    assert "ticket LOG-X is no ticket it_head approved" in named
    assert "report compliance" not in named  # the reports' own reads are on LOG-READ-1
