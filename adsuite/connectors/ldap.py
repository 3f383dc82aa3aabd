"""The directory connector: one TLS-validated LDAP connection to the preferred DC.

Reads are paged searches returning raw values (bytes), so every attribute is decoded
once, by the resource that knows its type. Writes return nothing or raise a
:class:`~adsuite.errors.DirectoryError` naming the operation and the DN; they never
echo the values sent (a value may be a password). A connection that breaks mid-run
(the DC stopped, the network dropped: ldap3's LDAPCommunicationError family, a timeout,
a socket error) raises :class:`~adsuite.errors.ConnectionLost` with one line, never
ldap3's own exception.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ldap3
from ldap3.core.exceptions import (
    LDAPCommunicationError,
    LDAPException,
    LDAPResponseTimeoutError,
    LDAPSocketOpenError,
)
from ldap3.protocol.microsoft import security_descriptor_control

from adsuite.connectors import endpoints, ldap_pipeline, ldap_wire
from adsuite.connectors.credentials import Login, Secret
from adsuite.connectors.kerberos import Ticket
from adsuite.errors import (
    BindRefused,
    ConnectionFailed,
    ConnectionLost,
    DcUnreachable,
    DirectoryError,
)
from adsuite.formats.ldap_query import Entry, Query

log = logging.getLogger(__name__)

PAGE_SIZE = 1000
CONNECTION_OPTIONS: dict[str, Any] = {
    "raise_exceptions": False,
    "auto_range": True,
    "check_names": False,  # no schema is loaded; raw values are all adsuite reads
    "return_empty_attributes": False,  # Entry leaves missing attributes out anyway
    "receive_timeout": 120,
    "read_only": False,
}
SHOW_DELETED = ("1.2.840.113556.1.4.417", True, None)  # LDAP_SERVER_SHOW_DELETED_OID, critical
EXTENDED_DN = ("1.2.840.113556.1.4.529", True, None)  # LDAP_SERVER_EXTENDED_DN_OID, critical

# Entries keep raw values under lower-cased names (see ldap_wire and _entry); other
# replies ldap3 still decodes need no case-insensitive dicts. Process-wide, and only
# adsuite uses ldap3 here.
ldap3.set_config_parameter("CASE_INSENSITIVE_ATTRIBUTE_NAMES", False)
SCOPES = {"base": ldap3.BASE, "one": ldap3.LEVEL, "sub": ldap3.SUBTREE}
_MOD = {"add": ldap3.MODIFY_ADD, "delete": ldap3.MODIFY_DELETE, "replace": ldap3.MODIFY_REPLACE}
_RESULT_WORDS = {
    16: "no such attribute value",
    19: "constraint violation",
    32: "no such object",
    50: "insufficient access rights",
    53: "unwilling to perform",
    64: "naming violation",
    65: "object class violation",
    66: "not allowed on a non-leaf object",
    68: "entry already exists",
}


@dataclass(frozen=True)
class Endpoint:
    url: str
    ca_file: str | None
    tls_name: str | None
    username: str


def _local_endpoint(connection: ldap3.Connection) -> str | None:
    """This end of the connection as ``address:port`` — what a DC logs as the client.

    It tells adsuite's own writes apart in the DC's log from writes made by anyone else
    to the same object moments later (`adsuite audit changes`).
    """
    return endpoints.local_endpoint(getattr(connection, "socket", None))


def clients_opened() -> tuple[str, ...]:
    """The client address:port of every connection this process has opened (directory
    and SMB): a run journals them so that the DCs' logon records of its binds — the
    lease's and the journal witness's, its SMB sessions, not only its main connection —
    are known to be adsuite's."""
    return endpoints.opened()


