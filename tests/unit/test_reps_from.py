"""repsFrom (MS-DRSR REPS_FROM) decoding, checked against a value a Samba 4.17 DC wrote."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from adsuite.formats import reps_from

# DC2's repsFrom on DC=group,DC=example,DC=com in the two-DC lab, read over LDAPS.
SAMBA_VALUE = bytes.fromhex(
    "01000000000000001201000000000000b23e262103000000b23e262103000000"
    "00000000d00000004200000074000000" + "11" * 84 + "00000000"
    "3b1000000000000000000000000000003b10000000000000"
    "daec54da0c053240b9534dad186067b82384bb4f147af44093f0140b60cf53b5"
    "00000000000000000000000000000000"
    "3e00000064613534656364612d303530632d343033322d623935332d3464616431"
    "383630363762382e5f6d736463732e67726f75702e6578616d706c652e636f6d00"
)


def test_a_samba_value_decodes_to_its_partner_and_times() -> None:
    found = reps_from.parse(SAMBA_VALUE)
    assert found.version == 1
    assert found.partner_dsa_guid == "da54ecda-050c-4032-b953-4dad186067b8"
    assert found.partner_address == "da54ecda-050c-4032-b953-4dad186067b8._msdcs.group.example.com"
    assert found.partner_invocation_id == "4fbb8423-7a14-40f4-93f0-140b60cf53b5"
    assert found.last_success == datetime(2026, 12, 6, 18, 47, 14, tzinfo=UTC)
    assert found.last_attempt == found.last_success
    assert (found.last_result, found.consecutive_failures, found.replica_flags) == (0, 0, 0x74)


def test_a_failed_attempt_keeps_the_last_success_apart() -> None:
    failed = replace(
        reps_from.parse(SAMBA_VALUE),
        last_attempt=datetime(2026, 12, 6, 19, 0, 0, tzinfo=UTC),
        last_result=1722,  # RPC_S_SERVER_UNAVAILABLE
        consecutive_failures=3,
    )
    again = reps_from.parse(reps_from.build(failed))
    assert again == failed
    assert again.last_success == datetime(2026, 12, 6, 18, 47, 14, tzinfo=UTC)


def test_encoding_reproduces_the_samba_value_outside_schedule_and_usns() -> None:
    built = reps_from.build(reps_from.parse(SAMBA_VALUE))
    assert len(built) == len(SAMBA_VALUE)
    assert built[:48] == SAMBA_VALUE[:48]
    assert built[160:] == SAMBA_VALUE[160:]


def test_never_succeeded_reads_as_none() -> None:
    never = replace(reps_from.parse(SAMBA_VALUE), last_success=None)
    assert reps_from.parse(reps_from.build(never)).last_success is None


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        (SAMBA_VALUE[:100], "shorter than"),
        (b"\x03" + SAMBA_VALUE[1:], "version 3"),
        (SAMBA_VALUE[:-1], "outside the value"),
        (SAMBA_VALUE[:-1] + b"x", "NUL-terminated"),
    ],
)
def test_a_value_that_is_not_reps_from_is_refused(value: bytes, complaint: str) -> None:
    with pytest.raises(reps_from.RepsFromError, match=complaint):
        reps_from.parse(value)
