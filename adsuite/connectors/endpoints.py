"""The client end of every connection a run opens to a DC or file server.

A DC logs each logon (4624) with the client's address:port. adsuite journals the
endpoints a run opened (``operator.clients`` of its run_start), so `admin usage` can
tell its own binds and SMB sessions apart from anyone else's by identity, never by a
clock window: the run's directory connection, the one-writer lease's, the journal
witness's, and its SMB sessions to SYSVOL and file servers alike.

Endpoints are kept per :func:`scope` — a session's connections, opened on any thread
while it lasts — so a long-lived process (``adsuite serve``) never lends one run the
endpoints of another, and nothing is kept outside a scope.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_scopes: list[list[str]] = []  # every scope open now, in any thread
_mine = threading.local()  # the scope the current thread opened last


def local_endpoint(sock: socket.socket | None) -> str | None:
    """This end of *sock* as ``address:port`` — what a DC logs as the client."""
    try:
        address = sock.getsockname() if sock is not None else None
    except OSError:
        return None
    return f"{address[0]}:{address[1]}" if isinstance(address, tuple) else None


@contextmanager
def scope() -> Iterator[None]:
    """Collect the endpoints of the connections opened while the block runs."""
    opened: list[str] = []
    outer = getattr(_mine, "scope", None)
    with _lock:
        _scopes.append(opened)
    _mine.scope = opened
    try:
        yield
    finally:
        _mine.scope = outer
        with _lock:
            _scopes.remove(opened)


def record(endpoint: str | None) -> None:
    """Note a connection opened now, in every scope open (one may be another thread's
    worker of the same session)."""
    if endpoint:
        with _lock:
            for opened in _scopes:
                opened.append(endpoint)


def opened() -> tuple[str, ...]:
    """The endpoints of this thread's current scope, oldest first; () outside one."""
    current = getattr(_mine, "scope", None)
    with _lock:
        return tuple(current) if current is not None else ()
