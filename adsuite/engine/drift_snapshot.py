"""The drift snapshot: what the last drift read from one DC, and when a full read is due.

A snapshot holds, per eligible :class:`Query`, the entries the search returned (keyed by
objectGUID, with the GUIDs their DN-valued attributes name), the DC's
highestCommittedUSN read *before* that read (the *mark*), the DC's identity
(dsServiceName, invocationId), the attribute schema the eligibility rules use, and the
containers above the stored entries (DN and a digest of their security descriptor).
Nothing secret is stored: eligible queries read no confidential, constructed or
password attribute (drift_rules.eligible).

Stored as :mod:`marshal` data (docs/drift.md: it loads several times faster than JSON;
it builds values, never runs code; never pickle), 0600 in a 0700 folder under the
cache dir, keyed by the DC's URL, the bind identity, the domain and adsuite's code.
The file mode keeps other users out; it does not make the file trustworthy: whoever
can write it could make a drift see the declared state instead of the DC's. What does
is the journal: the drift run that writes a snapshot journals its SHA-256
(:func:`save` returns it), and :func:`load` unmarshals only bytes whose digest is the
one the journal holds for that file (:func:`distrust` says why not), checked before
anything is unmarshalled. A missing, foreign or malformed file is no snapshot, never an
error; every loaded value's type is checked.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import marshal
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adsuite.engine.playbook_cache import cache_dir, code_digest, read_private_bytes, write_private
from adsuite.formats.ldap_query import Entry, Query

log = logging.getLogger(__name__)

FORMAT = 2
MAGIC = b"adsuite-drift-snapshot\n"
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


@dataclass(frozen=True)
class Journaled:
    """What the journal says of a snapshot file: the latest drift run that wrote it."""

    run_id: str
    sha256: str
    dc: str  # the DC's URL
    usn_mark: int


@dataclass
class Snapshot:
    dc: Dc  # dc.usn is the mark: every change after it has a higher uSNChanged
    full_at: float  # when the last full read began (seconds since the epoch)
    schema: dict[str, Attr]
    queries: Mapping[Query, list[Stored]] = field(default_factory=dict)
    ancestors: dict[bytes, tuple[str, str]] = field(default_factory=dict)  # guid: (dn key, sd)
    memo: dict[str, Any] | None = None  # the outcome of the check that wrote it (drift_memo)


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
    return cache_dir() / "drift" / f"{hashlib.sha256(head.encode()).hexdigest()}.snapshot"


def sd_digest(values: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for value in values:
        digest.update(value)
    return digest.hexdigest()


def query_doc(query: Query) -> dict[str, Any]:
    return dataclasses.asdict(query)


def query_from(doc: dict[str, Any]) -> Query:
    return Query(**{**doc, "attributes": tuple(doc["attributes"])})


def journaled(run_id: str, doc: dict[str, Any]) -> Journaled | None:
    """The journal's record of a snapshot (``extra.reading.snapshot``), None if malformed."""
    sha256, dc, mark = doc.get("sha256"), doc.get("dc"), doc.get("usn_mark")
    if not isinstance(sha256, str) or not isinstance(dc, str) or not isinstance(mark, int):
        return None
    return Journaled(run_id, sha256, dc, mark)


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def read(path: Path) -> bytes | None:
    """The snapshot file's bytes, or None (missing, not this user's own, not private)."""
    return read_private_bytes(path)


MISMATCH = "the snapshot does not match the journal"


def distrust(raw: bytes, journaled: Journaled | None, url: str) -> str | None:
    """Why the snapshot *raw* (read from the file of the DC at *url*) is not the one the
    journal's latest drift run wrote there, or None if it is."""
    if journaled is None:
        return f"{MISMATCH}: no drift run in this journal wrote it"
    if journaled.dc != url:
        return f"{MISMATCH}: run {journaled.run_id} wrote it for {journaled.dc}"
    found = digest(raw)
    if not hmac.compare_digest(found, journaled.sha256):
        return (
            f"{MISMATCH}: run {journaled.run_id} wrote SHA-256 {journaled.sha256[:12]}…, "
            f"the file has {found[:12]}…"
        )
    return None


