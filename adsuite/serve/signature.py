"""Request signatures: HMAC-SHA256 over a Unix timestamp and the exact body bytes.

A client sends two headers::

    X-Adsuite-Timestamp: 1795743000
    X-Adsuite-Signature: sha256=<HMAC-SHA256(secret, "1795743000" + "." + body)>

The MAC may be written in hex (64 characters) or base64 (44, which is what
ServiceNow's ``GlideCertificateEncryption.generateMac`` returns). A ``GET`` has no
body: its signature covers the request path instead (``"1795743000./runs/q-…"``).
Jira Cloud's own webhooks sign the body alone (``X-Hub-Signature: sha256=<hex>``);
their body carries the event time (``"timestamp"``, milliseconds), so the MAC covers a
timestamp there too, and :func:`verify_jira` checks that one. Timestamps further
than the window from the server's clock, in either direction, are refused;
remembering signatures against replays is the queue's job (it survives a restart).
Every comparison of MACs is constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass

from adsuite.connectors.credentials import Secret
from adsuite.serve.contract import Refused

log = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Adsuite-Timestamp"
SIGNATURE_HEADER = "X-Adsuite-Signature"
JIRA_SIGNATURE_HEADER = "X-Hub-Signature"
DEFAULT_WINDOW = 300  # seconds
_PREFIX = "sha256="
_DIGITS = re.compile(r"^[0-9]{1,12}$")
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class Signed:
    """An authenticated request: its timestamp and its MAC (hex, the replay key)."""

    timestamp: int
    mac: str


def sign(secret: Secret, timestamp: int, payload: bytes) -> str:
    """The ``X-Adsuite-Signature`` value for *payload* (the body, or a GET's path)."""
    return _PREFIX + _mac(secret, str(timestamp), payload).hex()


def signed_headers(secret: Secret, timestamp: int, payload: bytes) -> dict[str, str]:
    """Both headers a client sends (for clients written in Python, and the tests)."""
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, payload)}


def verify(
    secret: Secret,
    timestamp: str | None,
    signature: str | None,
    payload: bytes,
    *,
    now: float,
    window: int = DEFAULT_WINDOW,
) -> Signed:
    """Check the two header values against *payload*; raise :class:`Refused` (401) why not."""
    stamp_text = _header(timestamp, TIMESTAMP_HEADER)
    given = _decode(_header(signature, SIGNATURE_HEADER))
    if not _DIGITS.match(stamp_text):
        raise Refused(401, f"{TIMESTAMP_HEADER} must be Unix seconds, like 1795743000")
    expected = _mac(secret, stamp_text, payload)
    if not hmac.compare_digest(expected, given):
        raise Refused(401, "bad signature")
    stamp = int(stamp_text)
    _check_window(stamp, now, window)
    return Signed(stamp, expected.hex())


def check_headers(
    timestamp: str | None,
    signature: str | None,
    *,
    now: float,
    window: int = DEFAULT_WINDOW,
) -> None:
    """Everything :func:`verify` checks that needs no body: raise :class:`Refused` (401) why not.

    The server calls this on the headers alone, so a request without a well-formed,
    recent signature is refused before its body is read; the MAC itself covers the
    body and can only be checked once the body is in.
    """
    stamp_text = _header(timestamp, TIMESTAMP_HEADER)
    _decode(_header(signature, SIGNATURE_HEADER))
    if not _DIGITS.match(stamp_text):
        raise Refused(401, f"{TIMESTAMP_HEADER} must be Unix seconds, like 1795743000")
    _check_window(int(stamp_text), now, window)


def check_jira_header(signature: str | None) -> None:
    """The form of Jira's ``X-Hub-Signature``; its timestamp is in the body."""
    _decode(_header(signature, JIRA_SIGNATURE_HEADER))


def verify_jira(
    secret: Secret, signature: str | None, body: bytes, *, now: float, window: int = DEFAULT_WINDOW
) -> Signed:
    """Check a Jira webhook: a MAC over the body, whose ``timestamp`` (ms) must be recent."""
    given = _decode(_header(signature, JIRA_SIGNATURE_HEADER))
    expected = _mac_of(secret, body)
    if not hmac.compare_digest(expected, given):
        raise Refused(401, "bad signature")
    try:
        millis = json.loads(body).get("timestamp")
    except (ValueError, AttributeError):
        millis = None
    if not isinstance(millis, int) or isinstance(millis, bool):
        raise Refused(401, 'a Jira webhook body needs its "timestamp" (milliseconds)')
    stamp = millis // 1000
    _check_window(stamp, now, window)
    return Signed(stamp, expected.hex())


def _check_window(stamp: int, now: float, window: int) -> None:
    age = int(now) - stamp
    if age > window:
        raise Refused(401, f"timestamp is {age} s old; requests older than {window} s are refused")
    if -age > window:
        raise Refused(
            401, f"timestamp is {-age} s in the future; the clocks differ by more than {window} s"
        )


def _mac(secret: Secret, timestamp: str, payload: bytes) -> bytes:
    return _mac_of(secret, timestamp.encode("ascii") + b"." + payload)


def _mac_of(secret: Secret, message: bytes) -> bytes:
    return hmac.new(secret.reveal().encode("utf-8"), message, hashlib.sha256).digest()


def _header(value: str | None, name: str) -> str:
    if value is None or not value.strip():
        raise Refused(401, f"missing {name} header")
    return value.strip()


def _decode(value: str) -> bytes:
    wrong = "the signature must be sha256=<HMAC-SHA256 in hex or base64>"
    if not value.startswith(_PREFIX):
        raise Refused(401, wrong)
    text = value[len(_PREFIX) :]
    if _HEX.match(text):
        return bytes.fromhex(text)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != hashlib.sha256().digest_size:
        raise Refused(401, wrong)
    return raw
