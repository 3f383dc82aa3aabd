"""AD intervals: days and minutes ↔ negative 100-ns ticks, "never", and what 0 means.

Checked against Samba's own conversions (samba-tool's pso module), run with the
system Python as an oracle.
"""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction

import pytest

from adsuite.formats import intervals as iv
from adsuite.formats.intervals import (
    LOCKOUT_DURATION,
    LOCKOUT_WINDOW,
    MAX_PASSWORD_AGE,
    MIN_PASSWORD_AGE,
    NEVER_TICKS,
)

SYSTEM_PYTHON = "/usr/bin/python3"
ALL_KINDS = [MAX_PASSWORD_AGE, MIN_PASSWORD_AGE, LOCKOUT_DURATION, LOCKOUT_WINDOW]


@pytest.mark.parametrize(
    "kind", ALL_KINDS, ids=lambda k: f"{k.unit}, zero_is_never={k.zero_is_never}"
)
@pytest.mark.parametrize("amount", [1, 2, 30, 42, 90, 180, 183, 999, 99999])
def test_whole_units_round_trip_through_ticks(kind: iv.IntervalKind, amount: int) -> None:
    ticks = iv.to_ticks(amount, kind)
    assert ticks < 0
    assert iv.from_ticks(ticks, kind) == amount
    assert iv.parse(str(ticks), kind) == amount


def test_the_documented_examples_encode_exactly() -> None:
    # [MS-ADA2] 2.14: 20 minutes is -12000000000; Microsoft's PSO guide: 10 days and 30 minutes
    assert iv.to_ticks(20, LOCKOUT_WINDOW) == -12000000000
    assert iv.to_ticks(10, MAX_PASSWORD_AGE) == -8640000000000
    assert iv.to_ticks(30, LOCKOUT_DURATION) == -18000000000
    assert iv.from_ticks(-36288000000000, MAX_PASSWORD_AGE) == 42  # Samba's default


@pytest.mark.parametrize("kind", [MAX_PASSWORD_AGE, LOCKOUT_DURATION, LOCKOUT_WINDOW])
def test_never_is_the_most_negative_64_bit_value_both_ways(kind: iv.IntervalKind) -> None:
    assert iv.to_ticks("never", kind) == -9223372036854775808 == NEVER_TICKS
    assert iv.from_ticks(NEVER_TICKS, kind) == "never"


def test_minimum_password_age_cannot_be_never() -> None:
    with pytest.raises(ValueError, match="cannot be 'never'"):
        iv.to_ticks("never", MIN_PASSWORD_AGE)


def test_zero_means_never_for_maximum_age_and_lockout_duration_only() -> None:
    assert iv.from_ticks(0, MAX_PASSWORD_AGE) == "never"  # MS-SAMR PasswordMustChange
    assert iv.from_ticks(0, LOCKOUT_DURATION) == "never"  # MS-ADTS 3.1.1.4.5.25
    assert iv.from_ticks(0, MIN_PASSWORD_AGE) == 0
    assert iv.from_ticks(0, LOCKOUT_WINDOW) == 0
    assert iv.to_ticks(0, MIN_PASSWORD_AGE) == 0


def test_a_value_that_is_not_whole_units_reads_exactly_and_differs_from_any_integer() -> None:
    ninety_minutes = -90 * iv.TICKS_PER_MINUTE
    amount = iv.from_ticks(ninety_minutes, MAX_PASSWORD_AGE)
    assert amount == Fraction(1, 16)
    assert amount not in (0, 1)
    assert iv.to_ticks(amount, MAX_PASSWORD_AGE) == ninety_minutes
    assert iv.describe(amount, MAX_PASSWORD_AGE) == "1/16 days"


@pytest.mark.parametrize("ticks", [1, 18000000000])
def test_a_positive_value_is_not_an_interval(ticks: int) -> None:
    with pytest.raises(ValueError, match="not a relative interval"):
        iv.from_ticks(ticks, LOCKOUT_WINDOW)


@pytest.mark.parametrize("bad", [-1, "soon", True])
def test_negative_or_non_numeric_amounts_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        iv.to_ticks(bad, MAX_PASSWORD_AGE)  # type: ignore[arg-type]


def test_an_interval_too_long_for_64_bits_is_refused() -> None:
    with pytest.raises(ValueError, match="too long"):
        iv.to_ticks(10675200, MAX_PASSWORD_AGE)
    assert iv.to_ticks(10675199, MAX_PASSWORD_AGE) > NEVER_TICKS


@pytest.mark.parametrize(
    ("amount", "kind", "words"),
    [
        (180, MAX_PASSWORD_AGE, "180 days"),
        (1, MIN_PASSWORD_AGE, "1 day"),
        (1, LOCKOUT_WINDOW, "1 minute"),
        (0, LOCKOUT_WINDOW, "0 minutes"),
        ("never", LOCKOUT_DURATION, "never"),
    ],
)
def test_intervals_are_described_in_words(
    amount: iv.Amount, kind: iv.IntervalKind, words: str
) -> None:
    assert iv.describe(amount, kind) == words


ORACLE = """
import json, sys
from samba.netcmd.pso import days_to_timestamp, mins_to_timestamp
from samba.netcmd.common import NEVER_TIMESTAMP, timestamp_to_days, timestamp_to_mins
days, mins = json.load(sys.stdin)
print(json.dumps({
    "never": NEVER_TIMESTAMP,
    "days": [int(days_to_timestamp(d)) for d in days],
    "mins": [int(mins_to_timestamp(m)) for m in mins],
    "back_days": [timestamp_to_days(days_to_timestamp(d)) for d in days],
    "back_mins": [timestamp_to_mins(mins_to_timestamp(m)) for m in mins],
}))
"""


def test_ticks_agree_with_samba_tool_conversions() -> None:
    days, mins = [1, 42, 90, 180, 183, 998], [1, 15, 30, 60, 1440, 99999]
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", ORACLE],
        input=json.dumps([days, mins]),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"Samba's Python bindings are needed as the oracle: {done.stderr}"
    samba = json.loads(done.stdout)
    assert samba["never"] == NEVER_TICKS
    assert samba["days"] == [iv.to_ticks(d, MAX_PASSWORD_AGE) for d in days]
    assert samba["mins"] == [iv.to_ticks(m, LOCKOUT_DURATION) for m in mins]
    assert samba["back_days"] == [iv.from_ticks(t, MAX_PASSWORD_AGE) for t in samba["days"]]
    assert samba["back_mins"] == [iv.from_ticks(t, LOCKOUT_WINDOW) for t in samba["mins"]]


@pytest.mark.parametrize("kind", [MAX_PASSWORD_AGE, LOCKOUT_DURATION])
def test_zero_is_refused_where_ad_would_read_it_back_as_never(kind: iv.IntervalKind) -> None:
    with pytest.raises(ValueError, match="say 'never'"):
        iv.to_ticks(0, kind)
