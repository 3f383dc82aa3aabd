"""The ``repsFrom`` attribute of a naming-context head: one inbound replication partner.

Each value is a REPS_FROM blob ([MS-DRSR] 5.167 REPS_FROM; Samba's drsblobs.idl
``repsFromToBlob``), little-endian::

    offset  size  field (from the blob start)
         0     4  dwVersion                1 (2 adds PAS data after the GUIDs)
         4     4  dwReserved0
         8     4  cb                       size of the whole value
        12     4  cConsecutiveFailures
        16     8  timeLastSuccess          DSTIME: seconds since 1601-01-01 UTC, 0 = never
        24     8  timeLastAttempt          DSTIME
        32     4  ulResultLastAttempt      Win32 error code, 0 = success
        36     4  cbOtherDraOffset         offset of MTX_ADDR from the value's start
        40     4  cbOtherDra               size of MTX_ADDR
        44     4  ulReplicaFlags
        48    84  rtSchedule
       132     4  (alignment)
       136    24  usnvec                   USN_VECTOR
       160    16  uuidDsaObj               the partner's nTDSDSA objectGUID
       176    16  uuidInvocId
       192    16  uuidTransportObj
       208        MTX_ADDR (version 1; Samba 4.17 writes cbOtherDraOffset = 208)

MTX_ADDR is a 32-bit length (with the terminating NUL) then the partner's network
address in ASCII, ``<DSA guid>._msdcs.<forest>``. Pure: bytes in, :class:`RepsFrom` out.
"""

from __future__ import annotations

import logging
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

log = logging.getLogger(__name__)

_EPOCH_1601 = datetime(1601, 1, 1, tzinfo=UTC)
_HEADER = struct.Struct("<IIIIQQIIII")  # version … ulReplicaFlags: 48 bytes
_GUIDS_AT = 160
_MIN_SIZE = _GUIDS_AT + 48


class RepsFromError(ValueError):
    """A repsFrom value that is not a REPS_FROM version 1 or 2 blob."""


@dataclass(frozen=True)
class RepsFrom:
    """One inbound replication partner of one naming context, as the DC records it."""

    version: int
    consecutive_failures: int
    last_success: datetime | None  # None: never succeeded
    last_attempt: datetime | None
    last_result: int  # Win32 error code of the last attempt, 0 = success
    replica_flags: int
    partner_dsa_guid: str  # the partner's nTDSDSA objectGUID
    partner_invocation_id: str
    partner_address: str  # <DSA guid>._msdcs.<forest>


def dstime(seconds: int) -> datetime | None:
    """DSTIME (seconds since 1601-01-01 UTC) → datetime; 0 → None."""
    return _EPOCH_1601 + timedelta(seconds=seconds) if seconds else None


def to_dstime(moment: datetime) -> int:
    return int((moment - _EPOCH_1601).total_seconds())


def parse(blob: bytes) -> RepsFrom:
    """Decode one repsFrom value; raise :class:`RepsFromError` if it is not one."""
    if len(blob) < _MIN_SIZE:
        raise RepsFromError(f"repsFrom value of {len(blob)} bytes is shorter than {_MIN_SIZE}")
    (version, _, _, failures, success, attempt, result, dra_at, dra_size, flags) = (
        _HEADER.unpack_from(blob)
    )
    if version not in (1, 2):
        raise RepsFromError(f"repsFrom version {version} is not 1 or 2")
    guids = blob[_GUIDS_AT : _GUIDS_AT + 32]
    return RepsFrom(
        version=version,
        consecutive_failures=failures,
        last_success=dstime(success),
        last_attempt=dstime(attempt),
        last_result=result,
        replica_flags=flags,
        partner_dsa_guid=str(uuid.UUID(bytes_le=guids[:16])),
        partner_invocation_id=str(uuid.UUID(bytes_le=guids[16:])),
        partner_address=_mtx_addr(blob, dra_at, dra_size),
    )


def _mtx_addr(blob: bytes, start: int, size: int) -> str:
    if size < 4 or start + size > len(blob):
        raise RepsFromError("repsFrom partner address lies outside the value")
    (length,) = struct.unpack_from("<I", blob, start)
    text = blob[start + 4 : start + 4 + length]
    if length > size - 4 or not text.endswith(b"\0"):
        raise RepsFromError("repsFrom partner address is not a NUL-terminated string")
    return text[:-1].decode("ascii", errors="replace")


def build(entry: RepsFrom) -> bytes:
    """Encode :class:`RepsFrom` as version 1 (for round-trip tests and fixtures)."""
    address = entry.partner_address.encode("ascii") + b"\0"
    mtx = struct.pack("<I", len(address)) + address
    header = _HEADER.pack(
        1, 0, _MIN_SIZE + len(mtx), entry.consecutive_failures,
        to_dstime(entry.last_success) if entry.last_success else 0,
        to_dstime(entry.last_attempt) if entry.last_attempt else 0,
        entry.last_result, _MIN_SIZE, len(mtx), entry.replica_flags,
    )  # fmt: skip
    middle = bytes(_GUIDS_AT - len(header))  # schedule, alignment, USN vector: zero
    guids = (
        uuid.UUID(entry.partner_dsa_guid).bytes_le
        + uuid.UUID(entry.partner_invocation_id).bytes_le
        + bytes(16)
    )
    return header + middle + guids + mtx
