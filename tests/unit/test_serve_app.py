"""What `adsuite serve` answers, without sockets: every refusal is a 4xx with a one-line
reason and queues nothing; an accepted ticket is 202 with a run reference."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.fake_ticket_runner import FAKE_TYPES

from adsuite.connectors.credentials import Secret
from adsuite.errors import InputError
from adsuite.serve.app import App, Request, Response
from adsuite.serve.desk_config import DeskMapping, JiraFields
from adsuite.serve.queue import Queue
from adsuite.serve.signature import signed_headers

SECRET = Secret("a-webhook-secret-for-unit-tests-only-0123456789")
NOW = 1_795_743_000
TICKET = {
    "id": "IT-2026-0042",
    "type": "new_employee",
    "requester": "li.hr",
    "approvals": [{"name": "zhou.hr", "role": "hr", "time": "2026-11-27T09:30:00+08:00"}],
    "parameters": {"company": "HQ", "name": "zhang.wei"},
}


def domain_of(name: str | None) -> str:
    if name not in (None, "group"):
        raise InputError(f"unknown domain '{name}' (known: group)")
    return "group"


class Desk:
    """An App over a real queue file, and a client that signs like a service desk."""

    def __init__(self, queue: Queue, desks: DeskMapping) -> None:
        self.queue = queue
        self.woken = 0
        self.app = App(
            secret=SECRET,
            queue=queue,
            types=FAKE_TYPES,
            domain_of=domain_of,
            desks=desks,
            on_queued=self._wake,
            clock=lambda: NOW,
        )

    def _wake(self) -> None:
        self.woken += 1

    def post(self, doc: Any, path: str = "/tickets", stamp: int = NOW) -> Response:
        body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
        headers = signed_headers(SECRET, stamp, body)
        request = Request(
            "POST", path, headers["X-Adsuite-Timestamp"], headers["X-Adsuite-Signature"], body
        )
        return self.app.handle(request)

    def get(self, path: str) -> Response:
        headers = signed_headers(SECRET, NOW, path.encode())
        return self.app.handle(
            Request("GET", path, headers["X-Adsuite-Timestamp"], headers["X-Adsuite-Signature"])
        )

    def queued(self) -> int:
        return sum(self.queue.counts().values())


@pytest.fixture()
def desk(tmp_path: Path) -> Iterator[Desk]:
    desks = DeskMapping(jira=JiraFields(type_field="customfield_10050"))
    with Queue.open(tmp_path / "queue.sqlite", clock=lambda: NOW) as queue:
        yield Desk(queue, desks)


def test_good_ticket_is_queued_with_a_run_reference(desk: Desk) -> None:
    answer = desk.post(TICKET)
    assert answer.status == 202
    run_id = answer.body["id"]
    assert answer.body == {
        "id": run_id,
        "status": "queued",
        "url": f"/runs/{run_id}",
        "ticket": "IT-2026-0042",
    }
    assert desk.woken == 1
    shown = desk.get(f"/runs/{run_id}")
    assert shown.status == 200
    assert shown.body["status"] == "queued" and shown.body["domain"] == "group"
    assert (shown.body["journal_run"], shown.body["changes"]) == (None, []), "same keys always"


def with_(**changes: Any) -> dict[str, Any]:
    return {k: v for k, v in {**TICKET, **changes}.items() if v is not None}


@pytest.mark.parametrize(
    ("body", "path", "status", "reason"),
    [
        (b"{not json", "/tickets", 400, "the body is not JSON: Expecting property name"),
        (b"\xff\xfe", "/tickets", 400, "the body is not UTF-8 text"),
        (b'{"id": NaN}', "/tickets", 400, "NaN is not a number JSON allows"),
        ([TICKET], "/tickets", 422, "the body must be a JSON object"),
        (with_(requester=None), "/tickets", 422, "ticket needs 'requester'"),
        (with_(paramters={}), "/tickets", 422, "unknown key 'paramters' in ticket"),
        (
            with_(type="new_employe"),
            "/tickets",
            422,
            "unknown ticket type 'new_employe' (did you mean 'new_employee'?)",
        ),
        (
            with_(type="elevation"),
            "/tickets",
            422,
            "ticket type 'elevation': it has a rule, but adsuite does not carry it out yet",
        ),
        (with_(domain="other"), "/tickets", 422, "unknown domain 'other' (known: group)"),
        (with_(id="IT 42"), "/tickets", 422, "ticket id 'IT 42' must be 1 to 64 letters"),
        (
            {"number": "RITM1"},
            "/tickets/servicenow",
            422,
            "the ServiceNow body needs 'u_adsuite_type'",
        ),
        (
            {"issue": {"key": "IT-1", "fields": {}}},
            "/tickets/jira",
            422,
            "Jira field customfield_10050 (the ticket type) is empty",
        ),
        (TICKET, "/ticket", 404, "no such endpoint: /ticket"),
    ],
)
def test_refusal_is_a_4xx_with_one_line_reason_and_queues_nothing(
    desk: Desk, body: Any, path: str, status: int, reason: str
) -> None:
    answer = desk.post(body, path)
    assert answer.status == status
    assert reason in answer.body["error"]
    assert "\n" not in answer.body["error"]
    assert desk.queued() == 0 and desk.woken == 0


def test_unsigned_bad_and_stale_requests_are_401_and_queue_nothing(desk: Desk) -> None:
    body = json.dumps(TICKET).encode()
    unsigned = desk.app.handle(Request("POST", "/tickets", None, None, body))
    assert (unsigned.status, unsigned.body) == (
        401,
        {"error": "missing X-Adsuite-Timestamp header"},
    )
    bad = desk.app.handle(Request("POST", "/tickets", str(NOW), "sha256=" + "ab" * 32, body))
    assert (bad.status, bad.body) == (401, {"error": "bad signature"})
    stale = desk.post(TICKET, stamp=NOW - 3600)
    assert stale.status == 401 and "3600 s old" in stale.body["error"]
    assert desk.queued() == 0


def test_replayed_request_is_409_and_queues_nothing_more(desk: Desk) -> None:
    body = json.dumps(TICKET).encode()
    headers = signed_headers(SECRET, NOW, body)
    request = Request(
        "POST", "/tickets", headers["X-Adsuite-Timestamp"], headers["X-Adsuite-Signature"], body
    )
    assert desk.app.handle(request).status == 202
    replay = desk.app.handle(request)
    assert replay.status == 409
    assert replay.body == {"error": "replayed request: this signature was used before"}
    assert desk.queued() == 1


def test_same_ticket_sent_again_gets_its_existing_run(desk: Desk) -> None:
    first = desk.post(TICKET)
    again = desk.post(TICKET, stamp=NOW + 1)  # a new signature: the desk retried
    assert again.status == 200
    assert again.body["id"] == first.body["id"]
    assert desk.queued() == 1 and desk.woken == 1


def test_a_refused_ticket_may_be_sent_again_and_is_queued_anew(desk: Desk) -> None:
    first = desk.post(TICKET)
    desk.queue.claim(set(), Path("inventory.yml"))
    desk.queue.finish(first.body["id"], "refused", None, "approvals short of the rules")
    again = desk.post(TICKET, stamp=NOW + 1)
    assert again.status == 202 and again.body["id"] != first.body["id"]


def test_runs_are_read_only_with_a_signature_over_the_path(desk: Desk) -> None:
    run_id = desk.post(TICKET).body["id"]
    path = f"/runs/{run_id}"
    signed_for_other = signed_headers(SECRET, NOW, b"/runs/q-20261127T000000Z-000000")
    wrong = desk.app.handle(
        Request(
            "GET",
            path,
            signed_for_other["X-Adsuite-Timestamp"],
            signed_for_other["X-Adsuite-Signature"],
        )
    )
    assert (wrong.status, wrong.body) == (401, {"error": "bad signature"})
    assert desk.get("/runs/q-20261127T000000Z-000000").status == 404
    assert desk.get("/runs/../../etc/passwd").body == {"error": "no run ../../etc/passwd"}
    assert desk.get(path).status == 200


def test_wrong_method_and_unconfigured_jira_are_refused(tmp_path: Path) -> None:
    with Queue.open(tmp_path / "q.sqlite", clock=lambda: NOW) as queue:
        desk = Desk(queue, DeskMapping())
        jira = desk.post({"issue": {}}, "/tickets/jira")
        assert jira.status == 404 and "--mapping FILE" in jira.body["error"]
        get = desk.get("/tickets")
        assert (get.status, get.body) == (405, {"error": "/tickets takes POST, not GET"})
        health = desk.app.handle(Request("GET", "/health", None, None))
        assert (health.status, health.body) == (200, {"status": "ok"})


def jira_event(stamp_ms: int) -> bytes:
    issue = {
        "key": "IT-77",
        "fields": {"reporter": {"name": "li.hr"}, "customfield_10050": {"value": "leaver"}},
    }
    return json.dumps(
        {"timestamp": stamp_ms, "webhookEvent": "jira:issue_updated", "issue": issue}
    ).encode()


def jira_request(body: bytes, secret: Secret = SECRET) -> Request:
    mac = hmac.new(secret.reveal().encode(), body, hashlib.sha256).hexdigest()
    return Request("POST", "/tickets/jira", None, None, body, jira_signature=f"sha256={mac}")


def test_jiras_own_webhook_signature_over_the_body_and_its_timestamp(desk: Desk) -> None:
    fresh = jira_request(jira_event(NOW * 1000 - 5_000))
    accepted = desk.app.handle(fresh)
    assert accepted.status == 202 and accepted.ticket == "IT-77"
    assert desk.app.handle(fresh).status == 409, "a replayed Jira delivery is refused"
    stale = desk.app.handle(jira_request(jira_event((NOW - 301) * 1000)))
    assert (stale.status, stale.body) == (
        401,
        {"error": "timestamp is 301 s old; requests older than 300 s are refused"},
    )
    forged = desk.app.handle(jira_request(jira_event(NOW * 1000), Secret("x" * 40)))
    assert (forged.status, forged.body) == (401, {"error": "bad signature"})
    no_time = json.dumps({"issue": {}}).encode()
    missing = desk.app.handle(jira_request(no_time))
    assert missing.body == {"error": 'a Jira webhook body needs its "timestamp" (milliseconds)'}
    assert desk.queued() == 1
