"""A clause's state from its playbooks' drift checks, its ticket rules and its evidence
(fake drift results), and the whole report through the CLI where no DC is needed."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest
from test_cli_errors import INVENTORY

from adsuite.cli.main import main
from adsuite.compliance import report as compliance
from adsuite.compliance.check import ERROR, NOT_ENFORCED, PlaybookCheck, from_findings
from adsuite.compliance.clause_map import load_map
from adsuite.compliance.report import TicketRule, TicketRules, clause_state, ticket_check
from adsuite.engine.drift import Finding
from adsuite.journal.evidence import Proof
from adsuite.journal.store import Journal

DRIFTED = Finding("f1", "ou", "OU=HQ,DC=d", "ou OU=HQ,DC=d: missing", "pb.yml:3")
WARNED = Finding("w1", "privileged", "Administrator", "binds as Administrator", None, "warning")
RULES = TicketRules(
    "approvals.yml",
    {
        "password_reset": TicketRule(
            "password_reset", "五.9", "written request", "x", "adsuite ticket apply"
        ),
        "elevation": TicketRule("elevation", "二.1.b", "two approvals", "y", None),
    },
    frozenset({"password_reset", "elevation", "admin_checkout"}),
)


def playbook(state: str) -> PlaybookCheck:
    if state == "compliant":
        return from_findings("ok.yml", "ok.yml", [WARNED])
    if state == "drift":
        return from_findings("d.yml", "d.yml", [DRIFTED, WARNED])
    if state == "error":
        return PlaybookCheck("e.yml", "e.yml", ERROR, error="e.yml:4: no such OU")
    return PlaybookCheck("new.yml", "new.yml", NOT_ENFORCED)


MET = Proof("runs", "drift checks", "3 since then", 3)
UNMET = Proof("runs", "drift checks", "0: none in the 24 hours before this report", 0, met=False)

# playbook states, ticket types, evidence -> clause state, in words
CASES = {
    "all clean": (["compliant"], ["password_reset"], [MET], "compliant", "compliant"),
    "warnings never count": (["compliant", "compliant"], [], [], "compliant", "compliant"),
    "drift beats everything": (
        ["error", "drift", "not_enforced"],
        ["elevation"],
        [UNMET],
        "drift",
        "drift (1 finding)",
    ),
    "an error before not enforced": (["not_enforced", "error"], [], [], "error", "error"),
    "a playbook not written yet": (
        ["compliant", "not_enforced"],
        [],
        [MET],
        "not_enforced",
        "not enforced yet",
    ),
    "a rule whose ticket type is not carried out yet": (
        ["compliant"],
        ["elevation"],
        [],
        "not_enforced",
        "not enforced yet",
    ),
    "a ticket type with no rule": ([], ["admin_checkout"], [], "not_enforced", "not enforced yet"),
    "evidence a rule needs is missing": (
        [],
        [],
        [MET, UNMET],
        "evidence_missing",
        "evidence missing",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_clause_state_is_the_worst_of_its_parts(case: str) -> None:
    states, tickets, proofs, state, words = CASES[case]
    checks = [playbook(s) for s in states]
    ticket_checks = [ticket_check(t, RULES, []) for t in tickets]
    assert clause_state(checks, ticket_checks, proofs)[:2] == (state, words)


def test_every_reason_a_clause_is_not_compliant_is_listed() -> None:
    checks = [playbook("drift"), playbook("error"), playbook("not_enforced")]
    _, _, reasons = clause_state(checks, [ticket_check("elevation", RULES, [])], [UNMET])
    assert reasons == [
        "d.yml: 1 finding",
        "e.yml: e.yml:4: no such OU",
        "new.yml does not exist yet",
        "elevation tickets: the rule is in approvals.yml, but adsuite does not carry out "
        "elevation tickets yet",
        "drift checks: 0: none in the 24 hours before this report",
    ]


def test_a_warning_is_kept_but_not_counted_as_drift() -> None:
    check = from_findings("p.yml", "p.yml", [WARNED, DRIFTED])
    assert (check.state, check.findings, check.warnings) == ("drift", (DRIFTED,), (WARNED,))


def test_approval_rules_that_do_not_load_make_every_ticket_an_error() -> None:
    broken = TicketRules("approvals.yml", {}, RULES.known, "approvals.yml:3: bad")
    check = ticket_check("password_reset", broken, [])
    assert (check.state, check.note) == (
        "error",
        "the approval rules do not load: approvals.yml:3: bad",
    )


MAP = """\
approvals: approvals.yml
evidence_days: 7
clauses:
  - id: 二.1.a
    title: Workstations locked down
    requirement: Users cannot install software.
    text_zh: 用户无法自行安装任何软件
    enforced_by: A GPO.
    playbooks: [not_written_yet.yml]
  - id: 五.9
    title: Resets need a written request
    requirement: A written request and a verified identity.
    enforced_by: password_reset tickets.
    tickets: [password_reset]
  - id: 五.8
    title: Reading the logs is recorded
    requirement: Every read is recorded.
    enforced_by: access entries.
    evidence:
      - {source: access, what: reads of the journal}
      - {source: chain, what: the hash chain}
  - id: 四.1
    title: Checked daily
    requirement: Daily checks.
    enforced_by: drift checks.
    evidence:
      - {source: runs, modes: [drift], within_hours: 24, what: drift checks}
