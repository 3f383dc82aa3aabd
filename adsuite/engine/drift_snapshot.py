"""The drift snapshot: what the last drift read from one DC, and when a full read is due.

A snapshot holds, per eligible :class:`Query`, the entries the search returned (keyed by
objectGUID, with the GUIDs their DN-valued attributes name), the DC's
highestCommittedUSN read *before* that read (the *mark*), the DC's identity
(dsServiceName, invocationId), the attribute schema the eligibility rules use, and the
containers above the stored entries (DN and a digest of their security descriptor).
Nothing secret is stored: eligible queries read no confidential, constructed or
password attribute (drift_incremental.eligible).

Stored like the playbook cache: JSON (values as latin-1 text, never pickle), 0600 in a
0700 folder under the cache dir, keyed by the DC's URL, the bind identity, the domain
and adsuite's code. A missing, foreign or malformed file is no snapshot, never an error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adsuite.engine.playbook_cache import _read_private, _write_private, cache_dir, code_digest
from adsuite.formats.ldap_query import Entry, Query

log = logging.getLogger(__name__)

FORMAT = 1
DEFAULT_MAX_AGE_HOURS = 24.0


@dataclass(frozen=True)
class Dc:
    """A DC as its rootDSE and NTDS Settings object describe it, and its USN now."""

    url: str
    service: str  # dsServiceName: the DN of the DC's NTDS Settings object
    invocation: str  # invocationId (hex): changes when the DC's database is restored
    usn: int  # highestCommittedUSN


@dataclass(frozen=True)
class Attr:
    """What the schema says of an attribute (attributeSchema)."""

    syntax: str
    link_id: int = 0
    system_flags: int = 0
    search_flags: int = 0


@dataclass(frozen=True)
class Stored:
    """One entry of a search as read, with its objectGUID and the GUIDs it names."""

    guid: bytes
    entry: Entry
    refs: frozenset[bytes] = frozenset()


@dataclass
class Snapshot:
    dc: Dc  # dc.usn is the mark: every change after it has a higher uSNChanged
    full_at: float  # when the last full read began (seconds since the epoch)
    schema: dict[str, Attr]
    queries: dict[Query, list[Stored]] = field(default_factory=dict)
    ancestors: dict[bytes, tuple[str, str]] = field(default_factory=dict)  # guid: (dn key, sd)


def decide(
    snapshot: Snapshot | None, live: Dc, now: float, *, full: bool, max_age_hours: float
) -> str | None:
    """Why this drift must read everything again, or None if the snapshot can be used."""
    if full:
        return "--full was given"
    if snapshot is None:
        return "no snapshot of this DC yet"
    was = snapshot.dc
    if was.url != live.url or was.service != live.service:
        return f"{live.url} is another DC than the snapshot's"
    if was.invocation != live.invocation:
        return "the DC's invocationId changed (restored from a backup)"
    if live.usn < was.usn:
        return "the DC's highestCommittedUSN went back"
    age_hours = (now - snapshot.full_at) / 3600
    if age_hours > max_age_hours or age_hours < 0:
        return f"the snapshot is {age_hours:.1f} h old (more than {max_age_hours:g} h)"
    return None


def path_for(url: str, username: str, base_dn: str) -> Path:
    head = json.dumps([FORMAT, code_digest(), url, username.lower(), base_dn.lower()])
    return cache_dir() / "drift" / f"{hashlib.sha256(head.encode()).hexdigest()}.json"


def sd_digest(values: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for value in values:
        digest.update(value)
    return digest.hexdigest()


def _text(value: bytes) -> str:
    return value.decode("latin-1")


def _bytes(text: str) -> bytes:
    return text.encode("latin-1")


def _query_doc(query: Query) -> dict[str, Any]:
    return dataclasses.asdict(query)


def _query(doc: dict[str, Any]) -> Query:
    return Query(**{**doc, "attributes": tuple(doc["attributes"])})


def _stored_doc(item: Stored) -> list[Any]:
    attributes = {name: [_text(v) for v in vs] for name, vs in item.entry.attributes.items()}
    return [item.guid.hex(), item.entry.dn, attributes, [r.hex() for r in sorted(item.refs)]]


def _stored(doc: list[Any]) -> Stored:
    guid, dn, attributes, refs = doc
    values = {name: tuple(_bytes(v) for v in texts) for name, texts in attributes.items()}
    return Stored(bytes.fromhex(guid), Entry(dn, values), frozenset(bytes.fromhex(r) for r in refs))


def save(path: Path, snapshot: Snapshot) -> None:
    items = snapshot.queries.items()
    doc = {
        "format": FORMAT,
        "dc": dataclasses.asdict(snapshot.dc),
        "full_at": snapshot.full_at,
        "schema": {name: dataclasses.astuple(attr) for name, attr in snapshot.schema.items()},
        "queries": [[_query_doc(q), [_stored_doc(s) for s in v]] for q, v in items],
        "ancestors": {g.hex(): list(pair) for g, pair in snapshot.ancestors.items()},
    }
    data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    _write_private(path, data)


def load(path: Path) -> Snapshot | None:
    doc = _read_private(path)
    if doc is None or doc.get("format") != FORMAT:
        return None
    try:
        return Snapshot(
            dc=Dc(**doc["dc"]),
            full_at=float(doc["full_at"]),
            schema={name: Attr(*values) for name, values in doc["schema"].items()},
            queries={_query(q): [_stored(s) for s in items] for q, items in doc["queries"]},
            ancestors={bytes.fromhex(g): (p[0], p[1]) for g, p in doc["ancestors"].items()},
        )
    except (KeyError, TypeError, ValueError) as error:
        log.debug("drift snapshot %s ignored: %s", path, type(error).__name__)
        return None
