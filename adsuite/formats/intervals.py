"""AD time intervals: negative counts of 100-nanosecond ticks ↔ days or minutes.

maxPwdAge, minPwdAge, lockoutDuration, lockoutObservationWindow and their PSO
counterparts (msDS-MaximumPasswordAge, ...) are "delta time" values (syntax 2.5.5.16,
[MS-ADA2] 2.14): the *negative* number of 100-ns ticks, so 30 minutes is
``-18000000000``. Playbooks say whole days or minutes, or ``never``.

"Never" is written as ``-9223372036854775808`` (0x8000000000000000, the most negative
64-bit value) — what samba-tool writes and Microsoft's PSO guide documents. How 0
reads depends on the attribute, so each attribute says it:

- maximum password age: 0 also means never. [MS-SAMR] 3.1.5.14.x (PasswordMustChange)
  treats an Effective-MaximumPasswordAge of 0 as "never expires", and [MS-ADTS]
  3.1.1.4.5.33 does the same for 0x8000000000000000.
- lockout duration: 0 also means never (locked until an administrator unlocks it):
  [MS-ADTS] 3.1.1.4.5.25 counts an account as locked while lockoutDuration, read as
  unsigned, is below 0x8000000000000000 (i.e. 0) or while the duration has not run out.
- minimum password age and the lockout observation window: 0 is zero (a password may
  be changed at once; the bad-password count resets at once).

The codec is exact: whole units round-trip; a value that is not a whole number of
units reads as a :class:`fractions.Fraction`, so it never compares equal to a
playbook's whole number by accident.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

log = logging.getLogger(__name__)

NEVER_TICKS = -0x8000000000000000  # -9223372036854775808
TICKS_PER_SECOND = 10_000_000
TICKS_PER_MINUTE = 60 * TICKS_PER_SECOND
TICKS_PER_DAY = 24 * 60 * TICKS_PER_MINUTE
UNITS = {"days": TICKS_PER_DAY, "minutes": TICKS_PER_MINUTE}
NEVER: Literal["never"] = "never"

Amount = int | Fraction | Literal["never"]


@dataclass(frozen=True)
class IntervalKind:
    """How one attribute's interval is counted: its unit, and whether 0 means never."""

    unit: Literal["days", "minutes"]
    zero_is_never: bool = False
    never_allowed: bool = True


MAX_PASSWORD_AGE = IntervalKind("days", zero_is_never=True)
MIN_PASSWORD_AGE = IntervalKind("days", never_allowed=False)
LOCKOUT_DURATION = IntervalKind("minutes", zero_is_never=True)
LOCKOUT_WINDOW = IntervalKind("minutes")


def to_ticks(amount: Amount, kind: IntervalKind) -> int:
    """Days or minutes (or ``"never"``) as AD stores them: negative 100-ns ticks."""
    if amount == NEVER:
        if not kind.never_allowed:
            raise ValueError("this interval cannot be 'never'")
        return NEVER_TICKS
    if isinstance(amount, str | bool):
        raise ValueError(f"an interval must be a number of {kind.unit} or 'never', not {amount!r}")
    if amount < 0:
        raise ValueError(f"an interval cannot be negative ({amount} {kind.unit})")
    if amount == 0 and kind.zero_is_never:
        raise ValueError(f"0 {kind.unit} reads back as never here; say 'never' if that is meant")
    ticks = amount * UNITS[kind.unit]
    if isinstance(ticks, Fraction) and ticks.denominator != 1:
        raise ValueError(f"{amount} {kind.unit} is not a whole number of 100-ns ticks")
    value = -int(ticks)
    if value <= NEVER_TICKS:
        raise ValueError(f"{amount} {kind.unit} is too long for an AD interval")
    return value


def from_ticks(ticks: int, kind: IntervalKind) -> Amount:
    """AD's negative ticks as days or minutes, or ``"never"``; ValueError if positive."""
    if ticks == NEVER_TICKS or (ticks == 0 and kind.zero_is_never):
        return NEVER
    if ticks > 0:
        raise ValueError(f"{ticks} is not a relative interval (it is positive)")
    amount = Fraction(-ticks, UNITS[kind.unit])
    return amount.numerator if amount.denominator == 1 else amount


def parse(text: str, kind: IntervalKind) -> Amount:
    """An attribute value as read over LDAP (decimal text) → days, minutes or never."""
    return from_ticks(int(text), kind)


def describe(amount: Amount, kind: IntervalKind) -> str:
    """In words: ``"180 days"``, ``"1 minute"``, ``"never"``."""
    if amount == NEVER:
        return NEVER
    unit = kind.unit[:-1] if amount == 1 else kind.unit
    return f"{amount} {unit}"  # a Fraction shows exactly, as "1/16 days"
