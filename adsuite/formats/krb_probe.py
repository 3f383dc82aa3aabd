"""A Kerberos AS-REQ without pre-authentication and the KDC's reply (RFC 4120 5.4.1,
5.9.1), in DER: proof that a KDC answers for the realm, with no secret sent.

A KDC that requires pre-authentication (every AD DC, for normal accounts) answers with
KRB-ERROR ``KDC_ERR_PREAUTH_REQUIRED`` (25); one for an unknown name with 6. Either is a
KDC speaking Kerberos for the realm. The error carries the KDC's own clock (``stime``).
Pure codec: :func:`as_req` builds the request, :func:`parse_reply` reads the reply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from adsuite.errors import AdsuiteError

log = logging.getLogger(__name__)

NT_PRINCIPAL = 1
NT_SRV_INST = 2
ETYPES = (18, 17, 23)  # aes256-cts, aes128-cts, rc4-hmac: what the request says it reads
ERROR_WORDS = {
    6: "KDC_ERR_C_PRINCIPAL_UNKNOWN",
    14: "KDC_ERR_ETYPE_NOSUPP",
    18: "KDC_ERR_CLIENT_REVOKED",
    24: "KDC_ERR_PREAUTH_FAILED",
    25: "KDC_ERR_PREAUTH_REQUIRED",
    37: "KRB_AP_ERR_SKEW",
    68: "KDC_ERR_WRONG_REALM",
}


class KerberosReplyError(AdsuiteError):
    """A reply that is not a Kerberos message this probe can read."""

    kind = "kerberos"


@dataclass(frozen=True)
class KdcReply:
    kind: str  # "error" (KRB-ERROR) or "as-rep"
    error_code: int | None = None
    realm: str | None = None
    server_time: datetime | None = None

    @property
    def words(self) -> str:
        if self.kind != "error":
            return "AS-REP (no pre-authentication required)"
        code = self.error_code
        return ERROR_WORDS.get(code or -1, f"KRB-ERROR {code}")


def _tlv(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + body


def _integer(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def _string(value: str) -> bytes:
    return _tlv(0x1B, value.encode("utf-8"))  # GeneralString


def _context(number: int, body: bytes) -> bytes:
    return _tlv(0xA0 | number, body)


def _principal(name_type: int, parts: tuple[str, ...]) -> bytes:
    names = _tlv(0x30, b"".join(_string(p) for p in parts))
    return _tlv(0x30, _context(0, _integer(name_type)) + _context(1, names))


def as_req(client: str, realm: str, nonce: int) -> bytes:
    """An AS-REQ for *client*@*realm* asking for a TGT, with no pre-authentication data."""
    realm = realm.upper()
    body = b"".join(
        [
            _context(0, _tlv(0x03, b"\x00\x00\x00\x00\x00")),  # kdc-options: none
            _context(1, _principal(NT_PRINCIPAL, (client,))),
            _context(2, _string(realm)),
            _context(3, _principal(NT_SRV_INST, ("krbtgt", realm))),
            _context(5, _tlv(0x18, b"20370913024805Z")),  # till: the far end, as kinit asks
            _context(7, _integer(nonce & 0x7FFFFFFF)),
            _context(8, _tlv(0x30, b"".join(_integer(e) for e in ETYPES))),
        ]
    )
    request = _context(1, _integer(5)) + _context(2, _integer(10)) + _context(4, _tlv(0x30, body))
    return _tlv(0x6A, _tlv(0x30, request))


def _read_tlv(data: bytes, offset: int) -> tuple[int, bytes, int]:
    """(tag, body, offset after it) of the element at *offset*."""
    if offset + 2 > len(data):
        raise KerberosReplyError("Kerberos reply cut short")
    tag, first = data[offset], data[offset + 1]
    offset += 2
    if first & 0x80:
        count = first & 0x7F
        if not 0 < count <= 4 or offset + count > len(data):
            raise KerberosReplyError("Kerberos reply has a bad length")
        size = int.from_bytes(data[offset : offset + count], "big")
        offset += count
    else:
        size = first
    if offset + size > len(data):
        raise KerberosReplyError("Kerberos reply runs past its end")
    return tag, data[offset : offset + size], offset + size


def _fields(sequence: bytes) -> dict[int, bytes]:
    """The context-tagged fields [n] of a SEQUENCE body, each as its inner element's body."""
    found: dict[int, bytes] = {}
    offset = 0
    while offset < len(sequence):
        tag, body, offset = _read_tlv(sequence, offset)
        if tag & 0xE0 == 0xA0:
            _, inner, _ = _read_tlv(body, 0)
            found[tag & 0x1F] = inner
    return found


def parse_reply(data: bytes) -> KdcReply:
    """A KDC's reply: KRB-ERROR (its code, realm and clock) or AS-REP."""
    tag, body, _ = _read_tlv(data, 0)
    if tag == 0x6B:
        return KdcReply("as-rep")
    if tag != 0x7E:
        raise KerberosReplyError(f"not a Kerberos reply (tag 0x{tag:02x})")
    seq_tag, sequence, _ = _read_tlv(body, 0)
    if seq_tag != 0x30:
        raise KerberosReplyError("KRB-ERROR is not a SEQUENCE")
    fields = _fields(sequence)
    if 6 not in fields:
        raise KerberosReplyError("KRB-ERROR without an error code")
    code = int.from_bytes(fields[6], "big", signed=True)
    realm = fields[9].decode("utf-8", "replace") if 9 in fields else None
    return KdcReply("error", code, realm, _time(fields.get(4)))


def _time(raw: bytes | None) -> datetime | None:
    if raw is None:
        return None
    try:
        return datetime.strptime(raw.decode("ascii"), "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)
    except (UnicodeDecodeError, ValueError):
        return None
