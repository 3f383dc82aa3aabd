"""A service desk as the `adsuite serve` tests see it: a real HTTP client that signs,
and the real `adsuite serve` command started and stopped as a process.

Requests go over a socket with urllib, exactly as bytes leave a service desk; the
signature is computed here from the documented rule, not by the server's code path.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


@dataclass
class DeskClient:
    url: str
    secret: str
    context: ssl.SSLContext | None = None

    def signature(self, stamp: int, payload: bytes) -> str:
        message = str(stamp).encode() + b"." + payload
        return "sha256=" + hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()

    def headers(self, payload: bytes, stamp: int | None = None) -> dict[str, str]:
        stamp = int(time.time()) if stamp is None else stamp
        return {
            "X-Adsuite-Timestamp": str(stamp),
            "X-Adsuite-Signature": self.signature(stamp, payload),
        }

    def post(self, path: str, document: Any, headers: dict[str, str] | None = None) -> Answer:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        signed = self.headers(body) if headers is None else headers
        sent = {"Content-Type": "application/json", **signed}
        return self.send(urllib.request.Request(self.url + path, body, sent, method="POST"))

    def get(self, path: str) -> Answer:
        request = urllib.request.Request(self.url + path, headers=self.headers(path.encode()))
        return self.send(request)

    def send(self, request: urllib.request.Request) -> Answer:
        try:
            with urllib.request.urlopen(request, timeout=30, context=self.context) as response:
                return Answer(response.status, json.loads(response.read()))
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, json.loads(error.read()))

    def wait_for_end(self, run_url: str, timeout: float = 120) -> Answer:
        """Poll GET <run_url> until the run is no longer queued or running."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.get(run_url)
            if answer.body.get("status") not in ("queued", "running"):
                return answer
            assert time.monotonic() < deadline, f"run still {answer.body.get('status')}"
            time.sleep(0.2)


def start_cli(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "adsuite", "serve", "--listen", "127.0.0.1:0", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stderr is not None
    deadline = time.monotonic() + 30
    for line in server.stderr:
        if line.startswith("adsuite serve: listening on "):
            return server, line.split()[-1]
        assert time.monotonic() < deadline
    server.wait(5)
    raise AssertionError(f"adsuite serve exited {server.returncode} without listening")


def stop_cli(server: subprocess.Popen[str]) -> int:
    server.send_signal(signal.SIGTERM)
    assert server.stderr is not None
    rest = server.stderr.read()
    code = server.wait(30)
    assert "adsuite serve: stopped" in rest, rest
    return code
