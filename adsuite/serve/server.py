"""The HTTP(S) server of ``adsuite serve``: uvicorn on one event loop, bounded, optional TLS.

:class:`Service` puts the pieces together — the queue, the dispatcher, the
:class:`~adsuite.serve.app.App` behind its ASGI :class:`~adsuite.serve.asgi.Gate`,
and a uvicorn server — and stops them in order: no new requests (uvicorn stops
accepting and answers what is in flight), no new tickets claimed, running tickets
allowed to finish. Every limit is in :class:`Limits`: open connections, the time to
send headers and a body, how many bodies are held at once and how large each may
be, the threads that validate and queue. Slow clients cost a socket and a few
kilobytes on the event loop, never a thread; TLS handshakes happen on the loop too.
Each request is logged as one line (client, method, path, status, ticket id); bodies,
headers and secrets never are.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from adsuite.connectors.credentials import Secret
from adsuite.errors import AdsuiteError, InputError
from adsuite.serve.app import MAX_BODY, App
from adsuite.serve.asgi import Gate
from adsuite.serve.contract import TicketCheck, TicketRunner, TicketTypes
from adsuite.serve.desk_config import DeskMapping
from adsuite.serve.intake import DomainOf
from adsuite.serve.protocol import bounded
from adsuite.serve.queue import Queue
from adsuite.serve.refusals import RefusalJournal
from adsuite.serve.signature import DEFAULT_WINDOW
from adsuite.serve.worker import Dispatcher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """What one server holds at most; the defaults suit a service desk's webhook traffic."""

    connections: int = 500  # open connections; one more is answered 503 and closed
    header_timeout: float = 10.0  # seconds from connecting to the end of the headers
    body_timeout: float = 30.0  # seconds to send a body, once its turn has come
    bodies: int = 8  # requests whose body is held and handled at once
    max_body: int = MAX_BODY  # bytes; a larger Content-Length is a 413 before any is read
    max_header: int = 16 << 10  # bytes of request line and headers
    workers: int = 4  # threads that check signatures, validate and queue
    keep_alive: float = 5.0  # seconds an idle kept-alive connection stays open
    graceful: float = 30.0  # seconds requests in flight get to finish at stop


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
    check: TicketCheck | None = None  # the offline ticket check at intake
    journal: Path | None = None  # where refused tickets are journaled
    limits: Limits = field(default_factory=Limits)


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
        self._executor: ThreadPoolExecutor | None = None
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        assert self._socket is not None, "start() first"
        host, port = self._socket.getsockname()[:2]
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
            self._socket = _bind(s.host, s.port)
            self._server = self._uvicorn(self.queue)
        except BaseException:
            self._close_partial()
            raise
        if not s.paused:
            assert self._dispatcher is not None
            self._dispatcher.start()
        server, sock = self._server, self._socket
        self._thread = threading.Thread(target=lambda: server.run([sock]), name="http")
        self._thread.start()
        while not server.started and self._thread.is_alive():
            time.sleep(0.01)
        if not server.started:
            self.stop()
            raise AdsuiteError(f"the HTTP server on {s.host}:{s.port} did not start; see the log")
        queued = self.queue.counts()["queued"]
        log.info("listening on %s; %d ticket(s) queued%s", self.url, queued, _paused(s.paused))

    def _uvicorn(self, queue: Queue) -> uvicorn.Server:
        s, limits = self.settings, self.settings.limits
        refusals = RefusalJournal(s.journal) if s.journal is not None else None
        self._dispatcher = Dispatcher(
            queue, s.runner, s.inventory, poll=s.poll, on_refused=refusals
        )
        app = App(
            secret=s.secret,
            queue=queue,
            types=s.types,
            domain_of=s.domain_of,
            desks=s.desks,
            on_queued=self._dispatcher.wake,
            clock=s.clock,
            window=s.window,
            check=s.check,
            on_refused=refusals,
            max_body=limits.max_body,
        )
        self._executor = ThreadPoolExecutor(limits.workers, thread_name_prefix="serve")
        gate = Gate(app, self._executor, bodies=limits.bodies, body_timeout=limits.body_timeout)
        config = uvicorn.Config(
            gate,
            http=bounded(limits.connections, limits.header_timeout),
            ws="none",
            lifespan="off",
            loop="asyncio",
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_keep_alive=int(max(1, limits.keep_alive)),
            timeout_graceful_shutdown=int(max(1, limits.graceful)),
            h11_max_incomplete_event_size=limits.max_header,
            backlog=min(2048, limits.connections),
        )
        config.load()
        config.ssl = s.tls  # our context (TLS 1.2+, loaded and checked by tls_context)
        return uvicorn.Server(config)

    def stop(self, timeout: float | None = None) -> bool:
        """Stop taking requests, claim no more tickets, wait for running ones (True: all ended)."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        finished = True
        if self._dispatcher is not None:
            running = self._dispatcher.running()
            if running:
                log.info("waiting for %d running ticket(s) to finish", running)
            finished = self._dispatcher.stop(timeout)
        if self._socket is not None:
            self._socket.close()
        if self.queue is not None and finished:
            self.queue.close()
            self.queue = None
        self._server = self._thread = self._dispatcher = self._executor = self._socket = None
        return finished

    def _close_partial(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
        assert self.queue is not None
        self.queue.close()
        self.queue = None

    def __enter__(self) -> Service:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def _paused(paused: bool) -> str:
    return " (paused: tickets are queued, none is run)" if paused else ""
