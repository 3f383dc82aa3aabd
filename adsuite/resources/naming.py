"""Validation of the names AD accepts for accounts (sAMAccountName)."""

from __future__ import annotations

import re

_FORBIDDEN = set('"/\\[]:;|=,+*?<>@')
# one scan for the common case: a playbook of 10,000 users checks 30,000 names
_SUSPECT = re.compile(r'["/\\\[\]:;|=,+*?<>@\x00-\x1f]')
MAX_SAM = 64


def check_sam_account_name(value: str) -> str:
    """Raise ValueError unless *value* is a usable sAMAccountName for a user or group."""
    if not value or value != value.strip():
        raise ValueError(f"bad account name {value!r}: empty or surrounded by spaces")
    suspect = _SUSPECT.search(value) is not None
    bad = sorted(_FORBIDDEN.intersection(value)) if suspect else []
    if bad:
        raise ValueError(f"bad account name {value!r}: {''.join(bad)!r} is not allowed")
    if value.endswith("."):
        raise ValueError(f"bad account name {value!r}: must not end with '.'")
    if len(value) > MAX_SAM:
        raise ValueError(f"bad account name {value[:20]!r}…: over {MAX_SAM} characters")
    if suspect and any(ord(c) < 32 for c in value):
        raise ValueError(f"bad account name {value!r}: control characters are not allowed")
    return value
