"""Recall a drift check's outcome when nothing it read has changed since.

A drift's findings are a function of the desired state and the facts. The last check's
outcome is recalled instead of planned again only when all of this holds:

- the *key* is the same: adsuite's code, the playbook and every file its load read
  (each by SHA-256), the inventory and the domain;
- every request that check made was an LDAP search answered through the snapshot
  (drift_rules.eligible: no volatile, constructed or DN-filtered attribute), and
  every kind it planned is ``recallable`` (resources/base.py: its plan reads the desired
  state and the facts, no clock and no other source);
- this check uses that snapshot (vouched for by the journal, same DC and invocationId,
  not older than ``--max-age``), and each of those searches, answered now the way the
  incremental read answers it (drift_incremental.SnapshotReader: the snapshot merged
  with every object changed since its USN mark that the search matches, and every
  stored entry naming a changed object read again), returns exactly the entries the
  snapshot holds: same objects, same order, same DNs and values.

Then the facts are the ones the last check planned from, the plan would be the same,
and so would the findings. Changes elsewhere in the domain (objects no search matches)
do not stop a recall; a change to anything a search returns does.

The memo travels inside the snapshot file, so the journal vouches for it with the
file's SHA-256, and every value is type-checked when it is read back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from adsuite.engine import drift
from adsuite.engine.drift_incremental import SnapshotReader
from adsuite.engine.drift_snapshot import Stored, query_doc, query_from
from adsuite.engine.facts import Facts
from adsuite.engine.planner import Plan
from adsuite.engine.playbook import Playbook
from adsuite.engine.playbook_cache import code_digest, file_sha256
from adsuite.formats.ldap_query import Query
from adsuite.resources import registry
from adsuite.resources.base import Desired as DesiredItem

FORMAT = 1
PLAIN = (str, int, float, bool, type(None))


def key(playbook: Playbook, inventory: Any, domain_key: str) -> str | None:
    """What the outcome depends on besides the facts, as one digest; None if a file the
    playbook's load read can no longer be read."""
    files = []
    for path in (playbook.path, *playbook.files):
        digest = file_sha256(path)
        if digest is None:
            return None
        files.append((str(path), digest))
    shown = json.dumps(inventory.model_dump(mode="json"), sort_keys=True)
    head = [FORMAT, code_digest(), str(playbook.path.resolve()), files, shown, domain_key]
    return hashlib.sha256(json.dumps(head).encode()).hexdigest()


Read = Callable[[Sequence[Hashable]], Facts]
Desired = Mapping[str, Sequence[DesiredItem]]  # kind -> its tasks


def outcome(
    reader: SnapshotReader,
    memo_key: str | None,
    desired: Callable[[], Desired],
    plan_with: Callable[[Desired, Read], Plan],
    read: Read,
) -> drift.Outcome:
    """The last check's outcome if it can be recalled; else plan *desired*, reading with
    *read*, and keep the snapshot with this outcome (when the next check could recall
    it: every kind planned is ``recallable``)."""
    recalled = recall(reader, memo_key)
    if recalled is not None:
        reader.recalled = True
        if reader.changed and reader.old:  # changes no search matches: the mark moves on
            reader.save(reader.old.memo)
        return recalled
    asked: list[Hashable] = []

    def recording(requests: Sequence[Hashable]) -> Facts:
        asked.extend(requests)
        return read(requests)

    wanted = desired()
    found = drift.outcome(plan_with(wanted, recording))
    recallable = all(registry.KINDS[kind].recallable for kind, items in wanted.items() if items)
    reader.save(memo(memo_key, asked, reader, recallable, found))
    return found


