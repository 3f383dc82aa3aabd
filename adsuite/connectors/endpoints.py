"""The client end of every connection this process opened to a DC or file server.

A DC logs each logon (4624) with the client's address:port. adsuite journals the
endpoints a run opened (``operator.clients`` of its run_start), so `admin usage` can
tell its own binds and SMB sessions apart from anyone else's by identity, never by a
clock window: the run's directory connection, the one-writer lease's, the journal
witness's, and its SMB sessions to SYSVOL and file servers alike.
"""

from __future__ import annotations

import socket

_OPENED: list[str] = []


def local_endpoint(sock: socket.socket | None) -> str | None:
    """This end of *sock* as ``address:port`` — what a DC logs as the client."""
    try:
        address = sock.getsockname() if sock is not None else None
    except OSError:
        return None
    return f"{address[0]}:{address[1]}" if isinstance(address, tuple) else None


def record(endpoint: str | None) -> None:
    if endpoint:
        _OPENED.append(endpoint)


def opened() -> tuple[str, ...]:
    """Every client endpoint this process has connected from, oldest first."""
    return tuple(_OPENED)
