"""`adsuite serve` under load on loopback: the real command as a process, slow clients holding
connections, bad bodies by the hundred — and a signed ticket still gets its 202.

Bounded in count (SLOW connections, BAD bodies) and in time (each socket has a timeout,
the whole test a generous one as a safety net); only 127.0.0.1 traffic. The server's
memory and threads are read from /proc/<pid>/status while the load runs; assertions
are on outcomes and counts, never on how fast an answer came.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from deskclient import DeskClient

SECRET = "a-webhook-secret-for-the-load-tests-0123456789"
REPO = Path(__file__).resolve().parents[2]
SLOW = 300  # connections that send their headers a byte at a time and never finish
UNSIGNED = 150  # 1 MiB bodies without a signature
FORGED = 50  # 1 MiB bodies with well-formed headers and a wrong MAC (read, then refused)
OVERSIZED = 50  # Content-Length 64 MiB: refused on the headers
MIB = 1 << 20
RSS_GROWTH_CEILING = 64 * MIB  # over the idle server's RSS; the stdlib server grew 200 MB
THREAD_CEILING = 16  # main, event loop, 4 workers, dispatcher, a few of Python's own
LEAVER = {
    "id": "IT-LOAD-1",
    "type": "leaver",
    "requester": "li.hr",
    "approvals": [{"name": "zhou.hr", "role": "hr", "time": "2026-11-27T09:30:00+08:00"}],
    "parameters": {"user": "old.user"},
}


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """`adsuite serve --paused` as its own process, its log in a file (never a full pipe)."""
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "ADSUITE_CRED_SERVICE_DESK": SECRET,
        "ADSUITE_JOURNAL": str(tmp_path / "journal.sqlite"),
    }
    command = [sys.executable, "-m", "adsuite", "serve", "--listen", "127.0.0.1:0", "--paused"]
    command += ["-i", str(REPO / "inventory/lab.yml")]
    command += ["--rules", str(REPO / "playbooks/approvals.yml"), "--header-timeout", "600"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
    try:
        yield process, _port(process, log), log
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


def _port(process: subprocess.Popen[bytes], log: Path) -> int:
    for _ in range(600):  # 60 s at most
        found = re.search(rb"listening on http://127\.0\.0\.1:([0-9]+)", log.read_bytes())
        if found:
            return int(found.group(1))
        assert process.poll() is None, log.read_text()
        time.sleep(0.1)
    raise AssertionError("adsuite serve did not start listening")


def status_of(pid: int) -> tuple[int, int]:
    """(VmRSS in bytes, Threads) of *pid* from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["Threads"])


class Sampler:
    """The highest RSS and thread count of *pid* seen while the load runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.rss, self.threads = status_of(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            rss, threads = status_of(self.pid)
            self.rss, self.threads = max(self.rss, rss), max(self.threads, threads)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def slow_client(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(b"POST /tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Adsuite-Tim")
    return sock


def still_open(sock: socket.socket) -> bool:
    """The server has neither answered nor closed this connection."""
    sock.setblocking(False)
    try:
        return not sock.recv(1)  # b"": closed by the server; data: it answered
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)


def raw_post(port: int, headers: dict[str, str], body: bytes) -> int | str:
    """One request over its own socket; the status, or the name of the socket error."""
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = f"POST /tickets HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode() + body
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(request)
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    return "closed"
                answer += chunk
    except OSError as exc:
        return type(exc).__name__
    return int(answer.split(b" ", 2)[1])


def bad_request(port: int, number: int) -> int | str:
    stamp = str(int(time.time()))
    if number < UNSIGNED:
        return raw_post(port, {"Content-Length": str(MIB)}, b"x" * MIB)
    if number < UNSIGNED + FORGED:
        forged = {"X-Adsuite-Timestamp": stamp, "X-Adsuite-Signature": "sha256=" + "0" * 64}
        return raw_post(port, {**forged, "Content-Length": str(MIB)}, b"x" * MIB)
    return raw_post(port, {"Content-Length": str(64 * MIB)}, b"")


def test_slow_clients_and_bad_bodies_leave_memory_threads_bounded_and_a_ticket_answered(
    server: tuple[subprocess.Popen[bytes], int, Path],
) -> None:
    process, port, log = server
    idle_rss, _ = status_of(process.pid)
    slow = [slow_client(port) for _ in range(SLOW)]
    try:
        with Sampler(process.pid) as peak, ThreadPoolExecutor(16) as pool:
            outcomes = Counter(
                pool.map(lambda n: bad_request(port, n), range(UNSIGNED + FORGED + OVERSIZED))
            )
            for sock in slow:
                sock.sendall(b"e")  # a byte more each: they are slow, not gone
            answer = DeskClient(f"http://127.0.0.1:{port}", SECRET).post("/tickets", LEAVER)
        assert answer.status == 202, answer.body
        assert sum(still_open(sock) for sock in slow) == SLOW, "the slow clients were held"
    finally:
        for sock in slow:
            sock.close()
    assert outcomes == Counter({401: UNSIGNED + FORGED, 413: OVERSIZED})
    grown = peak.rss - idle_rss
    print(
        f"idle RSS {idle_rss / MIB:.0f} MiB, peak {peak.rss / MIB:.0f} MiB, {peak.threads} threads"
    )
    assert grown < RSS_GROWTH_CEILING, f"RSS grew {grown / MIB:.0f} MiB under load"
    assert peak.threads <= THREAD_CEILING, f"{peak.threads} threads under load"
    logged = log.read_text()
    assert "Traceback" not in logged
    assert json.dumps(LEAVER["parameters"]) not in logged