def memo(
    memo_key: str | None,
    asked: Sequence[Hashable],
    reader: SnapshotReader,
    kinds_recallable: bool,
    outcome: drift.Outcome,
) -> dict[str, Any] | None:
    """What to keep with the snapshot for the next check, or None if it could not
    recall this outcome (a request not answered through the snapshot, a kind that reads
    a clock or another source)."""
    if memo_key is None or not kinds_recallable:
        return None
    queries = [q for q in dict.fromkeys(asked) if isinstance(q, Query) and q in reader.results]
    if len(queries) != len(dict.fromkeys(asked)):  # a request not answered through it
        return None
    return {
        "format": FORMAT,
        "key": memo_key,
        "requests": [query_doc(q) for q in queries],
        "outcome": to_data(outcome),
    }


def recall(reader: SnapshotReader, memo_key: str | None) -> drift.Outcome | None:
    """The last check's outcome, if nothing it depends on changed (module docstring):
    each of its searches, answered now through *reader* (the snapshot merged with what
    changed since its mark), returns exactly what the snapshot holds."""
    old = reader.old
    if memo_key is None or old is None or old.memo is None:
        return None
    kept = old.memo
    if kept.get("format") != FORMAT or kept.get("key") != memo_key:
        return None
    queries = _queries(kept.get("requests"))
    if queries is None or not all(q in old.queries for q in queries):
        return None
    for query in queries if reader.changed else ():  # nothing changed: each returns it all
        if not _same(reader.answer(query), old.queries[query]):  # kept for a plan if not
            return None
    return from_data(kept.get("outcome"))


def _queries(docs: Any) -> list[Query] | None:
    if not isinstance(docs, list):
        return None
    try:
        return [query_from(doc) for doc in docs]
    except (KeyError, TypeError, ValueError):
        return None


def _same(now: Sequence[Stored] | None, then: Sequence[Stored]) -> bool:
    """The same entries, in the same order, with the same DNs and values."""
    if now is None or len(now) != len(then):
        return False
    return all(a is b or _content(a) == _content(b) for a, b in zip(now, then, strict=True))


def _content(stored: Stored) -> tuple[bytes, str, Any]:
    return stored.guid, stored.entry.dn, stored.entry.attributes


def to_data(outcome: drift.Outcome) -> dict[str, Any]:
    return {
        "domain": outcome.domain,
        "base_dn": outcome.base_dn,
        "counts": dict(outcome.counts),
        "objects_read": outcome.objects_read,
        "queries": outcome.queries,
        "changes": list(outcome.changes),
        "notices": list(outcome.notices),
        "findings": [f.to_dict() for f in outcome.findings],
        "actions": list(outcome.actions),
    }


def from_data(data: Any) -> drift.Outcome | None:
    """An outcome from :func:`to_data`'s form, None unless every value has its type."""
    try:
        if not isinstance(data, dict) or not _plain(data):
            return None
        findings = tuple(drift.Finding(**f) for f in data["findings"])
        if not all(all(isinstance(v, str | None) for v in vars(f).values()) for f in findings):
            return None
        out = drift.Outcome(
            domain=data["domain"],
            base_dn=data["base_dn"],
            counts=dict(data["counts"]),
            objects_read=data["objects_read"],
            queries=data["queries"],
            changes=tuple(data["changes"]),
            notices=tuple(data["notices"]),
            findings=findings,
            actions=tuple(data["actions"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    return out if _typed(out) else None


def _typed(out: drift.Outcome) -> bool:
    ints = (out.objects_read, out.queries, *out.counts.values())
    return (
        isinstance(out.domain, str)
        and isinstance(out.base_dn, str)
        and all(isinstance(n, int) and not isinstance(n, bool) for n in ints)
        and all(isinstance(c, dict) for c in out.changes)
        and all(isinstance(n, dict) for n in out.notices)
        and all(a in (None, "create", "update", "delete") for a in out.actions)
        and len(out.actions) == len(out.findings)
    )


def _plain(value: Any, depth: int = 0) -> bool:
    """Only what JSON can hold (str keys), at most 32 levels deep."""
    if depth > 32:
        return False
    if isinstance(value, PLAIN):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v, depth + 1) for k, v in value.items())
    return False