out_of_scope:
  - {id: 四.2, title: Antivirus, reason: its own console}
"""


@pytest.fixture()
def report_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    journal = tmp_path / "journal.sqlite"
    monkeypatch.setenv("ADSUITE_JOURNAL", str(journal))
    (tmp_path / "inv.yml").write_text(INVENTORY, encoding="utf-8")
    (tmp_path / "compliance.yml").write_text(MAP, encoding="utf-8")
    repo = Path(__file__).resolve().parents[2]
    approvals = (repo / "playbooks" / "approvals.yml").read_text(encoding="utf-8")
    (tmp_path / "approvals.yml").write_text(approvals, encoding="utf-8")
    return tmp_path / "inv.yml", tmp_path / "compliance.yml", journal


def test_the_report_as_json_gives_each_clause_its_state_and_records_the_read(
    report_files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    inventory, map_file, journal = report_files
    with Journal.open(journal) as store:
        store.start_run(mode="drift", operator={"os_user": "cron"}, playbook="site.yml")
    args = ["report", "compliance", "-i", str(inventory), "--map", str(map_file)]
    with pytest.raises(SystemExit) as exited:
        main([*args, "--format", "json", "--ticket", "AUD-3"])
    assert exited.value.code == 2, "二.1.a is not enforced and 五.9 not checked"
    doc = json.loads(capsys.readouterr().out)
    states = {c["id"]: c["state"] for c in doc["clauses"]}
    assert states == {
        "二.1.a": "not_enforced",
        "五.9": "not_checked",  # tickets only: nothing proves it
        "五.8": "compliant",
        "四.1": "compliant",
    }
    first = doc["clauses"][0]
    assert first["reasons"] == ["not_written_yet.yml does not exist yet"]
    assert first["text_zh"] == "用户无法自行安装任何软件"
    reads = doc["clauses"][2]["evidence"][0]
    assert reads["lines"][0]["text"] == f"{getpass.getuser()} read: report compliance {map_file}"
    assert reads["lines"][0]["ticket"] == "AUD-3"
    assert doc["out_of_scope"] == [
        {"id": "四.2", "title": "Antivirus", "text_zh": None, "reason": "its own console"}
    ]
    assert doc["counts"] == {"compliant": 2, "not_enforced": 1, "not_checked": 1}
    with Journal.open(journal) as store:
        (read,) = store.accesses()
    assert (read.ticket, read.what) == ("AUD-3", f"report compliance {map_file}")


def test_the_html_report_reads_without_knowing_adsuite(
    report_files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    inventory, map_file, _ = report_files
    out = map_file.parent / "report.html"
    args = ["report", "compliance", "-i", str(inventory), "--map", str(map_file), "-o", str(out)]
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2  # not every clause is compliant
    page = out.read_text(encoding="utf-8")
    summary = page.split("<h2>Summary</h2>")[1].split("<h2>Drift findings over time")[0]
    order = ["二.1.a", "四.1", "五.9", "五.8"]  # worst state first, compliant last
    assert [summary.index(f">{c}<") for c in order] == sorted(
        summary.index(f">{c}<") for c in order
    )
    assert page.index("<h2>Summary</h2>") < page.index("<table")
    assert page.index(">四.2<") > page.index("<h2>Out of scope</h2>")
    assert '<span class="state not_enforced">not enforced yet</span>' in summary
    assert '<span class="state evidence_missing">evidence missing</span>' in summary, "四.1"
    assert "none in the 24 hours before this report" in page
    assert '<blockquote lang="zh">用户无法自行安装任何软件' in page
    assert "has not been written yet" in page
    assert "Compliance: 1 compliant, 1 not enforced yet, 1 evidence missing, 1 not checked." in (
        capsys.readouterr().err
    )


def test_a_domain_that_cannot_be_reached_is_an_error_with_its_one_line(
    report_files: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    inventory, map_file, journal = report_files
    monkeypatch.setenv("ADSUITE_CRED_LAB_ADMIN", "not-a-real-secret")
    ca_file = map_file.parent / "ca.pem"  # it must exist; nothing listens on port 1
    ca_file.write_text("never read\n", encoding="utf-8")
    inventory.write_text(INVENTORY.replace("/nonexistent/ca.pem", str(ca_file)), encoding="utf-8")
    (map_file.parent / "pb.yml").write_text("tasks:\n  - ou: {path: HQ}\n", encoding="utf-8")
    map_file.write_text(MAP.replace("not_written_yet.yml", "pb.yml"), encoding="utf-8")
    loaded = load_map(map_file)
    rules = TicketRules("approvals.yml", {}, frozenset({"password_reset"}))
    found = compliance.build(loaded, inventory, rules, reader="auditor", journal_path=journal)
    clause = found.clauses[0]
    assert clause.state == "error"
    (part,) = clause.playbooks
    assert part.check.error == (
        "cannot reach ldaps://127.0.0.1:1: socket connection error while opening: "
        "[Errno 111] Connection refused"
    )
    assert "not-a-real-secret" not in json.dumps(found.to_dict(), ensure_ascii=False)
    assert found.clauses[1].state == "not_enforced", "password_reset has no rule here"
