"""DNS SRV queries and answers (RFC 1035 4.1, RFC 2782), just enough to ask a DC's DNS
server which DCs its domain advertises (``_ldap._tcp.dc._msdcs.<realm>``).

Pure codec: :func:`srv_query` builds one recursion-desired question, :func:`parse_srv`
reads the SRV records of the answer section (following compression pointers, bounded).
A reply that does not answer our question (other id, not a response) or is cut short
raises :class:`DnsError`; truncation (TC) is reported so the caller can retry over TCP.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass

from adsuite.errors import AdsuiteError

log = logging.getLogger(__name__)

TYPE_SRV = 33
CLASS_IN = 1
_HEADER = struct.Struct("!HHHHHH")
_MAX_POINTERS = 32  # a name is at most 127 labels; more jumps than this is a loop
RCODES = {0: "no error", 1: "format error", 2: "server failure", 3: "no such name", 5: "refused"}


class DnsError(AdsuiteError):
    """A DNS answer that cannot be read, or that does not answer the question asked."""

    kind = "dns"


@dataclass(frozen=True)
class SrvRecord:
    priority: int
    weight: int
    port: int
    target: str  # lower case, without the final dot


@dataclass(frozen=True)
class SrvAnswer:
    rcode: int
    truncated: bool
    records: tuple[SrvRecord, ...]


def srv_query(name: str, query_id: int) -> bytes:
    """One DNS message asking for the SRV records of *name*."""
    header = _HEADER.pack(query_id & 0xFFFF, 0x0100, 1, 0, 0, 0)  # RD set, one question
    return header + _encode_name(name) + struct.pack("!HH", TYPE_SRV, CLASS_IN)


def _encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("idna") if label else b""
        if not 0 < len(raw) < 64:
            raise DnsError(f"DNS name {name!r} has an empty or too long label")
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def parse_srv(message: bytes, query_id: int) -> SrvAnswer:
    """The SRV records answering query *query_id*; other record types are skipped."""
    if len(message) < _HEADER.size:
        raise DnsError("DNS answer shorter than its header")
    ident, flags, questions, answers, _, _ = _HEADER.unpack_from(message)
    if ident != query_id & 0xFFFF or not flags & 0x8000:
        raise DnsError("DNS answer does not answer the query sent")
    offset = _HEADER.size
    for _ in range(questions):
        _, offset = _read_name(message, offset)
        offset += 4
    records = []
    for _ in range(answers):
        _, offset = _read_name(message, offset)
        rtype, _, _, length = _unpack("!HHIH", message, offset)
        offset += 10
        if offset + length > len(message):
            raise DnsError("DNS answer record runs past the message")
        if rtype == TYPE_SRV:
            priority, weight, port = _unpack("!HHH", message, offset)
            target, _ = _read_name(message, offset + 6)
            records.append(SrvRecord(priority, weight, port, target))
        offset += length
    return SrvAnswer(flags & 0x000F, bool(flags & 0x0200), tuple(records))


def _unpack(fmt: str, message: bytes, offset: int) -> tuple[int, ...]:
    if offset + struct.calcsize(fmt) > len(message):
        raise DnsError("DNS answer cut short")
    return struct.unpack_from(fmt, message, offset)


def _read_name(message: bytes, offset: int) -> tuple[str, int]:
    """The name at *offset* and the offset after it (after the first pointer, if any)."""
    labels: list[str] = []
    end: int | None = None
    for _ in range(_MAX_POINTERS):
        while True:
            if offset >= len(message):
                raise DnsError("DNS name runs past the message")
            length = message[offset]
            if length & 0xC0 == 0xC0:
                break
            if length == 0:
                name = ".".join(labels).lower()
                return name, (end if end is not None else offset + 1)
            labels.append(message[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
            offset += 1 + length
        (pointer,) = _unpack("!H", message, offset)
        end = offset + 2 if end is None else end
        offset = pointer & 0x3FFF
    raise DnsError("DNS name compression loops")
