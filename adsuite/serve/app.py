"""What the server answers: routes, authentication, validation and queueing, without sockets.

    POST /tickets              adsuite's own ticket document
    POST /tickets/jira         a Jira Service Management issue (needs the --mapping file)
    POST /tickets/servicenow   the ServiceNow body of docs/service-desk.md
    GET  /runs/<id>            a queued ticket's status and change outcomes
    GET  /health               200 while the server runs (not authenticated)

Every other request is signed (:mod:`adsuite.serve.signature`; ``/tickets/jira`` also
takes Jira's own ``X-Hub-Signature``). :meth:`App.precheck` answers from the headers
alone — route, method, framing, size, and the form and age of the signature headers —
so a request refused there is refused before its body is read; the MAC, which covers
the body, is checked by :meth:`App.handle` before the body is parsed. A ticket is then
checked as completely as it can be without the directory (form, type, domain, and the
ticket framework's offline check: parameters, approvals against the rules, carried out
before). A refusal is a 4xx with ``{"error": "<reason>"}``, queues nothing, and — once
the request is authenticated — is journaled with the ticket id and the reason. An
accepted ticket is 202 ``{"id", "status": "queued", "url"}``, or 200 with the existing
run when the same ticket is already queued, running or done.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adsuite.connectors.credentials import Secret
from adsuite.errors import InputError
from adsuite.serve import mapping
from adsuite.serve.contract import Refusal, Refused, TicketCheck, TicketTypes
from adsuite.serve.desk_config import DeskMapping
from adsuite.serve.intake import Admission, DomainOf, admit
from adsuite.serve.queue import Queue
from adsuite.serve.signature import (
    DEFAULT_WINDOW,
    Signed,
    check_headers,
    check_jira_header,
    verify,
    verify_jira,
)

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # a ticket is a few kilobytes; a Jira issue with history, a few hundred
SOURCES = {"/tickets": "native", "/tickets/jira": "jira", "/tickets/servicenow": "servicenow"}
_RUN = re.compile(r"^/runs/(q-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6})$")


@dataclass(frozen=True)
class Response:
    status: int
    body: dict[str, Any]
    ticket: str | None = None  # for the request log
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # the request target as sent
    timestamp: str | None  # X-Adsuite-Timestamp
    signature: str | None  # X-Adsuite-Signature
    body: bytes = b""
    jira_signature: str | None = None  # X-Hub-Signature, from Jira's own webhooks
    content_length: str | None = None  # the header as sent
    chunked: bool = False  # a Transfer-Encoding header was sent
    expects_continue: bool = False  # Expect: 100-continue: the body follows our go-ahead


class App:
    """The service's answers to requests; shared by the server's threads."""

    def __init__(
        self,
        *,
        secret: Secret,
        queue: Queue,
        types: TicketTypes,
        domain_of: DomainOf,
        desks: DeskMapping,
        on_queued: Callable[[], None],
        clock: Callable[[], float],
        window: int = DEFAULT_WINDOW,
        check: TicketCheck | None = None,
        on_refused: Callable[[Refusal], None] | None = None,
        max_body: int = MAX_BODY,
    ) -> None:
        self._secret = secret
        self._queue = queue
        self._types = types
        self._domain_of = domain_of
        self._desks = desks
        self._on_queued = on_queued
        self._clock = clock
        self._window = window
        self._check = check
        self._on_refused = on_refused
        self._max_body = max_body

    def precheck(self, request: Request) -> Response | int:
        """Refuse what the headers alone condemn; else how many body bytes to read (0: none)."""
        try:
            source = self._endpoint(request)
            if source not in SOURCES.values():
                return 0
            length = _body_length(request, self._max_body)
            if source == "jira" and request.signature is None and request.jira_signature:
                check_jira_header(request.jira_signature)
            else:
                check_headers(
                    request.timestamp, request.signature, now=self._clock(), window=self._window
                )
            return length
        except Refused as exc:
            return _refusal(exc)

    def handle(self, request: Request) -> Response:
        try:
            return self._route(request)
        except Refused as exc:
            return _refusal(exc)

    def _route(self, request: Request) -> Response:
        endpoint = self._endpoint(request)
        if endpoint == "health":
            return Response(200, {"status": "ok"})
        if endpoint == "runs":
            return self._get_run(request)
        return self._post(request, endpoint)

    def _endpoint(self, request: Request) -> str:
        """health, runs, or a ticket source; 404 or 405 (with Allow) otherwise."""
        path = request.path
        if path == "/health":
            _allow(request, "GET")
            return "health"
        if path in SOURCES:
            _allow(request, "POST")
            if SOURCES[path] == "jira" and self._desks.jira is None:
                raise Refused(
                    404, "the Jira mapping is not configured (adsuite serve --mapping FILE)"
                )
            return SOURCES[path]
        if path.startswith("/runs/"):
            _allow(request, "GET")
            return "runs"
        raise Refused(404, f"no such endpoint: {shown(path)}")

    def _post(self, request: Request, source: str) -> Response:
        signed = self._authenticate(request, source)
        try:
            return self._take(request, source, signed)
        except Refused as exc:
            if exc.status != 409:
                self._journal_refusal(exc, source, signed)
            raise

    def _authenticate(self, request: Request, source: str) -> Signed:
        if source == "jira" and request.signature is None and request.jira_signature:
            signed = verify_jira(
                self._secret,
                request.jira_signature,
                request.body,
                now=self._clock(),
                window=self._window,
            )
        else:
            signed = self._verify(request, request.body)
        return signed

    def _take(self, request: Request, source: str, signed: Signed) -> Response:
        document = self._map(source, _json(request.body))
        try:
            admission = admit(document, source, self._types, self._domain_of)
            if not self._queue.holds(admission.ticket_id):
                self._check_offline(admission)
            run, new = self._queue.enqueue(admission, signed)
        except Refused as exc:
            named = document.get("id")
            exc.ticket = named if isinstance(named, str) else None
            raise
        if new:
            self._on_queued()
        body = {"id": run.id, "status": run.status, "url": f"/runs/{run.id}", "ticket": run.ticket}
        return Response(202 if new else 200, body, run.ticket)

    def _check_offline(self, admission: Admission) -> None:
        if self._check is None:
            return
        try:
            self._check(admission.document, admission.domain)
        except InputError as exc:
            raise Refused(422, _reason(exc)) from None

    def _journal_refusal(self, exc: Refused, source: str, signed: Signed) -> None:
        """An authenticated ticket refused: journaled once (a replay of it is a 409)."""
        if not self._queue.remember(signed):
            raise Refused(409, "replayed request: this signature was used before") from None
        if self._on_refused is not None:
            self._on_refused(Refusal(exc.ticket, exc.message, source, exc.status))

    def _get_run(self, request: Request) -> Response:
        self._verify(request, request.path.encode("utf-8"))
        match = _RUN.match(request.path)
        run = self._queue.get(match.group(1)) if match else None
        if run is None:
            raise Refused(404, f"no run {shown(request.path.removeprefix('/runs/'))}")
        return Response(200, run.to_dict(), run.ticket)

    def _verify(self, request: Request, payload: bytes) -> Signed:
        return verify(
            self._secret,
            request.timestamp,
            request.signature,
            payload,
            now=self._clock(),
            window=self._window,
        )

    def _map(self, source: str, body: Any) -> dict[str, Any]:
        if source == "jira":
            assert self._desks.jira is not None
            return mapping.from_jira(body, self._desks.jira)
        if source == "servicenow":
            return mapping.from_servicenow(body, self._desks.servicenow)
        return mapping.from_native(body)


def _allow(request: Request, method: str) -> None:
    if request.method != method:
        refused = Refused(405, f"{shown(request.path)} takes {method}, not {shown(request.method)}")
        refused.headers = {"Allow": method}
        raise refused


def _refusal(exc: Refused) -> Response:
    return Response(exc.status, {"error": exc.message}, exc.ticket, dict(exc.headers))


def _reason(exc: InputError) -> str:
    return f"{exc.message} (hint: {exc.hint})" if exc.hint else exc.message


def _body_length(request: Request, limit: int) -> int:
    if request.chunked:
        raise Refused(411, "send the body with a Content-Length, not chunked")
    if request.content_length is None:
        raise Refused(411, "a Content-Length header is required")
    text = request.content_length.strip()
    if not text.isdigit() or len(text) > 15:
        raise Refused(400, "bad Content-Length header")
    if int(text) > limit:
        raise Refused(413, f"the body is larger than {limit} bytes")
    return int(text)


def _json(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "the body is not UTF-8 text") from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise Refused(
            400, f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise Refused(400, f"the body is not JSON adsuite reads: {exc}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def shown(text: str, limit: int = 80) -> str:
    """User-controlled text made safe for a one-line reason or a log line."""
    clean = "".join(c if c.isprintable() else "?" for c in text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"
