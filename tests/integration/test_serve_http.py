"""`adsuite serve` over real sockets, with a FAKE ticket runner: signatures, replays and bad
bodies are refused with nothing queued, a good ticket's outcome is read back, and a
queued ticket survives a restart of the server (in-process and as a real process)."""

from __future__ import annotations

import json
import logging
import os
import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from deskclient import DeskClient, start_cli, stop_cli
from fakes.fake_ticket_runner import FAKE_TYPES, FakeTicketRunner
from fakes.fake_tls import make_fake_tls

from adsuite.connectors.credentials import Secret
from adsuite.errors import InputError
from adsuite.journal.store import Journal
from adsuite.serve.server import Limits, Service, Settings, tls_context

SECRET = "a-webhook-secret-for-the-http-tests-0123456789"
TICKET = {
    "id": "IT-2026-0042",
    "type": "new_employee",
    "requester": "li.hr",
    "approvals": [{"name": "zhou.hr", "role": "hr", "time": "2026-11-27T09:30:00+08:00"}],
    "parameters": {"company": "HQ", "name": "zhang.wei", "display_name": "张伟"},
}
REPO = Path(__file__).resolve().parents[2]


def only_group(name: str | None) -> str:
    if name not in (None, "group"):
        raise InputError(f"unknown domain '{name}' (known: group)")
    return "group"


StartServer = Callable[..., Service]