class Directory:
    """A bound connection. Use :meth:`connect`; close with :meth:`close` or ``with``."""

    def __init__(self, connection: ldap3.Connection, endpoint: Endpoint) -> None:
        self._conn = connection
        self.endpoint = endpoint
        self.round_trips = 0
        self.bound_at = datetime.now(UTC).isoformat(timespec="microseconds")  # just bound
        self.client = _local_endpoint(connection)
        endpoints.record(self.client)
        # a drift run answers searches from its snapshot (engine/drift_incremental.py)
        self.reader: Callable[[Query], Iterator[Entry]] | None = None
        self.reader_many: Callable[[Sequence[Query]], dict[Query, list[Entry]]] | None = None

    @classmethod
    def connect(cls, endpoint: Endpoint, password: Login, timeout: int = 15) -> Directory:
        """Bind as *password*'s account: a simple bind over TLS, or with a Kerberos
        ticket a GSSAPI bind that signs and seals (connectors/ldap_gssapi.py)."""
        if isinstance(password, Ticket):
            from adsuite.connectors import ldap_gssapi  # needs the optional gssapi package

            conn = ldap_gssapi.sealed_connection(
                endpoint.url, endpoint.tls_name, password, timeout, CONNECTION_OPTIONS
            )
            starttls = False
        else:
            conn, starttls = _tls_connection(endpoint, password, timeout)
        ldap_wire.install(conn)  # entries as raw bytes, not decoded value by value
        try:
            conn.open()
            if starttls:
                conn.start_tls()
            bound = conn.bind()
        except (LDAPException, OSError, ssl.SSLError) as error:
            raise DcUnreachable(
                f"cannot reach {endpoint.url}: {_describe(error)}",
                hint="check the DC address, that it is running, and the CA file",
            ) from None
        if not bound:
            result = conn.result or {}
            detail = (result.get("message") or "").strip().splitlines()[:1]
            raise BindRefused(
                f"bind to {endpoint.url} as {endpoint.username} refused: "
                f"{result.get('description', 'unknown error')}"
                + (f" ({detail[0][:160]})" if detail else ""),
                hint="check the credential (adsuite creds set NAME)",
            )
        log.info("bound to %s as %s", endpoint.url, endpoint.username)
        return cls(conn, endpoint)

    def __enter__(self) -> Directory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def alive(self) -> bool:
        """Whether the DC still answers on this connection (one root DSE read)."""
        try:
            return bool(self._conn.search("", "(objectClass=*)", ldap3.BASE, attributes=["1.1"]))
        except (LDAPException, OSError):
            return False

    def close(self) -> None:
        try:
            self._conn.unbind()
        except (LDAPException, OSError) as error:  # already gone: nothing left to close
            log.info("unbind from %s: %s", self.endpoint.url, _describe(error))

    @contextmanager
    def _talking(self, operation: str, dn: str) -> Iterator[None]:
        """One request to the DC; a broken connection becomes a one-line typed error."""
        try:
            yield
        except (LDAPCommunicationError, OSError) as error:
            log.info("%s %s: %s: %s", operation, dn, type(error).__name__, _describe(error))
            reason = (
                f"cannot reach {self.endpoint.url}"
                if isinstance(error, LDAPSocketOpenError)
                else f"the DC closed the connection ({self.endpoint.url})"
            )
            raise ConnectionLost(reason, hint="check that the DC is running") from None
        except LDAPResponseTimeoutError:
            raise ConnectionLost(
                f"the DC did not answer in time ({self.endpoint.url})",
                hint="check that the DC is running",
            ) from None
        except LDAPException as error:
            raise DirectoryError(f"{operation} {dn}: {_describe(error)}") from None

    def search(self, query: Query) -> Iterator[Entry]:
        """Run one paged search, or let :attr:`reader` answer it."""
        if self.reader is not None:
            return self.reader(query)
        return self.search_wire(query)

    def search_many(self, queries: Sequence[Query]) -> dict[Query, list[Entry]]:
        """Every query's entries, as :meth:`search` gives them: by :attr:`reader_many`
        (or :attr:`reader`) if set, else :meth:`search_many_wire`."""
        if self.reader_many is not None:
            return self.reader_many(queries)
        if self.reader is not None:
            return {query: list(self.reader(query)) for query in queries}
        return self.search_many_wire(queries)

    def search_many_wire(self, queries: Sequence[Query]) -> dict[Query, list[Entry]]:
        """Every query's entries, exactly as :meth:`search_wire` reads them, with the
        queries' pages pipelined on this connection (connectors/ldap_pipeline.py). A
        query the pipeline leaves (an error, a referral, ranged values) is read again
        by :meth:`search_wire`, in batch order, so it fails as a sequential read would."""
        pipeline = ldap_pipeline.Pipeline(self._conn, _controls, PAGE_SIZE)
        with self._talking("search", queries[0].base if queries else ""):
            batch = pipeline.run(queries)
        self.round_trips += batch.pages
        for query in batch.redo:
            batch.results[query] = list(self.search_wire(query))
        return {query: batch.results[query] for query in queries}

    def search_wire(self, query: Query) -> Iterator[Entry]:
        """Run one paged search on the DC; referrals are skipped, a missing base yields
        nothing."""
        controls = _controls(query)
        cookie: bytes | None = None
        while True:
            with self._talking("search", query.base):
                ok = self._conn.search(
                    query.base,
                    query.filter,
                    search_scope=SCOPES[query.scope],
                    attributes=list(query.attributes) or ["1.1"],
                    size_limit=query.size_limit,
                    paged_size=PAGE_SIZE,
                    paged_cookie=cookie,
                    controls=controls or None,
                )
            self.round_trips += 1
            result = self._conn.result
            if not ok and result["result"] not in (0, 4):
                if result["result"] == 32:
                    return
                self._raise("search", query.base, result)
            for item in self._conn.response or []:
                if item.get("type") == "searchResEntry":
                    yield _entry(item)
            cookie = _paged_cookie(result)
            if not cookie or result["result"] == 4:
                return

    def read(self, dn: str, attributes: Sequence[str], sd_flags: int | None = None) -> Entry | None:
        """One object by DN, or None if it does not exist."""
        found = list(self.search(Query(dn, "(objectClass=*)", tuple(attributes), "base", sd_flags)))
        return found[0] if found else None

    def add(self, dn: str, attributes: Mapping[str, Any]) -> None:
        self.round_trips += 1
        with self._talking("create", dn):
            done = self._conn.add(dn, attributes=dict(attributes))
        if not done:
            self._raise("create", dn, self._conn.result)

    def modify(
        self,
        dn: str,
        changes: Mapping[str, tuple[str, Sequence[Any]]],
        sd_flags: int | None = None,
    ) -> None:
        """Modify attributes: ``{attr: ('add'|'delete'|'replace', values)}``."""
        request = {name: [(_MOD[op], list(values))] for name, (op, values) in changes.items()}
        controls = security_descriptor_control(sdflags=sd_flags) if sd_flags else None
        self.round_trips += 1
        with self._talking("modify", dn):
            done = self._conn.modify(dn, request, controls=controls)
        if not done:
            self._raise("modify", dn, self._conn.result)

    def reanimate(self, tombstone_dn: str, new_dn: str) -> None:
        """Bring a deleted object back at *new_dn* (MS-ADTS 3.1.1.5.3.7.2, Undelete): one
        modify, with the Show Deleted control, that removes isDeleted and replaces
        distinguishedName. The object keeps its objectGUID and objectSid."""
        request = {
            "isDeleted": [(ldap3.MODIFY_DELETE, [])],
            "distinguishedName": [(ldap3.MODIFY_REPLACE, [new_dn])],
        }
        self.round_trips += 1
        with self._talking("reanimate", tombstone_dn):
            done = self._conn.modify(tombstone_dn, request, controls=[SHOW_DELETED])
        if not done:
            self._raise("reanimate", new_dn, self._conn.result)

    def swap(self, dn: str, attribute: str, old: str, new: str) -> None:
        """Replace the exact value *old* of *attribute* by *new* in one modify operation.

        The delete of *old* fails (noSuchAttribute, code 16) if the value is no longer
        there, and then nothing is written: a compare-and-swap done by the directory.
        """
        request = {attribute: [(ldap3.MODIFY_DELETE, [old]), (ldap3.MODIFY_ADD, [new])]}
        self.round_trips += 1
        if not self._conn.modify(dn, request):
            self._raise("modify", dn, self._conn.result)

    def delete(self, dn: str) -> None:
        self.round_trips += 1
        with self._talking("delete", dn):
            done = self._conn.delete(dn)
        if not done:
            self._raise("delete", dn, self._conn.result)

    def move(self, dn: str, new_parent: str) -> None:
        rdn = ldap3.utils.dn.to_dn(dn)[0]  # the first RDN, escapes kept
        self.round_trips += 1
        with self._talking("move", dn):
            done = self._conn.modify_dn(dn, rdn, new_superior=new_parent)
        if not done:
            self._raise("move", dn, self._conn.result)

    @staticmethod
    def _raise(operation: str, dn: str, result: Mapping[str, Any]) -> None:
        code = result.get("result")
        words = _RESULT_WORDS.get(code or 0, result.get("description", "error"))
        detail = (result.get("message") or "").strip()
        message = f"{operation} {dn}: {words}" + (f" ({detail})" if detail else "")
        error = DirectoryError(message)
        error.code = code if isinstance(code, int) else None
        raise error


