"""uvicorn's HTTP/1.1 protocol (h11) with the limits ``adsuite serve`` needs at the socket.

uvicorn buffers slow clients on its event loop (no thread per connection) and stops
reading a body the application has not asked for, but leaves three things open that
this subclass closes:

- a cap on open connections: one more is answered ``503`` at once and closed;
- a deadline for the request line and headers (counted from the connection, or from
  the first byte of the next request on a kept-alive one): a client that sends them
  byte by byte, or nothing at all, is answered ``408`` and closed when it passes;
- JSON for the answers the protocol itself gives (a request that is not HTTP, or
  headers over the size limit, is a ``400`` with ``{"error": ...}``), and one log
  line, no traceback, for a client that goes away before its answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

_LINGER = 2.0  # seconds a connection answered before its request may still send
_REASONS = {400: "Bad Request", 408: "Request Timeout", 503: "Service Unavailable"}


class BoundedH11Protocol(H11Protocol):
    """One connection; ``max_connections`` and ``header_timeout`` are set by :func:`bounded`."""

    max_connections: ClassVar[int] = 500
    header_timeout: ClassVar[float] = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._answered = False  # answered before a request: what still comes is dropped

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            log.warning(
                "%s: refused: %d connections open (limit %d)",
                _host(self.client),
                len(self.connections) - 1,
                self.max_connections,
            )
            self._answer_and_close(503, "too many connections; try again shortly")
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._answered:
            return
        if self._deadline is None and self.conn.their_state is h11.IDLE:
            self._arm()  # the first byte of the next request on a kept-alive connection
        super().data_received(data)
        if self._deadline is not None and self.conn.their_state is not h11.IDLE:
            self._disarm()  # the headers are in; the body has its own deadline (asgi.py)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self.cycle is not None and not self.cycle.response_complete:
            reason = type(exc).__name__ if exc is not None else "closed"
            log.info("%s: the client went away before its answer (%s)", _host(self.client), reason)
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        log.info("%s: not an HTTP request adsuite reads", _host(self.client))
        body = _json("not an HTTP/1.1 request adsuite reads (or its headers are too large)")
        headers = [
            (b"content-type", b"application/json; charset=utf-8"),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"connection", b"close"),
        ]
        try:
            self.transport.write(self.conn.send(h11.Response(status_code=400, headers=headers)))
            self.transport.write(self.conn.send(h11.Data(data=body)))
            self.transport.write(self.conn.send(h11.EndOfMessage()))
        except h11.LocalProtocolError:
            pass  # past the point where h11 lets us answer: the connection just closes
        self.transport.close()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        log.info(
            "%s: no complete request headers within %g s; closed",
            _host(self.client),
            self.header_timeout,
        )
        self._answer_and_close(408, "the request headers did not arrive in time")

    def _answer_and_close(self, status: int, message: str) -> None:
        """Answer before any request was read (h11 only answers requests), and close."""
        body = _json(message)
        head = (
            f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
            "content-type: application/json; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head.encode("ascii") + body)
        self._answered = True
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        # Half-close and drop what the client still sends, so it reads this answer rather
        # than a reset; the socket is closed shortly whatever the client does.
        self.transport.write_eof()
        self.loop.call_later(_LINGER, self.transport.close)


def bounded(max_connections: int, header_timeout: float) -> type[BoundedH11Protocol]:
    """The protocol class with these limits, for ``uvicorn.Config(http=...)``."""
    limits = {"max_connections": max_connections, "header_timeout": header_timeout}
    return type("BoundedH11Protocol", (BoundedH11Protocol,), limits)


def _json(message: str) -> bytes:
    return json.dumps({"error": message}).encode("utf-8") + b"\n"


def _host(client: tuple[str, int] | None) -> str:
    return client[0] if client else "-"