@pytest.fixture()
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Start `adsuite serve` in this process on 127.0.0.1 and a free port; stopped after."""
    started: list[Service] = []

    def start(
        runner: FakeTicketRunner,
        *,
        paused: bool = False,
        tls: ssl.SSLContext | None = None,
        limits: Limits | None = None,
    ) -> Service:
        settings = Settings(
            host="127.0.0.1",
            port=0,
            secret=Secret(SECRET),
            queue=tmp_path / "queue.sqlite",
            inventory=tmp_path / "inventory.yml",
            types=FAKE_TYPES,
            domain_of=only_group,
            runner=runner,
            tls=tls,
            paused=paused,
            poll=0.1,
            journal=tmp_path / "journal.sqlite",
            limits=limits or Limits(),
        )
        service = Service(settings)
        service.start()
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop(timeout=10)


def queued(service: Service) -> int:
    assert service.queue is not None
    return sum(service.queue.counts().values())


def test_bad_signature_is_refused_and_nothing_is_queued(start_server: StartServer) -> None:
    service = start_server(FakeTicketRunner())
    client = DeskClient(service.url, "not-the-secret-" + SECRET)
    answer = client.post("/tickets", TICKET)
    assert (answer.status, answer.body) == (401, {"error": "bad signature"})
    missing = DeskClient(service.url, SECRET).post("/tickets", TICKET, headers={})
    assert (missing.status, missing.body) == (401, {"error": "missing X-Adsuite-Timestamp header"})
    assert queued(service) == 0


def test_replayed_timestamp_and_signature_are_refused_and_nothing_more_is_queued(
    start_server: StartServer,
) -> None:
    runner = FakeTicketRunner()
    service = start_server(runner, paused=True)
    client = DeskClient(service.url, SECRET)
    body = json.dumps(TICKET).encode()
    headers = client.headers(body)
    assert client.post("/tickets", body, headers).status == 202
    replay = client.post("/tickets", body, headers)
    assert (replay.status, replay.body) == (
        409,
        {"error": "replayed request: this signature was used before"},
    )
    assert queued(service) == 1


def test_malformed_body_is_refused_and_nothing_is_queued(start_server: StartServer) -> None:
    service = start_server(FakeTicketRunner())
    client = DeskClient(service.url, SECRET)
    broken = client.post("/tickets", b'{"id": "IT-1", "type": ')
    assert broken.status == 400
    assert broken.body["error"].startswith("the body is not JSON: Expecting value at line 1")
    lacking = client.post("/tickets", {"id": "IT-1", "type": "new_employee"})
    assert (lacking.status, lacking.body) == (422, {"error": "ticket needs 'requester'"})
    huge = client.post("/tickets", b"x" * ((1 << 20) + 1))
    assert huge.status == 413
    assert queued(service) == 0


def test_good_ticket_is_queued_run_and_its_outcome_read_back(start_server: StartServer) -> None:
    runner = FakeTicketRunner()
    service = start_server(runner)
    client = DeskClient(service.url, SECRET)
    accepted = client.post("/tickets", TICKET)
    assert accepted.status == 202
    assert accepted.body["status"] == "queued"
    assert accepted.body["url"] == f"/runs/{accepted.body['id']}"
    ended = client.wait_for_end(accepted.body["url"])
    assert ended.status == 200
    assert ended.body["status"] == "done"
    assert ended.body["journal_run"] == f"fake-journal-{accepted.body['id']}"
    assert ended.body["changes"] == [
        {
            "kind": "user",
            "action": "create",
            "target": "CN=zhang.wei,OU=Users,OU=HQ,DC=group,DC=example,DC=com",
            "outcome": "applied",
        }
    ]
    assert runner.ticket_ids() == ["IT-2026-0042"]
    assert runner.jobs[0].ticket == TICKET, "the runner gets the ticket document as posted"


def test_refused_ticket_ends_refused_with_the_runners_reason(start_server: StartServer) -> None:
    service = start_server(FakeTicketRunner())
    client = DeskClient(service.url, SECRET)
    accepted = client.post("/tickets", {**TICKET, "requester": "refuse-me"})
    ended = client.wait_for_end(accepted.body["url"])
    assert ended.body["status"] == "refused"
    assert ended.body["reason"] == "ticket IT-2026-0042: approvals short of the rules (fake)"


def test_queued_ticket_survives_a_restart_of_the_server(start_server: StartServer) -> None:
    runner = FakeTicketRunner()
    paused = start_server(runner, paused=True)
    accepted = DeskClient(paused.url, SECRET).post("/tickets", TICKET)
    assert accepted.status == 202
    assert paused.stop(timeout=5)
    assert runner.jobs == [], "a paused server runs nothing"

    restarted = start_server(runner)
    ended = DeskClient(restarted.url, SECRET).wait_for_end(accepted.body["url"])
    assert ended.body["status"] == "done"
    assert runner.ticket_ids() == ["IT-2026-0042"]


def test_https_with_a_certificate_and_key(start_server: StartServer, tmp_path: Path) -> None:
    tls = make_fake_tls(tmp_path / "tls")
    service = start_server(FakeTicketRunner(), tls=tls_context(tls.cert_file, tls.key_file))
    assert service.url.startswith("https://127.0.0.1:")
    client = DeskClient(service.url, SECRET, ssl.create_default_context(cafile=tls.ca_file))
    accepted = client.post("/tickets", TICKET)
    assert accepted.status == 202
    assert client.wait_for_end(accepted.body["url"]).body["status"] == "done"


def test_one_log_line_per_request_without_body_or_secret(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    service = start_server(FakeTicketRunner(), paused=True)
    client = DeskClient(service.url, SECRET)
    with caplog.at_level(logging.INFO, logger="adsuite.serve"):
        accepted = client.post("/tickets", TICKET)
        client.post("/tickets", {**TICKET, "type": "nope"})
        client.get(accepted.body["url"])
    lines = [r.getMessage() for r in caplog.records if r.name == "adsuite.serve.asgi"]
    requests = [line for line in lines if " /tickets " in line or " /runs/" in line]
    assert requests == [
        "127.0.0.1 POST /tickets 202 ticket=IT-2026-0042",
        "127.0.0.1 POST /tickets 422 ticket=IT-2026-0042",
        f"127.0.0.1 GET {accepted.body['url']} 200 ticket=IT-2026-0042",
    ]
    logged = caplog.text
    assert SECRET not in logged and "zhang.wei" not in logged and "张伟" not in logged


def test_cli_server_keeps_a_queued_ticket_across_sigterm_and_restart(tmp_path: Path) -> None:
    """The real `adsuite serve` process: SIGTERM stops it cleanly; the ticket is still queued."""
    env = {
        **os.environ,
        "ADSUITE_CRED_SERVICE_DESK": SECRET,
        "ADSUITE_JOURNAL": str(tmp_path / "journal.sqlite"),
    }
    args = ["-i", str(REPO / "inventory/lab.yml"), "--rules", str(REPO / "playbooks/approvals.yml")]
    leaver = {**TICKET, "id": "IT-7", "type": "leaver", "parameters": {"user": "old.user"}}

    server, url = start_cli([*args, "--paused"], env)
    client = DeskClient(url, SECRET)
    accepted = client.post("/tickets", leaver)
    assert accepted.status == 202, accepted.body
    needs_password = client.post("/tickets", TICKET)
    assert needs_password.status == 422
    assert "this server has no --password-dir" in needs_password.body["error"]
    assert stop_cli(server) == 0

    server, url = start_cli([*args, "--paused"], env)
    again = DeskClient(url, SECRET).get(accepted.body["url"])
    assert again.body["status"] == "queued" and again.body["ticket"] == "IT-7"
    assert stop_cli(server) == 0
    assert (tmp_path / "ticket-queue.sqlite").exists(), "the queue lives next to the journal"


def exchange(service: Service, data: bytes) -> tuple[int, dict[str, object], bytes]:
    """Send raw bytes, read until the server closes: (status, JSON body, raw head)."""
    with socket.create_connection(service.address, timeout=30) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body), head


def test_protocol_errors_and_odd_methods_are_answered_in_json(start_server: StartServer) -> None:
    service = start_server(FakeTicketRunner(), paused=True)
    status, body, head = exchange(service, b"OPTIONS /tickets HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (status, body) == (405, {"error": "/tickets takes POST, not OPTIONS"})
    assert b"application/json" in head and b"allow: POST" in head
    status, body, _ = exchange(service, b"\x16\x03\x01 this is not HTTP\r\n\r\n")
    assert status == 400 and "not an HTTP/1.1 request" in str(body["error"])
    status, body, _ = exchange(service, b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert (status, body) == (404, {"error": "no such endpoint: /x"})


def test_unsigned_request_is_refused_on_its_headers_before_the_body_is_sent(
    start_server: StartServer,
) -> None:
    """Expect: 100-continue: the client waits for a go-ahead the server never gives."""
    service = start_server(FakeTicketRunner(), paused=True)
    head = b"POST /tickets HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n"
    status, body, _ = exchange(service, head + b"Expect: 100-continue\r\n\r\n")
    assert (status, body) == (401, {"error": "missing X-Adsuite-Timestamp header"})
    assert queued(service) == 0


def test_headers_that_never_finish_are_answered_408_and_closed(start_server: StartServer) -> None:
    service = start_server(FakeTicketRunner(), paused=True, limits=Limits(header_timeout=0.5))
    status, body, _ = exchange(service, b"POST /tickets HTTP/1.1\r\nHost: x\r\nX-Adsu")
    assert (status, body) == (408, {"error": "the request headers did not arrive in time"})


def test_a_connection_over_the_limit_is_answered_503_and_the_rest_still_served(
    start_server: StartServer,
) -> None:
    service = start_server(FakeTicketRunner(), paused=True, limits=Limits(connections=3))
    held = [socket.create_connection(service.address, timeout=30) for _ in range(3)]
    try:
        for sock in held:
            sock.sendall(b"G")  # accepted and being read: the three count
        status, body, _ = exchange(service, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (status, body) == (503, {"error": "too many connections; try again shortly"})
    finally:
        for sock in held:
            sock.close()
    answer = DeskClient(service.url, SECRET).post("/tickets", TICKET)
    assert answer.status == 202, "freed connections serve again"


def test_a_ticket_the_runner_refuses_is_journaled_with_its_id_and_reason(
    start_server: StartServer, tmp_path: Path
) -> None:
    service = start_server(FakeTicketRunner())
    client = DeskClient(service.url, SECRET)
    accepted = client.post("/tickets", {**TICKET, "id": "IT-REF-1", "requester": "refuse-me"})
    assert client.wait_for_end(accepted.body["url"]).body["status"] == "refused"
    service.stop(timeout=10)
    with Journal.open(tmp_path / "journal.sqlite") as journal:
        (run,) = journal.runs()
    assert (run.mode, run.ticket, run.extra["queue_run"]) == (
        "refused",
        "IT-REF-1",
        accepted.body["id"],
    )
    assert "approvals short of the rules" in str(run.extra["reason"])
    assert "张伟" not in json.dumps(run.extra, ensure_ascii=False)
