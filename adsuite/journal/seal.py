"""Keyed MACs over the chain: rows a forger without the key cannot produce.

The hash chain proves order and integrity, but anyone who can write the file can
recompute it. Each entry written while a key is configured also stores
``mac = HMAC-SHA256(key, prev_mac \\n seq \\n at \\n run_id \\n kind \\n body)``, where
``prev_mac`` is the MAC of the entry before (64 zeros when that entry has none). The
key is a credential (env, keyring or a 0600 secret file), never stored in the journal:
the journal's ``meta`` table names only the credential, like an inventory does.

Rule for journals older than the key: entries before the first MACed entry are
reported as "unMACed, before <seq>" (a note, not a failure); every entry after the
first MACed one must carry a valid MAC.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from pathlib import Path

from adsuite.connectors import credentials
from adsuite.errors import AdsuiteError, JournalError

log = logging.getLogger(__name__)

NO_MAC = "0" * 64
_KEY_ID_LABEL = b"adsuite journal key id"
MIN_KEY_BYTES = 16


@dataclass(frozen=True)
class KeyRef:
    """Where the MAC key comes from: a credential name and, optionally, its secret file."""

    credential: str
    secret_file: Path | None = None

    def load(self) -> bytes:
        """The key's bytes; JournalError if it is missing or too short to be a key."""
        try:
            secret = credentials.resolve(self.credential, self.secret_file)
        except AdsuiteError as exc:  # CredentialError: it names the credential, never a value
            raise JournalError(f"journal MAC key: {exc}", hint=exc.hint) from None
        key = secret.reveal().encode("utf-8")
        if len(key) < MIN_KEY_BYTES:
            raise JournalError(
                f"journal MAC key {self.credential!r} is shorter than {MIN_KEY_BYTES} bytes"
            )
        return key


def entry_mac(
    key: bytes, prev_mac: str, seq: int, at: str, run_id: str, kind: str, body: str
) -> str:
    """The hex HMAC-SHA256 of one entry's canonical fields, chained to the MAC before it."""
    text = "\n".join((prev_mac, str(seq), at, run_id, kind, body))
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """A short public fingerprint of the key, so a report can say which key signed."""
    return hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def same_mac(expected: str, stored: str | None) -> bool:
    return stored is not None and hmac.compare_digest(expected, stored)