def _tls_connection(
    endpoint: Endpoint, password: Secret, timeout: int
) -> tuple[ldap3.Connection, bool]:
    """A simple-bind connection over LDAPS, or StartTLS for ldap:// (True)."""
    try:
        tls = ldap3.Tls(
            validate=ssl.CERT_REQUIRED,
            ca_certs_file=endpoint.ca_file,
            valid_names=[endpoint.tls_name] if endpoint.tls_name else None,
        )
    except LDAPException as error:  # e.g. the CA file does not exist
        raise ConnectionFailed(
            f"TLS set-up for {endpoint.url}: {_describe(error)}",
            hint="check ca_file in the inventory",
        ) from None
    use_ssl = endpoint.url.lower().startswith("ldaps://")
    server = ldap3.Server(
        endpoint.url, use_ssl=use_ssl, tls=tls, get_info=ldap3.NONE, connect_timeout=timeout
    )
    conn = ldap3.Connection(
        server,
        user=endpoint.username,
        password=password.reveal(),
        **CONNECTION_OPTIONS,
    )
    return conn, not use_ssl


def _controls(query: Query) -> list[Any]:
    """The request controls *query* asks for (paging aside)."""
    controls = security_descriptor_control(sdflags=query.sd_flags) if query.sd_flags else []
    if query.show_deleted:
        controls = [*controls, SHOW_DELETED]
    if query.extended_dn:
        controls = [*controls, EXTENDED_DN]
    return list(controls)


_entry = ldap_pipeline.entry_of


def _paged_cookie(result: Mapping[str, Any]) -> bytes | None:
    controls = result.get("controls") or {}
    paged = controls.get("1.2.840.113556.1.4.319")
    if not paged:
        return None
    cookie: bytes | None = paged["value"]["cookie"]
    return cookie or None


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:200]
