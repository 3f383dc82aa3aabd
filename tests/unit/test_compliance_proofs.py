"""The pure parts of 五.6, 五.7 and 五.8's proofs, from a seeded journal: logon findings
open until acknowledged (ids stable), journal reads on an IT-head-approved ticket, the
audit probe in words, the clause state, and the monthly report's counting."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from adsuite.admin.acknowledge import acknowledge
from adsuite.admin.events import LogonEvent
from adsuite.admin.reconcile import Use, finding_id
from adsuite.audit.month import month_bounds
from adsuite.compliance.report import clause_state
from adsuite.errors import InputError
from adsuite.journal import monthly, proofs
from adsuite.journal.proofs import AuditProbe
from adsuite.journal.store import Journal

OPERATOR = {"os_user": "admin"}
AT = datetime(2026, 12, 1, 8, 30, 0, 123456, tzinfo=UTC)


def logon(remote: str = "10.0.0.5:50123", at: datetime = AT, ok: bool = True) -> LogonEvent:
    return LogonEvent("dc1", "r1", at, 4624 if ok else 4625, "administrator", None, remote,
                      "LDAP", ok, "NT_STATUS_OK" if ok else "NT_STATUS_WRONG_PASSWORD", "samba")  # fmt: skip


@pytest.fixture()
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal.open(tmp_path / "journal.sqlite") as store:
        yield store


def collect(journal: Journal, uses: list[Use]) -> str:
    """A logon collection journaling its findings as `admin usage` does."""
    run = journal.start_run(mode="usage", operator=OPERATOR)
    number = journal.record_intent(run, resource=proofs.FINDINGS_RESOURCE, target="logons",
                                   action="reconcile", before=None,
                                   after={"findings": [u.row() for u in uses]})  # fmt: skip
    journal.record_outcome(run, number, "applied", None)
    journal.finish_run(run, status="drift" if uses else "ok", counts={})
    return run


def state_of(journal: Journal) -> proofs.Proof:
    runs = journal.runs()
    changes = [c for r in runs for c in journal.changes(r.id)]
    return proofs.privileged_use(runs, changes, "logons", "2000-01-01")


def test_a_finding_id_is_the_logon_not_its_place_in_a_list() -> None:
    one = finding_id(logon())
    assert one == finding_id(logon(at=AT.astimezone(timezone(timedelta(hours=8)))))  # same instant
    assert one.startswith("lf-") and len(one) == 15
    assert one != finding_id(logon(remote="10.0.0.5:50124"))
    assert one != finding_id(logon(at=AT + timedelta(microseconds=1)))
    assert Use(logon(), "unrecorded").row()["id"] == one


def test_open_findings_are_drift_each_named_until_acknowledged(
    journal: Journal, tmp_path: Path
) -> None:
    hand, failed = Use(logon(), "unrecorded"), Use(logon("10.0.0.6:4000", ok=False), "failed")
    collect(journal, [hand, failed])
    collect(journal, [hand, failed])  # the same findings again: counted once
    proof = state_of(journal)
    assert not proof.met and proof.findings == 2
    assert proof.summary.endswith(f"2 open findings, 0 acknowledged (open: {hand.id}, {failed.id})")
    assert [line.text.split(":")[0] for line in proof.lines] == [hand.id, failed.id]
    assert "unrecorded logon of administrator from 10.0.0.5:50123 on dc1" in proof.lines[0].text
    state, words, reasons = clause_state([], [], [proof])
    assert (state, words) == ("drift", "drift (2 findings)"), reasons

    done = acknowledge(journal.path, [hand.id], "INC-1", "a test", "inv.yml")
    assert done.findings == (hand.id,)
    assert [line.text.split(":")[0] for line in state_of(journal).lines] == [failed.id]
    with pytest.raises(InputError, match="already acknowledged"):
        acknowledge(journal.path, [hand.id], "INC-2", "again", "inv.yml")
    with pytest.raises(InputError, match="no logon collection in the journal found lf-x"):
        acknowledge(journal.path, ["lf-x"], "INC-2", "unknown", "inv.yml")
    acknowledge(journal.path, [failed.id], "INC-3", "typed wrong", "inv.yml")
    proof = state_of(journal)
    assert proof.met and proof.findings == 0 and "2 acknowledged" in proof.summary
    assert clause_state([], [], [proof])[0] == "compliant"


def test_no_logon_collection_is_missing_evidence(journal: Journal) -> None:
    proof = state_of(journal)
    assert not proof.met and "the logons are unknown" in proof.summary
    assert clause_state([], [], [proof])[0] == "evidence_missing"


def approved_ticket_run(journal: Journal, ticket: str, role: str) -> None:
    satisfied = [{"needs": role, "name": "wang.jun", "role": role, "time": "2026-12-01T00:00Z"}]
    extra = {"ticket": {"id": ticket}, "approval_rules": {"satisfied": satisfied}}
    run = journal.start_run(mode="ticket", operator=OPERATOR, ticket=ticket, extra=extra)
    journal.finish_run(run, status="ok", counts={})


def test_a_read_counts_only_on_a_ticket_the_role_approved(journal: Journal) -> None:
    approved_ticket_run(journal, "LOG-1", "it_head")
    approved_ticket_run(journal, "HR-1", "hr")
    journal.record_access(who="a", what="journal show", ticket="LOG-1")
    accesses = journal.accesses()
    proof = proofs.approved_reads(accesses, journal.runs(), "it_head", "reads", "2000-01-01")
    assert proof.met and "approved by wang.jun" in proof.lines[0].text
    journal.record_access(who="b", what="journal export", ticket="HR-1")
    journal.record_access(who="c", what="journal show")
    proof = proofs.approved_reads(journal.accesses(), journal.runs(), "it_head", "r", "2000")
    assert not proof.met and "2 without a ticket approved by it_head" in proof.summary
    assert {line.text for line in proof.lines} == {
        "b read: journal export — ticket HR-1 is no ticket it_head approved",
        "c read: journal show — no ticket",
    }


def test_the_audit_probe_in_words() -> None:
    dn = "CN=adsuite-audit-probe,CN=System,DC=x"
    seen = proofs.audit_trail(AuditProbe(dn, "R1", "127.0.0.1:5", "dc1"), "w")
    assert seen.met and seen.summary == f"dc1 logged the write of run R1 to {dn} from 127.0.0.1:5"
    unseen = proofs.audit_trail(AuditProbe(dn, "R1", "127.0.0.1:5", None), "w")
    assert not unseen.met and "produced no record of this check's own write" in unseen.summary
    failed = proofs.audit_trail(AuditProbe(dn, None, None, None, error="bind refused"), "w")
    assert not failed.met and failed.summary == "the audit chain was not tested: bind refused"
    assert not proofs.audit_trail(None, "w").met


def test_the_monthly_report_counts_no_logon_collection_as_a_change(journal: Journal) -> None:
    collect(journal, [Use(logon(), "unrecorded")])
    runs = journal.runs()
    changes = {r.id: journal.changes(r.id) for r in runs}
    month = runs[0].started[:7]
    summary = monthly.summarize(month, runs, changes, "DC=x", ["HQ"])
    assert summary.runs_by_mode == {"usage": 1}
    assert summary.changes_by_company == {} and summary.outcomes == {}


def test_month_bounds() -> None:
    assert month_bounds("2026-12") == (datetime(2026, 12, 1, tzinfo=UTC),
                                       datetime(2027, 1, 1, tzinfo=UTC))  # fmt: skip
    assert month_bounds("2026-02")[1] == datetime(2026, 3, 1, tzinfo=UTC)
