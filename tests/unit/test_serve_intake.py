"""What `adsuite serve` decides before a ticket is queued: refusals from the headers alone
(before any body byte is read), the ticket framework's offline check at intake, refused
tickets in the journal (id and reason, never the body), and spool files that only the
server's user reads and that do not outlive their use."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.fake_ticket_runner import FAKE_TYPES

from adsuite.connectors.credentials import Secret
from adsuite.errors import InputError
from adsuite.journal.store import Journal
from adsuite.serve.app import App, Request, Response
from adsuite.serve.contract import Refusal
from adsuite.serve.desk_config import DeskMapping
from adsuite.serve.live import LiveTicketCheck, spooled
from adsuite.serve.queue import Queue
from adsuite.serve.refusals import RefusalJournal
from adsuite.serve.signature import signed_headers

SECRET = Secret("a-webhook-secret-for-unit-tests-only-0123456789")
NOW = 1_795_743_000
REPO = Path(__file__).resolve().parents[2]
TICKET = {
    "id": "IT-2026-0042",
    "type": "leaver",
    "requester": "li.hr",
    "approvals": [{"name": "zhou.hr", "role": "hr", "time": "2026-11-27T09:30:00+08:00"}],
    "parameters": {"user": "old.user", "note": "s3cret-in-the-body"},
}


class Intake:
    """An App over a real queue, with an offline check and a list of refusals."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue
        self.refusals: list[Refusal] = []
        self.checked: list[str] = []
        self.app = App(
            secret=SECRET,
            queue=queue,
            types=FAKE_TYPES,
            domain_of=lambda name: "group",
            desks=DeskMapping(),
            on_queued=lambda: None,
            clock=lambda: NOW,
            check=self._check,
            on_refused=self.refusals.append,
        )

    def _check(self, document: Any, domain: str) -> None:
        self.checked.append(str(document["id"]))
        if document.get("requester") == "nobody":
            raise InputError("approvals: leaver needs an approval by hr", hint="ask HR")

    def signed(self, doc: Any, stamp: int = NOW) -> Request:
        body = json.dumps(doc).encode()
        headers = signed_headers(SECRET, stamp, body)
        return Request(
            "POST",
            "/tickets",
            headers["X-Adsuite-Timestamp"],
            headers["X-Adsuite-Signature"],
            body,
            content_length=str(len(body)),
        )


@pytest.fixture()
def intake(tmp_path: Path) -> Iterator[Intake]:
    with Queue.open(tmp_path / "queue.sqlite", clock=lambda: NOW) as queue:
        yield Intake(queue)


def head(method: str = "POST", path: str = "/tickets", **fields: Any) -> Request:
    return Request(
        method, path, fields.pop("timestamp", None), fields.pop("signature", None), **fields
    )


def refusal(answer: Response | int) -> tuple[int, str]:
    assert isinstance(answer, Response), f"precheck let it through ({answer} body bytes)"
    return answer.status, answer.body["error"]


def test_headers_alone_refuse_unsigned_oversized_chunked_and_stale_requests(
    intake: Intake,
) -> None:
    unsigned = head(content_length=str(1 << 20))
    assert refusal(intake.app.precheck(unsigned)) == (401, "missing X-Adsuite-Timestamp header")
    signed = intake.signed(TICKET)
    over = head(timestamp=signed.timestamp, signature=signed.signature, content_length="1048577")
    assert refusal(intake.app.precheck(over)) == (413, "the body is larger than 1048576 bytes")
    chunked = head(timestamp=signed.timestamp, signature=signed.signature, chunked=True)
    assert refusal(intake.app.precheck(chunked))[0] == 411
    stale = intake.signed(TICKET, stamp=NOW - 301)
    assert refusal(intake.app.precheck(stale))[1].startswith("timestamp is 301 s old")
    assert intake.app.precheck(signed) == len(signed.body), "a good head: read the body"
    assert intake.refusals == [], "unauthenticated requests are not journaled"


def test_every_method_and_path_error_is_json_with_allow(intake: Intake) -> None:
    options = intake.app.precheck(head("OPTIONS"))
    assert isinstance(options, Response)
    assert (options.status, options.body, options.headers) == (
        405,
        {"error": "/tickets takes POST, not OPTIONS"},
        {"Allow": "POST"},
    )
    assert refusal(intake.app.precheck(head("GET", "/nope"))) == (404, "no such endpoint: /nope")
    assert intake.app.precheck(head("GET", "/health")) == 0


def test_offline_check_refuses_at_intake_and_journals_the_id_and_reason(intake: Intake) -> None:
    answer = intake.app.handle(intake.signed({**TICKET, "requester": "nobody"}))
    assert (answer.status, answer.body) == (
        422,
        {"error": "approvals: leaver needs an approval by hr (hint: ask HR)"},
    )
    assert sum(intake.queue.counts().values()) == 0
    assert intake.refusals == [
        Refusal(
            "IT-2026-0042",
            "approvals: leaver needs an approval by hr (hint: ask HR)",
            "native",
            422,
        )
    ]


def test_a_replayed_refused_request_is_409_and_journaled_once(intake: Intake) -> None:
    request = intake.signed({**TICKET, "requester": "nobody"})
    assert intake.app.handle(request).status == 422
    assert intake.app.handle(request).status == 409
    assert len(intake.refusals) == 1


def test_the_offline_check_is_skipped_for_a_ticket_already_queued(intake: Intake) -> None:
    assert intake.app.handle(intake.signed(TICKET)).status == 202
    again = intake.app.handle(intake.signed(TICKET, stamp=NOW + 1))
    assert again.status == 200, "a desk's retry gets the existing run"
    assert intake.checked == ["IT-2026-0042"]


def test_refusal_journal_keeps_the_ticket_id_and_reason_not_the_body(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    RefusalJournal(path)(Refusal("IT-9", "approvals:\n  short", "queue", run="q-1"))
    with Journal.open(path) as journal:
        (run,) = journal.runs()
        assert (run.mode, run.status, run.ticket) == ("refused", "failed", "IT-9")
        assert run.extra == {"reason": "approvals: short", "source": "queue", "queue_run": "q-1"}
        assert journal.changes(run.id) == []


def test_spooled_ticket_is_0600_from_creation_and_removed_after(tmp_path: Path) -> None:
    spool = tmp_path / "tickets"
    with spooled(spool, "q-1", TICKET) as path:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(spool.stat().st_mode) == 0o700
        assert json.loads(path.read_text())["id"] == "IT-2026-0042"
    assert not path.exists()
    with pytest.raises(InputError), spooled(spool, "q-2", TICKET) as failing:
        raise InputError("the run refused it")
    assert not failing.exists() and list(spool.iterdir()) == []


def test_live_check_is_ticket_check_offline_on_the_mapped_document(tmp_path: Path) -> None:
    check = LiveTicketCheck(
        REPO / "playbooks/approvals.yml",
        tmp_path / "journal.sqlite",
        tmp_path / "tickets",
        REPO / "inventory/lab.yml",
    )
    good = {**TICKET, "parameters": {"user": "old.user"}}
    check(good, "group")
    with pytest.raises(InputError) as refused:
        check({**good, "approvals": []}, "group")
    assert "approv" in refused.value.message
    assert list((tmp_path / "tickets").iterdir()) == [], "no spool file outlives the check"
