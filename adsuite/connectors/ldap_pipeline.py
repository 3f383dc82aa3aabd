"""Several paged searches in flight on one connection, so the DC is never idle.

Read one after another, a batch of paged searches leaves the DC waiting while the
client decodes a page and the client waiting while the DC produces the next one. Here
the first page request of up to :data:`WINDOW` searches goes out at once; as each
page's SearchResultDone arrives, that search's next page request (its cookie) is sent
*before* the entries that came with it are decoded. Replies are told apart by message
id (RFC 4511 §4.1.1.1: a client may have several requests outstanding).

Results are exactly those of :meth:`Directory.search_wire` per query, because anything
but a plain page is left to it: a page that ends in an error, a referral, or an entry
with ranged values (``member;range=0-1499``) marks its search to be read again, on its
own, once the pipeline is empty (:attr:`Batch.redo`). The socket is the connection's
own, so a Kerberos-sealed connection (connectors/ldap_gssapi.py) is pipelined too.
If anything escapes while requests are outstanding, the connection is closed: no reply
to this batch can reach a later operation.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ldap3
from ldap3.core.exceptions import (
    LDAPException,
    LDAPSessionTerminatedByServerError,
    LDAPSocketReceiveError,
)
from ldap3.operation.search import search_operation
from ldap3.protocol.rfc2696 import paged_search_control
from ldap3.utils.asn1 import decode_message_fast

from adsuite.connectors import ldap_wire
from adsuite.formats.ldap_query import Entry, Query

log = logging.getLogger(__name__)

WINDOW = 4  # searches in flight; Samba keeps ten paged searches per connection
PAGED_OID = "1.2.840.113556.1.4.319"
_DONE, _REFERENCE = 0x65, 0x73  # searchResDone, searchResRef [APPLICATION 5, 19]

_SCOPES = {"base": ldap3.BASE, "one": ldap3.LEVEL, "sub": ldap3.SUBTREE}
Controls = Callable[[Query], list[Any]]


@dataclass
class _Search:
    query: Query
    controls: list[Any]
    entries: list[Entry] = field(default_factory=list)
    page_found: bool = False  # the current page brought an entry or a reference
    redo: bool = False


@dataclass
class Batch:
    """What a pipelined read found: entries per query, and the queries to read again
    one by one (in batch order) because a page was not a plain one."""

    results: dict[Query, list[Entry]]
    redo: list[Query]
    pages: int


def entry_of(item: dict[str, Any]) -> Entry:
    raw = item.get("raw_attributes", {})
    attributes = {name.lower(): tuple(values) for name, values in raw.items() if values}
    return Entry(item["dn"], attributes)


class Pipeline:
    """One batch on *conn* (whose strategy is :class:`ldap_wire.RawEntryStrategy`)."""

    def __init__(self, conn: ldap3.Connection, controls: Controls, page_size: int) -> None:
        self._conn = conn
        self._strategy: ldap_wire.RawEntryStrategy = conn.strategy
        self._controls = controls
        self._page_size = page_size
        self._by_id: dict[int, _Search] = {}
        self.pages = 0

    def run(self, queries: Sequence[Query]) -> Batch:
        searches = [_Search(q, []) for q in dict.fromkeys(queries)]
        waiting = deque(searches)
        try:
            while waiting or self._by_id:
                while waiting and len(self._by_id) < WINDOW:
                    self._start(waiting.popleft(), None)
                self._receive(waiting)
        except BaseException:
            if self._by_id:  # replies still due: nothing may read them as its own
                with contextlib.suppress(LDAPException, OSError):
                    self._conn.strategy.close()
            raise
        redo = [s.query for s in searches if s.redo]
        results = {s.query: s.entries for s in searches if not s.redo}
        return Batch(results, redo, self.pages)

    def _start(self, search: _Search, cookie: bytes | None) -> None:
        """Send *search*'s page request (the first, or the one after *cookie*)."""
        query = search.query
        try:
            if not search.controls:
                search.controls = self._controls(query)
            request = search_operation(
                query.base, query.filter, _SCOPES[query.scope],
                ldap3.DEREF_ALWAYS, list(query.attributes) or ["1.1"], query.size_limit, 0,
                False, self._conn.auto_escape, self._conn.auto_encode, None,
                validator=self._conn.server.custom_validator, check_names=False,
            )  # fmt: skip
        except LDAPException as error:  # e.g. a bad filter: search_wire says it
            log.debug("search %s left to the sequential read: %s", query.base, error)
            search.redo = True
            return
        paged = paged_search_control(False, self._page_size, cookie)
        message_id = self._conn.send("searchRequest", request, [*search.controls, paged])
        self._strategy._outstanding.pop(message_id, None)  # its replies are read here
        self._by_id[message_id] = search
        search.page_found = False
        self.pages += 1

    def _receive(self, waiting: deque[_Search]) -> None:
        """Read what has arrived: first the pages' ends (their next requests go out at
        once), then the entries."""
        messages = self._strategy.messages()
        if not messages:
            raise LDAPSessionTerminatedByServerError("session terminated by server")
        try:
            heads = [ldap_wire.message_head(m) for m in messages]
        except (IndexError, ValueError) as error:
            raise LDAPSocketReceiveError(f"a reply that is no LDAP message: {error}") from None
        owners = [self._search_of(mid) for mid, _ in heads]
        for search, (_, tag) in zip(owners, heads, strict=True):
            if tag != _DONE:
                search.page_found = True
        for message, search, (mid, tag) in zip(messages, owners, heads, strict=True):
            if tag == _DONE:
                self._ended(mid, search, message, waiting)
        for message, search, (_, tag) in zip(messages, owners, heads, strict=True):
            if tag != _DONE:
                self._take(search, message, tag)

    def _search_of(self, message_id: int) -> _Search:
        search = self._by_id.get(message_id)
        if search is not None:
            return search
        if message_id == 0:  # an unsolicited notice: of disconnection (RFC 4511 §4.4.1)
            raise LDAPSessionTerminatedByServerError("session terminated by server")
        raise LDAPSocketReceiveError("invalid messageId received")

    def _take(self, search: _Search, message: bytes, tag: int) -> None:
        if search.redo or tag == _REFERENCE:
            return  # search_wire skips references too
        found = ldap_wire.search_entry(message)
        item = found[1] if found is not None else self._decoded(message)
        if item.get("type") != "searchResEntry":
            raise LDAPSocketReceiveError(f"unexpected {item.get('type')} in a search")
        if item.get("attributes") and any(";range=" in n for n in item["raw_attributes"]):
            search.redo = True  # values beyond the DC's range limit: ldap3 fetches them
            return
        search.entries.append(entry_of(item))

    def _ended(
        self, message_id: int, search: _Search, message: bytes, waiting: deque[_Search]
    ) -> None:
        del self._by_id[message_id]
        result = self._decoded(message)
        code = result.get("result")
        paged = (result.get("controls") or {}).get(PAGED_OID)
        cookie = paged["value"]["cookie"] if paged else None
        if not search.redo and code == 0 and cookie:
            self._start(search, cookie)
            return
        if code not in (0, 4) and not (code == 32 and not search.page_found):
            search.redo = True  # an error, a referral: search_wire says what it means
        while waiting and len(self._by_id) < WINDOW:  # this search is done: the next one
            self._start(waiting.popleft(), None)

    def _decoded(self, message: bytes) -> dict[str, Any]:
        decoded: dict[str, Any] = self._strategy.decode_response_fast(decode_message_fast(message))
        return decoded
