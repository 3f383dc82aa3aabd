"""Journal records folded into evidence for the compliance report, from a seeded journal:
apply runs by playbook name (and through site.yml), ticket runs with their approvers,
runs of some modes with their requirements, reads of the journal, before-images."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adsuite.journal import evidence
from adsuite.journal.chain import utc_timestamp
from adsuite.journal.evidence import Recent
from adsuite.journal.records import VerifyReport
from adsuite.journal.store import Journal

OPERATOR = {"os_user": "admin", "bind_identity": "svc"}
SHA = "a" * 64
FUTURE = "2999-01-01T00:00:00.000000Z"


def run(
    journal: Journal,
    mode: str,
    playbook: str | None = None,
    *,
    sha: str | None = None,
    ticket: str | None = None,
    extra: dict[str, object] | None = None,
    changes: tuple[tuple[str, object], ...] = (),
    status: str = "ok",
) -> str:
    run_id = journal.start_run(
        mode=mode,
        operator=OPERATOR,
        playbook=playbook,
        playbook_sha256=sha,
        ticket=ticket,
        extra=extra,
    )
    for action, before in changes:
        number = journal.record_intent(
            run_id, resource="ou", target="OU=X,DC=d", action=action, before=before, after={}
        )
        journal.record_outcome(run_id, number, "applied")
    journal.finish_run(run_id, status=status, counts={"applied": len(changes)})
    return run_id


@pytest.fixture()
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal.open(tmp_path / "journal.sqlite") as opened:
        yield opened


def test_apply_runs_match_the_playbook_by_file_name_and_through_an_umbrella(
    journal: Journal,
) -> None:
    old = run(journal, "apply", "/srv/adsuite/playbooks/group_domain.yml", sha="b" * 64)
    run(journal, "apply", "playbooks/sites.yml", sha=SHA)
    run(journal, "drift", "playbooks/group_domain.yml", sha=SHA)
    site = run(journal, "apply", "playbooks/site.yml", sha="c" * 64)
    now = run(journal, "apply", "group_domain.yml", sha=SHA)
    umbrellas = {"site.yml": frozenset({"group_domain.yml", "sites.yml"})}
    proof = evidence.apply_runs(journal.runs(), "group_domain.yml", SHA, umbrellas)
    assert proof.total == 3
    assert [line.run for line in proof.lines] == [now, site, old]
    texts = [line.text for line in proof.lines]
    assert texts[0].startswith("applied group_domain.yml as it reads now (ok;")
    assert texts[1].startswith("applied as part of site.yml (ok;")
    assert texts[2].startswith("applied group_domain.yml a version since changed (ok;")
    none = evidence.apply_runs(journal.runs(), "password_policy.yml", SHA, umbrellas)
    assert (none.total, none.summary) == (0, "never applied")


def test_ticket_runs_show_who_asked_who_approved_and_when(journal: Journal) -> None:
    ticket = {
        "id": "IT-9",
        "type": "password_reset",
        "requester": "li.na",
        "approvals": [{"name": "wang.it", "role": "it_head", "time": "2026-11-02T09:00:00+08:00"}],
    }
    reset = run(journal, "apply", "IT-9.yml", ticket="IT-9", extra={"ticket": ticket})
    run(journal, "apply", "IT-8.yml", ticket="IT-8", extra={"ticket": {"type": "transfer"}})
    run(journal, "apply", "x.yml", ticket="CHG-1")  # a ticket reference without a record
    proof = evidence.ticket_runs(journal.runs(), "password_reset")
    assert proof.total == 1
    (line,) = proof.lines
    assert (line.run, line.ticket) == (reset, "IT-9")
    assert line.text == (
        "ticket IT-9, asked by li.na, approved by wang.it as it_head at "
        "2026-11-02T09:00:00+08:00 (apply ok)"
    )
    assert evidence.ticket_runs(journal.runs(), "elevation").summary == "none in the journal"


def test_runs_of_some_modes_leave_out_the_reports_own_and_check_recency(
    journal: Journal,
) -> None:
    finding = {"id": "f1", "severity": "drift"}
    warning = {"id": "w1", "severity": "warning"}
    scheduled = run(journal, "drift", "site.yml", extra={"findings": [finding, warning]})
    own = run(journal, "drift", "group_domain.yml", extra={"findings": []})
    since = ""
    proof = evidence.mode_runs(
        journal.runs(), ["drift"], "drift checks", since, exclude={own}, recent=Recent(24, since)
    )
    assert proof.met and proof.total == 1
    assert [(line.run, line.text) for line in proof.lines] == [
        (scheduled, "drift check of site.yml: 1 finding")
    ]
    stale = evidence.mode_runs(
        journal.runs(), ["drift"], "drift checks", since, exclude={own}, recent=Recent(24, FUTURE)
    )
    assert not stale.met
    assert stale.summary.endswith(": none in the 24 hours before this report")
    only_own = evidence.mode_runs(
        journal.runs(), ["drift"], "d", since, exclude={own, scheduled}, recent=Recent(24, since)
    )
    assert not only_own.met, "the report's own checks never prove a daily check"


def test_require_ticket_is_missing_evidence_when_a_run_names_none(journal: Journal) -> None:
    run(journal, "apply", "a.yml", ticket="CHG-1")
    bare = run(journal, "apply", "b.yml")
    undo = run(journal, "rollback", extra={"rolls_back": bare}, ticket="CHG-2")
    proof = evidence.mode_runs(journal.runs(), ["apply", "rollback"], "c", "", require_ticket=True)
    assert not proof.met and proof.total == 3
    assert proof.summary.endswith(": 1 named no ticket")
    assert [line.run for line in proof.lines] == [bare], "the runs without a ticket are shown"
    rollbacks = evidence.mode_runs(journal.runs(), ["rollback"], "rollbacks", "")
    assert rollbacks.met and rollbacks.lines[0].text == f"rolled back run {bare} (ok)"
    assert rollbacks.lines[0].run == undo


def test_reads_of_the_journal_are_evidence_with_their_tickets(journal: Journal) -> None:
    journal.record_access(who="auditor", what="journal export json all", ticket="AUD-1")
    journal.record_access(who="admin", what="journal show last 20")
    reads = journal.accesses()
    assert [(a.who, a.ticket) for a in reads] == [("admin", None), ("auditor", "AUD-1")]
    assert journal.accesses(FUTURE) == []
    proof = evidence.access(reads, "reads", "2000-01-01T00:00:00.000000Z", require_ticket=False)
    assert proof.met and proof.total == 2
    assert proof.summary == "2 reads since 2000-01-01 00:00 UTC, 1 without a ticket"
    assert proof.lines[1].text == "auditor read: journal export json all"
    assert not evidence.access(reads, "reads", "", require_ticket=True).met


def test_an_update_without_a_before_image_is_missing_evidence(journal: Journal) -> None:
    kept = run(journal, "apply", "a.yml", changes=(("create", None), ("update", {"d": "x"})))
    run(journal, "drift", "a.yml")
    runs = journal.runs()
    changes = journal.changes(kept)
    proof = evidence.before_images(runs, changes, "before-images", "")
    assert proof.met and proof.total == 1, "a creation has nothing before it"
    lost = run(journal, "apply", "b.yml", changes=(("delete", None), ("update", {"d": "y"})))
    runs, changes = journal.runs(), changes + journal.changes(lost)
    proof = evidence.before_images(runs, changes, "before-images", "")
    assert not proof.met and proof.total == 3
    assert proof.lines[0].run == lost
    assert proof.lines[0].text == "2 updates or deletions by apply b.yml, 1 without a before-image"
    assert evidence.before_images(runs, changes, "b", FUTURE).total == 0


def test_a_broken_hash_chain_is_missing_evidence() -> None:
    broken = VerifyReport(False, 9, ["entry 4: hash does not match its content"])
    proof = evidence.chain(broken, "the chain")
    assert not proof.met and proof.summary == "BROKEN: entry 4: hash does not match its content"
    intact = evidence.chain(VerifyReport(True, 9), "the chain")
    assert intact.met and intact.summary == "intact: 9 entries verified"


def test_journal_timestamps_read_as_dates_and_minutes() -> None:
    assert evidence.when("2026-11-27T12:45:38.123456Z") == "2026-11-27 12:45 UTC"
    assert evidence.when(utc_timestamp())[:4].isdigit()


def health_run(journal: Journal, domain: str, findings: list[dict[str, str]]) -> str:
    extra = {"domain": domain, "status": "unhealthy" if findings else "healthy"}
    run_id = journal.start_run(
        mode="health", operator=OPERATOR, extra={**extra, "findings": findings}
    )
    journal.finish_run(run_id, status=str(extra["status"]), counts={"errors": len(findings)})
    return run_id


GPO_FINDING = {
    "id": "health:dc1:gpo:{G}",
    "text": "dc1: GPO p {G}: LDAP version 3, GPT.INI version 10",
}


def test_health_evidence_is_met_only_when_the_newest_check_was_healthy(journal: Journal) -> None:
    health_run(journal, "group", [GPO_FINDING])
    proof = evidence.health_runs(journal.runs(), "health checks", "", Recent(24, ""))
    assert not proof.met and proof.findings == 1, "an unhealthy check is no proof of health"
    assert "the newest found group unhealthy" in proof.summary
    assert GPO_FINDING["text"] in proof.summary
    assert [line.text for line in proof.lines] == [GPO_FINDING["text"]]

    fixed = health_run(journal, "group", [])
    proof = evidence.health_runs(journal.runs(), "health checks", "", Recent(24, ""))
    assert proof.met and proof.findings == 0
    assert proof.summary.endswith(", the newest healthy") and proof.total == 2
    assert proof.lines[0].run == fixed
    assert proof.lines[0].text == "health check of group: healthy"


def test_health_evidence_needs_a_recent_check_of_every_domain_healthy(journal: Journal) -> None:
    health_run(journal, "other", [GPO_FINDING])
    health_run(journal, "group", [])  # newer, but of another domain: other is still unhealthy
    proof = evidence.health_runs(journal.runs(), "health checks", "", Recent(24, ""))
    assert not proof.met and "other unhealthy" in proof.summary and "group" not in proof.summary
    stale = evidence.health_runs(journal.runs(), "health checks", "", Recent(24, FUTURE))
    assert not stale.met and stale.findings == 0, "no check in the window is missing evidence"
    assert stale.summary.endswith(": none in the 24 hours before this report")


def test_an_interrupted_health_check_never_counts_as_healthy(journal: Journal) -> None:
    journal.start_run(mode="health", operator=OPERATOR, extra={"domain": "group"})  # no end
    proof = evidence.health_runs(journal.runs(), "health checks", "", Recent(24, ""))
    assert not proof.met and "group running" in proof.summary
