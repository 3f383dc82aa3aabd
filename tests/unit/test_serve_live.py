"""The wiring of `adsuite serve` to the ticket framework, where it needs no directory:
which ticket types the server takes, and a run the server was carrying out when it
stopped that the journal shows as applied is not applied a second time."""

from __future__ import annotations

from pathlib import Path

from adsuite.journal.store import Journal
from adsuite.serve.contract import Job
from adsuite.serve.live import LiveTicketRunner, ticket_types

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "playbooks/approvals.yml"


def test_types_are_those_with_a_rule_that_adsuite_carries_out() -> None:
    types = ticket_types(RULES, Path("/srv/passwords"))
    assert {"new_employee", "leaver", "transfer", "password_reset"} <= types.accepted
    assert "does not carry it out yet" in types.unavailable["admin_checkout"]
    assert "admin_checkout" not in types.accepted


def test_types_that_set_a_password_need_a_password_folder() -> None:
    types = ticket_types(RULES, None)
    assert "new_employee" not in types.accepted and "leaver" in types.accepted
    assert "no --password-dir" in types.unavailable["new_employee"]


def journal_with_applied_run(path: Path, ticket: str) -> str:
    with Journal.open(path) as journal:
        run_id = journal.start_run(mode="apply", operator={"os_user": "svc"}, ticket=ticket)
        number = journal.record_intent(
            run_id, resource="user", target="CN=a,DC=x", action="create", before=None, after={}
        )
        journal.record_outcome(run_id, number, "applied")
        journal.finish_run(run_id, status="ok", counts={"applied": 1})
    return run_id


def resumed_job(ticket: str, received: str, attempt: int = 2) -> Job:
    document = {"id": ticket, "type": "new_employee", "requester": "li.hr"}
    return Job("q-20261127T000000Z-000000", document, "group", Path("inv.yml"), attempt, received)


def test_resumed_run_already_applied_is_read_from_the_journal_not_run_again(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal.sqlite"
    run_id = journal_with_applied_run(journal, "IT-9")
    runner = LiveTicketRunner(RULES, journal, tmp_path / "spool", tmp_path / "pw")
    result = runner(resumed_job("IT-9", "2000-01-01T00:00:00Z"))
    assert result.journal_run == run_id and result.status == "ok"
    assert [(c.kind, c.target, c.outcome) for c in result.changes] == [
        ("user", "CN=a,DC=x", "applied")
    ]
    assert "a password it set was not delivered" in result.notes[0]
    assert not (tmp_path / "spool").exists(), "nothing was run again"


def test_earlier_run_of_the_same_ticket_before_it_was_queued_does_not_count(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal.sqlite"
    journal_with_applied_run(journal, "IT-9")
    runner = LiveTicketRunner(RULES, journal, tmp_path / "spool", tmp_path / "pw")
    assert runner._carried_out_before(resumed_job("IT-9", "2999-01-01T00:00:00Z")) is None
    assert runner._carried_out_before(resumed_job("IT-8", "2000-01-01T00:00:00Z")) is None


def test_a_run_the_server_left_half_done_is_reported_interrupted_not_run_again(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal.sqlite"
    job = resumed_job("IT-7", "2000-01-01T00:00:00Z")
    with Journal.open(journal) as book:
        run_id = book.start_run(
            mode="apply",
            operator={"os_user": "svc"},
            ticket="IT-7",
            extra={"serve_run": job.id},
            claim_ticket=True,
        )
        book.record_intent(
            run_id, resource="user", target="CN=a,DC=x", action="create", before=None, after={}
        )
    passwords = tmp_path / "pw"
    passwords.mkdir()
    kept = passwords / f"IT-7-{job.id}.txt"
    kept.write_text("password: (kept before the change)\n", encoding="utf-8")
    runner = LiveTicketRunner(RULES, journal, tmp_path / "spool", passwords)
    result = runner(job)
    assert (result.journal_run, result.status) == (run_id, "interrupted")
    assert [(c.target, c.outcome) for c in result.changes] == [("CN=a,DC=x", "pending")]
    assert kept.name in result.notes[0] and "not run again" in result.notes[0]
    assert not (tmp_path / "spool").exists(), "nothing was run again"
    assert kept.exists(), "the kept password stays"
