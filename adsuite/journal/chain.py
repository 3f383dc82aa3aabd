"""The hash chain: canonical JSON bodies, entry hashes, timestamps and run ids.

Entry ``n`` stores ``hash = sha256(prev_hash \\n seq \\n at \\n run_id \\n kind \\n body)``
where ``prev_hash`` is the hash of entry ``n - 1`` (64 zeros for the first entry).
The fields are joined by newlines, so the encoding is unambiguous only while no field
but the body holds a newline: :func:`field_problem` checks exactly that, and the
canonical body never holds a raw newline (JSON escapes it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from adsuite.errors import JournalError
from adsuite.journal.records import KINDS, UNBOUND_KINDS

log = logging.getLogger(__name__)

GENESIS = "0" * 64

_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z", re.ASCII)
_RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}\Z", re.ASCII)
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def canonical_json(value: Mapping[str, Any]) -> str:
    """Serialise ``value`` the one way the chain hashes it; JournalError if it cannot be."""
    try:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise JournalError(f"journal entry is not plain JSON data: {exc}") from None


def entry_hash(prev_hash: str, seq: int, at: str, run_id: str, kind: str, body: str) -> str:
    """The hex sha256 of one entry, bound to the entry before it by ``prev_hash``."""
    text = "\n".join((prev_hash, str(seq), at, run_id, kind, body))
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise JournalError(f"journal entry {seq} holds text that is not valid Unicode") from None
    return hashlib.sha256(data).hexdigest()


def utc_timestamp(now: datetime | None = None) -> str:
    """UTC ISO-8601 with microseconds and a ``Z``: ``2026-11-27T12:34:56.123456Z``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_run_id(now: datetime | None = None) -> str:
    """A run id: UTC time to the second plus 6 random hex digits, ``20261127T123456Z-3f9a1c``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def is_run_id(text: str) -> bool:
    return _RUN_ID.match(text) is not None


def field_problem(at: str, run_id: str, kind: str, prev_hash: str, stored_hash: str) -> str | None:
    """What is malformed in an entry's plain fields, or None when they are well formed."""
    if _AT.match(at) is None:
        return f"malformed timestamp {at!r}"
    if kind not in KINDS:
        return f"unknown kind {kind!r}"
    if not (is_run_id(run_id) or (kind in UNBOUND_KINDS and run_id == "")):
        return f"malformed run id {run_id!r}"
    if _HEX64.match(prev_hash) is None or _HEX64.match(stored_hash) is None:
        return "malformed hash field"
    return None
