"""The HTTP(S) server of ``adsuite serve``: stdlib threads, optional TLS, one log line a request.

:class:`Service` puts the pieces together — the queue, the dispatcher, the
:class:`~adsuite.serve.app.App` and a ``ThreadingHTTPServer`` — and stops them in
order: no new requests, no new tickets claimed, running tickets allowed to finish.
Each request is logged as one line (client, method, path, status, ticket id); bodies,
headers and secrets never are. TLS handshakes happen on the request's own thread, so
a slow client cannot hold up the others.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from adsuite.connectors.credentials import Secret
from adsuite.errors import InputError
from adsuite.serve.app import App, Request, Response, shown
from adsuite.serve.contract import Refused, TicketRunner, TicketTypes
from adsuite.serve.desk_config import DeskMapping
from adsuite.serve.intake import DomainOf
from adsuite.serve.queue import Queue
from adsuite.serve.signature import (
    DEFAULT_WINDOW,
    JIRA_SIGNATURE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
)
from adsuite.serve.worker import Dispatcher

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # a ticket is a few kilobytes; a Jira issue with history, a few hundred
MAX_DISCARD = 16 << 20  # a larger refused body is not read: the connection is cut
SOCKET_TIMEOUT = 30.0


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    secret: Secret
    queue: Path
    inventory: Path
    types: TicketTypes
    domain_of: DomainOf
    runner: TicketRunner
    desks: DeskMapping = field(default_factory=DeskMapping)
    tls: ssl.SSLContext | None = None
    window: int = DEFAULT_WINDOW
    paused: bool = False  # accept and queue tickets, run none
    clock: Callable[[], float] = time.time
    poll: float = 5.0


def parse_listen(text: str) -> tuple[str, int]:
    """``127.0.0.1:8443`` or ``[::1]:8443`` → (host, port)."""
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InputError(f"--listen {text!r}: use HOST:PORT, like 127.0.0.1:8443 or [::1]:8443")
    return host, int(port)


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
        raise InputError(f"cannot load TLS certificate {cert} and key {key}: {reason}") from None
    return context


class Service:
    """The running service; ``start`` binds and starts, ``stop`` winds down gracefully."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.queue: Queue | None = None
        self._dispatcher: Dispatcher | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        scheme = "https" if self.settings.tls else "http"
        return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"

    def start(self) -> None:
        s = self.settings
        self.queue = Queue.open(s.queue, clock=s.clock)
        try:
            self._dispatcher = Dispatcher(self.queue, s.runner, s.inventory, poll=s.poll)
            app = App(
                secret=s.secret,
                queue=self.queue,
                types=s.types,
                domain_of=s.domain_of,
                desks=s.desks,
                on_queued=self._dispatcher.wake,
                clock=s.clock,
                window=s.window,
            )
            self._server = _Server((s.host, s.port), app, s.tls)
        except BaseException:
            self.queue.close()
            raise
        if not s.paused:
            self._dispatcher.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="http"
        )
        self._thread.start()
        queued = self.queue.counts()["queued"]
        log.info("listening on %s; %d ticket(s) queued%s", self.url, queued, _paused(s.paused))

    def stop(self, timeout: float | None = None) -> bool:
        """Stop taking requests, claim no more tickets, wait for running ones (True: all ended)."""
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._server.server_close()
        finished = True
        if self._dispatcher is not None:
            running = self._dispatcher.running()
            if running:
                log.info("waiting for %d running ticket(s) to finish", running)
            finished = self._dispatcher.stop(timeout)
        if self.queue is not None and finished:
            self.queue.close()
            self.queue = None
        self._server = self._thread = self._dispatcher = None
        return finished

    def __enter__(self) -> Service:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _paused(paused: bool) -> str:
    return " (paused: tickets are queued, none is run)" if paused else ""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: App, tls: ssl.SSLContext | None) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.app = app
        self.tls = tls
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(SOCKET_TIMEOUT)
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        try:
            wrapped = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.warning("%s: TLS handshake failed: %s", client_address[0], type(exc).__name__)
            return
        try:
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.warning("%s: request failed", client_address[0], exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def version_string(self) -> str:
        return "adsuite-serve"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    do_PUT = do_DELETE = do_PATCH = do_POST

    def _serve(self) -> None:
        try:
            body = self._body() if self.command != "GET" else b""
            request = Request(
                self.command,
                self.path,
                self.headers.get(TIMESTAMP_HEADER),
                self.headers.get(SIGNATURE_HEADER),
                body,
                self.headers.get(JIRA_SIGNATURE_HEADER),
            )
            response = self.server.app.handle(request)
        except Refused as exc:
            response = Response(exc.status, {"error": exc.message})
        log.info(
            "%s %s %s %d ticket=%s",
            self.client_address[0],
            self.command,
            shown(self.path),
            response.status,
            shown(response.ticket) if response.ticket else "-",
        )
        self._send(response)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            raise Refused(411, "send the body with a Content-Length, not chunked")
        length = self.headers.get("Content-Length")
        if length is None:
            raise Refused(411, "a Content-Length header is required")
        if not length.strip().isdigit():
            raise Refused(400, "bad Content-Length header")
        if int(length) > MAX_BODY:
            self._discard(int(length))
            raise Refused(413, f"the body is larger than {MAX_BODY} bytes")
        return self.rfile.read(int(length))

    def _discard(self, length: int) -> None:
        """Read a refused body away, so the client reads the 413 instead of a reset."""
        if length > MAX_DISCARD:
            self.close_connection = True
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                return
            length -= len(chunk)

    def _send(self, response: Response) -> None:
        data = json.dumps(response.body, ensure_ascii=False).encode("utf-8") + b"\n"
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Logged once the request is answered, with its ticket (see _serve)."""

    def log_message(self, format: str, *args: Any) -> None:
        log.warning("%s: %s", self.client_address[0], shown(format % args, 200))
