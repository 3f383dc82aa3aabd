"""Three ways to send many LDAP adds and deletes, for the seeder to choose by measurement.

- ``sync``: one connection, one request at a time (the baseline).
- ``async``: one ldap3 ASYNC connection with up to ``window`` requests in flight.
  ldap3 reads responses in its own thread while the main thread writes; on a TLS
  socket that means concurrent SSL_read/SSL_write on one OpenSSL object, which OpenSSL
  does not promise to support — the seeder counts the objects afterwards either way.
- ``threads``: ``workers`` connections, each in its own thread, fed from one queue.

Every writer tallies created, already existing (result 68 on add, 32 on delete) and
failed requests; :meth:`drain` waits until everything sent so far has an answer.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import ldap3
from benchlab import LabTarget, connect
from ldap3.operation.add import add_operation
from ldap3.operation.delete import delete_operation

log = logging.getLogger(__name__)

ALREADY = {"add": 68, "delete": 32}  # entryAlreadyExists / noSuchObject: nothing to do
TREE_DELETE = ("1.2.840.113556.1.4.805", True, None)


@dataclass
class Tally:
    done: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, op: str, dn: str, result: dict[str, Any]) -> None:
        with self.lock:
            code = result.get("result")
            if code == 0:
                self.done += 1
            elif code == ALREADY[op]:
                self.skipped += 1
            else:
                self.failures.append(
                    f"{op} {dn}: {result.get('description')} {result.get('message')}"
                )

    @property
    def answered(self) -> int:
        return self.done + self.skipped + len(self.failures)


class Writer(Protocol):
    tally: Tally

    def send(self, op: str, dn: str, attributes: dict[str, Any] | None = None) -> None: ...

    def drain(self) -> None: ...

    def close(self) -> None: ...


def _request(conn: ldap3.Connection, op: str, dn: str, attributes: dict[str, Any] | None) -> Any:
    if op == "add":
        return conn.add(dn, attributes=attributes)
    return conn.delete(dn)


class SyncWriter:
    def __init__(self, target: LabTarget) -> None:
        self.conn = connect(target)
        self.tally = Tally()

    def send(self, op: str, dn: str, attributes: dict[str, Any] | None = None) -> None:
        _request(self.conn, op, dn, attributes)
        self.tally.record(op, dn, self.conn.result)

    def drain(self) -> None:
        pass

    def close(self) -> None:
        self.conn.unbind()


class AsyncWriter:
    def __init__(self, target: LabTarget, window: int) -> None:
        self.conn = connect(target, ldap3.ASYNC)
        self.window = window
        self.pending: deque[tuple[int, str, str]] = deque()
        self.tally = Tally()

    def send(self, op: str, dn: str, attributes: dict[str, Any] | None = None) -> None:
        self.pending.append((_request(self.conn, op, dn, attributes), op, dn))
        while len(self.pending) >= self.window:
            self._collect_oldest()

    def _collect_oldest(self) -> None:
        message_id, op, dn = self.pending.popleft()
        _response, result = self.conn.get_response(message_id, timeout=300)
        self.tally.record(op, dn, result)

    def drain(self) -> None:
        while self.pending:
            self._collect_oldest()

    def close(self) -> None:
        self.drain()
        self.conn.unbind()


class PipelinedWriter:
    """Up to ``window`` requests in flight on one SYNC connection, all from this thread.

    Requests are encoded and sent with ldap3's own strategy methods; responses are read
    back in order (ldap3 raises "invalid messageId received" if the server ever
    answered out of order, so a reordering could not pass unnoticed).
    """

    def __init__(self, target: LabTarget, window: int) -> None:
        self.conn = connect(target)
        self.window = window
        self.pending: deque[tuple[int, str, str]] = deque()
        self.tally = Tally()

    def send(self, op: str, dn: str, attributes: dict[str, Any] | None = None) -> None:
        if op == "add":
            request = add_operation(dn, attributes or {}, self.conn.auto_encode)
            message_id = self.conn.strategy.send("addRequest", request)
        else:
            message_id = self.conn.strategy.send("delRequest", delete_operation(dn))
        self.pending.append((message_id, op, dn))
        while len(self.pending) >= self.window:
            self._collect_oldest()

    def _collect_oldest(self) -> None:
        message_id, op, dn = self.pending.popleft()
        _response, result = self.conn.strategy.get_response(message_id, timeout=300)
        self.tally.record(op, dn, result)

    def drain(self) -> None:
        while self.pending:
            self._collect_oldest()

    def close(self) -> None:
        self.drain()
        self.conn.unbind()


class ThreadWriter:
    def __init__(self, target: LabTarget, workers: int) -> None:
        self.tally = Tally()
        self.jobs: queue.Queue[tuple[str, str, dict[str, Any] | None] | None] = queue.Queue(
            maxsize=workers * 8
        )
        connections = [connect(target) for _ in range(workers)]
        self.threads = [
            threading.Thread(target=self._work, args=(c,), daemon=True) for c in connections
        ]
        for thread in self.threads:
            thread.start()

    def _work(self, conn: ldap3.Connection) -> None:
        while (job := self.jobs.get()) is not None:
            op, dn, attributes = job
            try:
                _request(conn, op, dn, attributes)
                self.tally.record(op, dn, conn.result)
            finally:
                self.jobs.task_done()
        self.jobs.task_done()
        conn.unbind()

    def send(self, op: str, dn: str, attributes: dict[str, Any] | None = None) -> None:
        self.jobs.put((op, dn, attributes))

    def drain(self) -> None:
        self.jobs.join()

    def close(self) -> None:
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join()


def make_writer(strategy: str, target: LabTarget, window: int, workers: int) -> Writer:
    factories: dict[str, Callable[[], Writer]] = {
        "sync": lambda: SyncWriter(target),
        "async": lambda: AsyncWriter(target, window),
        "threads": lambda: ThreadWriter(target, workers),
        "pipelined": lambda: PipelinedWriter(target, window),
    }
    return factories[strategy]()