def save(path: Path, snapshot: Snapshot) -> str | None:
    """Write *snapshot*; the SHA-256 of what was written (for the journal), or None if
    it could not be written."""
    doc = {
        "format": FORMAT,
        "dc": dataclasses.asdict(snapshot.dc),
        "full_at": snapshot.full_at,
        "schema": {name: dataclasses.astuple(attr) for name, attr in snapshot.schema.items()},
        "queries": [
            (query_doc(q), [(s.guid, s.entry.dn, dict(s.entry.attributes), tuple(s.refs))
                             for s in items])
            for q, items in snapshot.queries.items()
        ],
        "ancestors": snapshot.ancestors,
        "memo": snapshot.memo,
    }  # fmt: skip
    try:
        raw = MAGIC + marshal.dumps(doc)
    except ValueError:  # a value marshal cannot hold (in a memo): keep the snapshot alone
        raw = MAGIC + marshal.dumps({**doc, "memo": None})
    return digest(raw) if write_private(path, raw) else None


def load(raw: bytes, journaled_sha256: str) -> Snapshot | None:
    """The snapshot in *raw*, only if its SHA-256 is *journaled_sha256* (checked before
    anything is unmarshalled): the one way a snapshot is loaded."""
    if not hmac.compare_digest(digest(raw), journaled_sha256) or not raw.startswith(MAGIC):
        return None
    try:
        doc = marshal.loads(raw[len(MAGIC) :])
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            return None
        return Snapshot(
            dc=Dc(**doc["dc"]),
            full_at=float(doc["full_at"]),
            schema={str(name): Attr(*values) for name, values in doc["schema"].items()},
            queries=Lazy({query_from(q): _checked(items) for q, items in doc["queries"]}),
            ancestors=_ancestors(doc["ancestors"]),
            memo=doc["memo"] if isinstance(doc.get("memo"), dict) else None,
        )
    except (EOFError, KeyError, TypeError, ValueError) as error:
        log.debug("drift snapshot ignored: %s", type(error).__name__)
        return None


class Lazy(Mapping[Query, list[Stored]]):
    """A loaded snapshot's searches (their values already checked), each one's entries
    built when first asked for: a check that recalls its outcome (drift_memo) needs
    only the searches."""

    def __init__(self, raw: dict[Query, Any]) -> None:
        self._raw = raw
        self._built: dict[Query, list[Stored]] = {}

    def __getitem__(self, query: Query) -> list[Stored]:
        built = self._built.get(query)
        if built is None:
            built = [Stored(g, Entry(dn, a), frozenset(r)) for g, dn, a, r in self._raw[query]]
            self._built[query] = built
        return built

    def __iter__(self) -> Iterator[Query]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


def _checked(items: Any) -> Any:
    """*items*, every value checked to be what save wrote (bytes, str, tuples)."""
    for guid, dn, attributes, refs in items:
        if type(guid) is not bytes or type(dn) is not str or type(refs) is not tuple:
            raise TypeError("a stored entry is malformed")
        for name, values in attributes.items():
            if type(name) is not str or type(values) is not tuple:
                raise TypeError("a stored attribute is malformed")
            if not all(type(v) is bytes for v in values):
                raise TypeError("a stored value is not bytes")
        if not all(type(r) is bytes for r in refs):
            raise TypeError("a stored reference is not bytes")
    return items


def _ancestors(doc: dict[Any, Any]) -> dict[bytes, tuple[str, str]]:
    out = {}
    for guid, (key, sd) in doc.items():
        if type(guid) is not bytes or type(key) is not str or type(sd) is not str:
            raise TypeError("a stored container is malformed")
        out[guid] = (key, sd)
    return out
