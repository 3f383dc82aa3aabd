"""The ASGI face of :class:`~adsuite.serve.app.App`: headers first, bodies bounded, JSON always.

For each request, on the event loop:

1. :meth:`App.precheck` judges the headers alone (route, method, Content-Length
   against the limit, the form and age of the signature headers); a refused body is
   never held: a client that sent ``Expect: 100-continue`` gets the refusal instead
   of the go-ahead and sends no body; from others up to ``discard`` bytes are read
   and dropped chunk by chunk (so a plain client reads the answer rather than a
   reset), a larger one is not read at all; then the answer, and the connection closes;
2. otherwise the body is read — at most ``bodies`` at a time, each within
   ``body_timeout`` seconds — and :meth:`App.handle` (HMAC, parsing, validation,
   SQLite) runs on a small fixed thread pool while the request keeps its turn, so
   no more than ``bodies`` bodies are ever held in memory at once;
3. the answer is JSON, and one line is logged: client, method, path, status, ticket.

Anything unexpected is a 500 ``{"error": ...}`` with the traceback in the log only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import Executor
from typing import Any

from adsuite.serve.app import App, Request, Response, shown
from adsuite.serve.signature import JIRA_SIGNATURE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _ClientGone(Exception):
    """The client disconnected before its body was in."""


class Gate:
    """The ASGI application uvicorn runs."""

    def __init__(
        self,
        app: App,
        executor: Executor,
        *,
        bodies: int,
        body_timeout: float,
        discard: int = 16 << 20,
    ) -> None:
        self._app = app
        self._discard = discard
        self._executor = executor
        self._turns = asyncio.Semaphore(bodies)
        self._body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = _request(scope)
        client = (scope.get("client") or ("-", 0))[0]
        try:
            response, complete = await self._answer(request, receive)
        except _ClientGone:
            log.info("%s %s %s: the client went away", client, request.method, shown(request.path))
            return
        log.info(
            "%s %s %s %d ticket=%s",
            client,
            shown(request.method, 16),
            shown(request.path),
            response.status,
            shown(response.ticket) if response.ticket else "-",
        )
        await _send(send, response, close=not complete)

    async def _answer(self, request: Request, receive: Receive) -> tuple[Response, bool]:
        """The response, and whether the request was read to its end (else: close after)."""
        verdict = self._app.precheck(request)
        if isinstance(verdict, Response):
            await self._drop_body(request, receive)
            return verdict, False
        async with self._turns:
            if verdict:
                try:
                    async with asyncio.timeout(self._body_timeout):
                        body = await _read(receive, verdict)
                except TimeoutError:
                    return Response(408, {"error": "the body did not arrive in time"}), False
                request = dataclasses.replace(request, body=body)
            return await self._handle(request), True

    async def _drop_body(self, request: Request, receive: Receive) -> None:
        """Read a refused body away without keeping it, where that is cheap and useful."""
        length = (request.content_length or "").strip()
        if request.expects_continue or not length.isdigit() or len(length) > 15:
            return
        if not 0 < int(length) <= self._discard:
            return
        try:
            async with asyncio.timeout(self._body_timeout):
                while True:
                    message = await receive()
                    if message["type"] != "http.request" or not message.get("more_body"):
                        return
        except TimeoutError:
            return

    async def _handle(self, request: Request) -> Response:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._app.handle, request)
        except Exception:
            log.exception("%s %s failed unexpectedly", request.method, shown(request.path))
            return Response(500, {"error": "internal error in adsuite serve; see the server log"})


async def _read(receive: Receive, length: int) -> bytes:
    parts: list[bytes] = []
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > length:  # h11 holds the client to its Content-Length; this is a guard
            raise _ClientGone
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def _request(scope: Scope) -> Request:
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    target = scope.get("raw_path") or scope["path"].encode("utf-8")
    path = target.decode("latin-1")
    if scope.get("query_string"):
        path += "?" + scope["query_string"].decode("latin-1")
    return Request(
        scope["method"],
        path,
        headers.get(TIMESTAMP_HEADER.lower()),
        headers.get(SIGNATURE_HEADER.lower()),
        b"",
        headers.get(JIRA_SIGNATURE_HEADER.lower()),
        content_length=headers.get("content-length"),
        chunked="transfer-encoding" in headers,
        expects_continue=headers.get("expect", "").lower() == "100-continue",
    )


async def _send(send: Send, response: Response, *, close: bool) -> None:
    data = json.dumps(response.body, ensure_ascii=False).encode("utf-8") + b"\n"
    headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(data)).encode("ascii")),
        (b"cache-control", b"no-store"),
    ]
    for name, value in response.headers.items():
        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
