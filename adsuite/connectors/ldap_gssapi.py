"""An LDAP bind with Kerberos (SASL GSSAPI, RFC 4752) that signs and seals the connection.

ldap3 2.9.1 binds with GSSAPI but only without a security layer (its
``_common_process_end_token_get_security_layers`` always answers "no layer"). A DC that
requires strong authentication refuses that: Samba's ``ldap server require strong auth
= yes`` (its default) and Windows' "LDAP server signing requirements = Require signing"
accept a SASL bind on plain 389 only when it negotiates integrity or confidentiality,
and Samba refuses any SASL bind over TLS when it is ``yes``. So adsuite negotiates the
confidentiality layer itself (RFC 4752 §3.1: the server offers a bitmask of layers and
a maximum buffer size in a wrapped 4-octet token; the client picks one) and, from the
bind on, wraps every LDAP message with the Kerberos session key (RFC 4752 §3.3:
4-octet big-endian length, then the GSS-wrapped buffer).

:class:`SealedSocket` stands in for the TCP socket ldap3 talks to, so ldap3's strategies
(and adsuite's raw-entry strategy) read and write plain LDAP as before. The service
principal is built as ``ldap/<host>@<REALM>``, a Kerberos principal name, so neither DNS
canonicalisation nor reverse lookups of the connect address decide it.
"""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import gssapi
import ldap3
from gssapi.raw.misc import GSSError
from ldap3.protocol.sasl.sasl import abort_sasl_negotiation, send_sasl_negotiation

from adsuite.connectors.kerberos import Ticket, environment
from adsuite.errors import BindRefused

log = logging.getLogger(__name__)

NO_LAYER, INTEGRITY, CONFIDENTIALITY = 1, 2, 4
OUR_MAX_BUFFER = 0x00FFFFFF  # the largest size the 3-octet field can say
_FLAGS = (
    gssapi.RequirementFlag.mutual_authentication
    | gssapi.RequirementFlag.integrity
    | gssapi.RequirementFlag.confidentiality
    | gssapi.RequirementFlag.out_of_sequence_detection
)


class SealedSocket:
    """A socket whose every write is GSS-wrapped (sealed) and every read unwrapped.

    Anything else (``getsockname``, ``close``, ``shutdown``, ``settimeout``...) goes to
    the real socket.
    """

    def __init__(self, sock: socket.socket, context: gssapi.SecurityContext, max_out: int):
        self._sock = sock
        self._context = context
        # a wrapped token carries about 60 octets of header and padding with AES
        self._chunk = max(1024, min(max_out, OUR_MAX_BUFFER) - 128)
        self._plain = bytearray()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def sendall(self, data: bytes) -> None:
        for start in range(0, len(data), self._chunk):
            token = self._context.wrap(bytes(data[start : start + self._chunk]), True)
            if not token.encrypted:
                raise OSError("the Kerberos context did not seal a message")
            self._sock.sendall(struct.pack(">I", len(token.message)) + token.message)

    def send(self, data: bytes) -> int:
        self.sendall(data)
        return len(data)

    def recv(self, size: int) -> bytes:
        """Up to *size* plain octets; ``b""`` only when the server closed the connection."""
        while not self._plain:
            header = self._exactly(4)
            if not header:
                return b""
            (length,) = struct.unpack(">I", header)
            if length > OUR_MAX_BUFFER:
                raise OSError(f"sealed LDAP frame of {length} octets exceeds the agreed maximum")
            frame = self._exactly(length)
            if len(frame) != length:
                raise OSError("the DC closed the connection inside a sealed frame")
            self._plain += self._context.unwrap(frame).message
        out = bytes(self._plain[:size])
        del self._plain[:size]
        return out

    def _exactly(self, count: int) -> bytes:
        data = bytearray()
        while len(data) < count:
            part = self._sock.recv(count - len(data))
            if not part:
                break
            data += part
        return bytes(data)


class SealedGssapiConnection(ldap3.Connection):  # type: ignore[misc]
    """An ldap3 Connection whose GSSAPI bind negotiates confidentiality.

    ``sasl_credentials`` is ``(service principal, gssapi.Credentials, Ticket)``.
    """

    def do_sasl_bind(self, controls: Any) -> Any:
        with self.connection_lock:
            self.sasl_in_progress = True
            try:
                return _bind(self, controls)
            finally:
                self.sasl_in_progress = False


def sealed_connection(
    url: str, tls_name: str | None, ticket: Ticket, timeout: int, options: Mapping[str, Any]
) -> SealedGssapiConnection:
    """A not-yet-opened connection that binds as *ticket* on the DC's plain LDAP port.

    An ``ldaps://`` URL (or port 636) becomes port 389: a GSSAPI bind that seals needs
    no TLS, and Samba refuses sealing inside TLS. The service principal is
    ``ldap/<tls_name or the URL's host>@<the ticket's realm>``.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or 389
    if parts.scheme == "ldaps" or port == 636:
        port = 389
    principal = f"ldap/{(tls_name or host).lower()}@{ticket.realm()}"
    with environment(ticket):
        creds = ticket.credentials()
    server = ldap3.Server(
        host, port=port, use_ssl=False, get_info=ldap3.NONE, connect_timeout=timeout
    )
    return SealedGssapiConnection(
        server,
        authentication=ldap3.SASL,
        sasl_mechanism=ldap3.KERBEROS,
        sasl_credentials=(principal, creds, ticket),
        **options,
    )


def _bind(connection: Any, controls: Any) -> Any:
    principal, creds, ticket = connection.sasl_credentials
    with environment(ticket):  # the KDC is asked for the service ticket here
        return _exchange(connection, controls, principal, creds)


def _exchange(connection: Any, controls: Any, principal: str, creds: Any) -> Any:
    target = gssapi.Name(principal, gssapi.NameType.kerberos_principal)
    context = gssapi.SecurityContext(
        name=target, creds=creds, usage="initiate", mech=gssapi.MechType.kerberos, flags=_FLAGS
    )
    try:
        token: bytes | None = None
        while not context.complete:
            out = context.step(token) or b""
            result = send_sasl_negotiation(connection, controls, out)
            if result["result"] not in (0, 14):  # success, saslBindInProgress
                return result
            token = result.get("saslCreds")
        offer = context.unwrap(result.get("saslCreds") or b"").message
        if len(offer) != 4 or not offer[0] & CONFIDENTIALITY:
            abort_sasl_negotiation(connection, controls)
            raise BindRefused(
                f"the DC offers no confidentiality layer for a Kerberos bind (layers {offer[:1]!r})"
            )
        server_max = int.from_bytes(offer[1:4], "big")
        choice = bytes([CONFIDENTIALITY]) + OUR_MAX_BUFFER.to_bytes(3, "big")
        result = send_sasl_negotiation(connection, controls, context.wrap(choice, False).message)
    except GSSError as error:
        abort_sasl_negotiation(connection, controls)
        raise BindRefused(f"Kerberos bind to {principal}: {gss_words(error)}") from None
    if result["result"] == 0:
        connection.socket = SealedSocket(connection.socket, context, server_max)
        log.debug("sealed GSSAPI bind to %s (server max buffer %d)", principal, server_max)
    return result


def gss_words(error: GSSError) -> str:
    """The first line of GSSAPI's own words (it names no secret, only principals)."""
    text = error.gen_message() if hasattr(error, "gen_message") else str(error)
    return " ".join(text.split())[:200]
