"""Small network probes of a DC that need no bound session: a DNS SRV question, a
Kerberos AS-REQ, and the LDAPS certificate as the DC presents it.

Each sends one bounded request and reads one bounded reply (timeouts on every socket,
replies capped at 64 KiB); the codecs are in ``adsuite.formats``. A DC that does not
answer raises :class:`~adsuite.errors.ConnectionFailed` with one line.
"""

from __future__ import annotations

import logging
import secrets
import socket
import ssl
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

from adsuite.errors import ConnectionFailed
from adsuite.formats import dns_srv, krb_probe

log = logging.getLogger(__name__)

MAX_REPLY = 65536
DNS_PORT = 53
KDC_PORT = 88


@dataclass(frozen=True)
class Certificate:
    subject: str
    not_after: datetime


def _failed(what: str, host: str, port: int, error: BaseException) -> ConnectionFailed:
    words = "no answer in time" if isinstance(error, TimeoutError) else type(error).__name__
    return ConnectionFailed(f"{what} at {host}:{port}: {words}")


def srv_records(
    host: str, name: str, port: int = DNS_PORT, timeout: float = 5.0
) -> dns_srv.SrvAnswer:
    """The SRV records of *name* as the DNS server at *host* answers (UDP, then TCP if cut)."""
    query_id = secrets.randbelow(0x10000)
    question = dns_srv.srv_query(name, query_id)
    try:
        with socket.socket(_family(host), socket.SOCK_DGRAM) as udp:
            udp.settimeout(timeout)
            udp.connect((host, port))  # so a closed port is refused at once, not timed out
            udp.send(question)
            answer = dns_srv.parse_srv(udp.recv(MAX_REPLY), query_id)
        if not answer.truncated:
            return answer
        with socket.create_connection((host, port), timeout=timeout) as tcp:
            tcp.sendall(struct.pack("!H", len(question)) + question)
            (size,) = struct.unpack("!H", _read_exactly(tcp, 2))
            return dns_srv.parse_srv(_read_exactly(tcp, size), query_id)
    except OSError as error:
        raise _failed("DNS", host, port, error) from None


def kdc_reply(
    host: str, realm: str, client: str, port: int = KDC_PORT, timeout: float = 5.0
) -> krb_probe.KdcReply:
    """The KDC's answer to an AS-REQ for *client* without pre-authentication (TCP)."""
    request = krb_probe.as_req(client, realm, secrets.randbelow(0x7FFFFFFF))
    try:
        with socket.create_connection((host, port), timeout=timeout) as tcp:
            tcp.sendall(struct.pack("!I", len(request)) + request)
            (size,) = struct.unpack("!I", _read_exactly(tcp, 4))
            if size > MAX_REPLY:
                raise ConnectionFailed(f"Kerberos at {host}:{port}: reply of {size} bytes")
            return krb_probe.parse_reply(_read_exactly(tcp, size))
    except OSError as error:
        raise _failed("Kerberos", host, port, error) from None


def tls_certificate(
    host: str, port: int, ca_file: str | None, tls_name: str | None, timeout: float = 10.0
) -> Certificate:
    """The certificate the server at *host*:*port* presents, validated against *ca_file*."""
    context = ssl.create_default_context(cafile=ca_file)
    context.check_hostname = tls_name is not None
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=tls_name or host) as tls,
        ):
            cert = tls.getpeercert()
    except (OSError, ssl.SSLError) as error:
        raise _failed("TLS", host, port, error) from None
    if not cert:
        raise ConnectionFailed(f"TLS at {host}:{port}: no certificate presented")
    not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(str(cert["notAfter"])), UTC)
    subject = ", ".join(f"{pair[0]}={pair[1]}" for rdn in cert.get("subject", ()) for pair in rdn)
    return Certificate(subject, not_after)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(min(size - len(data), MAX_REPLY))
        if not chunk:
            raise ConnectionResetError("closed mid-reply")
        data += chunk
    return data


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
