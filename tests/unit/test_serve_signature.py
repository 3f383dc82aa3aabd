"""Webhook signatures: HMAC-SHA256 over timestamp and body, a window, and no replays."""

from __future__ import annotations

import base64
import hashlib
import hmac
import subprocess
from pathlib import Path

import pytest

from adsuite.connectors.credentials import Secret
from adsuite.serve.contract import Refused
from adsuite.serve.intake import Admission
from adsuite.serve.queue import Queue
from adsuite.serve.signature import sign, signed_headers, verify

SECRET = Secret("0123456789abcdef0123456789abcdef-test-only")
NOW = 1_764_234_000
BODY = b'{"id": "IT-1", "type": "leaver", "requester": "li.hr"}'


def check(timestamp: str | None, signature: str | None, body: bytes = BODY, now: int = NOW):
    return verify(SECRET, timestamp, signature, body, now=now, window=300)


def refusal(timestamp: str | None, signature: str | None, **kw: object) -> Refused:
    with pytest.raises(Refused) as caught:
        check(timestamp, signature, **kw)  # type: ignore[arg-type]
    assert caught.value.status == 401
    return caught.value


def test_good_signature_is_accepted_and_keyed_by_its_mac() -> None:
    signed = check(str(NOW), sign(SECRET, NOW, BODY))
    expected = hmac.new(SECRET.reveal().encode(), f"{NOW}.".encode() + BODY, hashlib.sha256)
    assert signed.timestamp == NOW
    assert signed.mac == expected.hexdigest()


def test_base64_mac_as_servicenow_writes_it_is_accepted() -> None:
    mac = hmac.new(SECRET.reveal().encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).digest()
    signed = check(str(NOW), "sha256=" + base64.b64encode(mac).decode())
    assert signed.mac == mac.hex(), "hex and base64 of one MAC are one replay key"


@pytest.mark.parametrize(
    ("body", "secret", "stamp"),
    [
        (BODY + b" ", SECRET, NOW),  # body changed after signing
        (BODY, Secret("another secret, also long enough......"), NOW),
        (BODY, SECRET, NOW - 1),  # signed with another timestamp than the header says
    ],
    ids=["body changed", "wrong secret", "timestamp changed"],
)
def test_bad_signature_is_refused(body: bytes, secret: Secret, stamp: int) -> None:
    header = sign(secret, stamp, BODY)
    assert refusal(str(NOW), header, body=body).message == "bad signature"


@pytest.mark.parametrize(
    ("timestamp", "signature", "reason"),
    [
        (None, "sha256=" + "0" * 64, "missing X-Adsuite-Timestamp header"),
        (str(NOW), None, "missing X-Adsuite-Signature header"),
        (str(NOW), "  ", "missing X-Adsuite-Signature header"),
        (str(NOW), "md5=abc", "the signature must be sha256="),
        (str(NOW), "sha256=" + "0" * 63, "the signature must be sha256="),
        ("1764234000.5", "sha256=" + "0" * 64, "X-Adsuite-Timestamp must be Unix seconds"),
    ],
)
def test_missing_or_malformed_headers_are_refused(
    timestamp: str | None, signature: str | None, reason: str
) -> None:
    assert reason in refusal(timestamp, signature).message


def test_old_timestamp_is_refused_even_when_the_signature_is_good() -> None:
    stamp = NOW - 301
    error = refusal(str(stamp), sign(SECRET, stamp, BODY))
    assert error.message == "timestamp is 301 s old; requests older than 300 s are refused"
    assert check(str(NOW - 300), sign(SECRET, NOW - 300, BODY)).timestamp == NOW - 300


def test_future_timestamp_is_refused() -> None:
    stamp = NOW + 301
    error = refusal(str(stamp), sign(SECRET, stamp, BODY))
    assert "301 s in the future" in error.message
    assert check(str(NOW + 300), sign(SECRET, NOW + 300, BODY)).timestamp == NOW + 300


def admission(ticket: str = "IT-1") -> Admission:
    return Admission(ticket, "leaver", "group", "native", {"id": ticket})


def test_replayed_signature_is_refused_and_also_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite"
    signed = check(str(NOW), sign(SECRET, NOW, BODY))
    with Queue.open(path, clock=lambda: NOW) as queue:
        run, new = queue.enqueue(admission(), signed)
        assert new and run.status == "queued"
        with pytest.raises(Refused) as replay:
            queue.enqueue(admission("IT-2"), signed)
        assert replay.value.status == 409
    with Queue.open(path, clock=lambda: NOW + 5) as restarted:
        with pytest.raises(Refused, match="replayed request"):
            restarted.enqueue(admission("IT-3"), signed)
        assert restarted.counts()["queued"] == 1, "a replay queues nothing"


def test_signing_recipe_in_the_docs_with_openssl_is_accepted(tmp_path: Path) -> None:
    """docs/service-desk.md signs with openssl in a shell; the server must accept it."""
    body = tmp_path / "ticket.json"
    body.write_bytes(BODY + b"\n")  # a file from an editor ends with a newline: it is signed too
    script = (
        f'{{ printf "%s." "{NOW}"; cat "{body}"; }} '
        f'| openssl dgst -sha256 -hmac "$SECRET" | sed "s/^.* //"'
    )
    done = subprocess.run(
        ["sh", "-c", script],
        env={"SECRET": SECRET.reveal(), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert check(str(NOW), "sha256=" + done.stdout.strip(), body=BODY + b"\n")


def test_signed_headers_sign_what_verify_checks() -> None:
    headers = signed_headers(SECRET, NOW, b"/runs/q-20261127T130501Z-9f3c2a")
    signed = check(
        headers["X-Adsuite-Timestamp"],
        headers["X-Adsuite-Signature"],
        body=b"/runs/q-20261127T130501Z-9f3c2a",
    )
    assert signed.timestamp == NOW
