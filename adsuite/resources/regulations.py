"""The regulation floors adsuite enforces, in one place for playbooks, tickets and reports.

二.2.c (REQUIREMENTS.md, "Passwords"): passwords of at least 6 characters, changed at
least every half year (maximum age 183 days; "never" is above any number of days),
and different from the previous one (history of at least 1). A setting below the
floor is refused when a playbook or ticket is loaded, unless it carries an explicit
override with a written reason; the override is journaled with the change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction

log = logging.getLogger(__name__)

PASSWORD_CLAUSE = "二.2.c"


@dataclass(frozen=True)
class PasswordFloor:
    """The weakest password settings the regulations allow."""

    min_length: int = 6
    max_age_days: int = 183
    history: int = 1
    clause: str = PASSWORD_CLAUSE


PASSWORD_FLOOR = PasswordFloor()


def min_length_violation(value: int, floor: PasswordFloor = PASSWORD_FLOOR) -> str | None:
    if value >= floor.min_length:
        return None
    return (
        f"minimum password length {value} is below the floor of {floor.min_length} "
        f"(regulation {floor.clause}: passwords of {floor.min_length} characters or more)"
    )


def max_age_violation(
    value: int | Fraction | str, floor: PasswordFloor = PASSWORD_FLOOR
) -> str | None:
    """*value* in days, or ``"never"``."""
    if not isinstance(value, str) and value <= floor.max_age_days:
        return None
    shown = "never" if isinstance(value, str) else f"{value} days"
    return (
        f"maximum password age {shown} is above the floor of {floor.max_age_days} days "
        f"(regulation {floor.clause}: passwords change at least every half year)"
    )


def history_violation(value: int, floor: PasswordFloor = PASSWORD_FLOOR) -> str | None:
    if value >= floor.history:
        return None
    return (
        f"password history {value} is below the floor of {floor.history} "
        f"(regulation {floor.clause}: a new password must differ from the previous one)"
    )


def password_violations(
    *,
    min_length: int | None = None,
    max_age: int | Fraction | str | None = None,
    history: int | None = None,
    floor: PasswordFloor = PASSWORD_FLOOR,
) -> list[str]:
    """Every way the given settings fall below *floor* (tickets check them all at once)."""
    found = [
        min_length_violation(min_length, floor) if min_length is not None else None,
        max_age_violation(max_age, floor) if max_age is not None else None,
        history_violation(history, floor) if history is not None else None,
    ]
    return [message for message in found if message is not None]
