"""Incremental drift: answer a drift run's searches from the last snapshot plus what
changed on the DC since its USN mark, with results identical to searching again.

Why the merge gives exactly what a new search would (docs/drift.md has the long form):

- An object whose uSNChanged is at most the mark has, on this DC, the stored attributes
  it had then — *except* what Samba and AD change without raising uSNChanged, measured on
  Samba 4.17: a DN when a container above it is renamed or moved, inherited ACEs when a
  container's ACL changes, DN-valued attributes (member, manager, …) when the object they
  name is renamed, moved or deleted, back links (memberOf), constructed and
  non-replicated attributes. So: queries that read or filter on the last three are not
  eligible (always searched); a change to a container above a stored entry (its DN or
  its security descriptor) forces a full read; an entry naming a changed object whose
  DN is not the one stored (renamed, moved, deleted, or not stored at all) is read
  again; a changed object of unknown origin that has children and lies in a read scope
  (a subtree moved in) forces a full read.
- Every object whose uSNChanged is above the mark is dropped from the stored results and
  found again, if it matches now, by the same search ANDed with its GUID (the changed
  objects now in the search's scope, 500 to a filter; more than 1,000: ANDed with
  ``(uSNChanged>=mark+1)`` instead); deleted objects are among the changed (Show
  Deleted) and simply not found again.
- The mark is read before anything else, so a change made during a read is read again
  next time, never missed.

A snapshot is used only if the journal vouches for it: the latest drift run that wrote
its file journaled the same SHA-256 (drift_snapshot.distrust); otherwise the read is full
and :attr:`SnapshotReader.warning` says why.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from adsuite.connectors.ldap import Directory
from adsuite.engine import drift_snapshot as snap
from adsuite.engine.drift_rules import (
    eligible,
    in_scope,
    live_dc,
    naming_context,
    read_schema,
    stored_from,
)
from adsuite.engine.drift_snapshot import Attr, Snapshot, Stored
from adsuite.errors import DirectoryError
from adsuite.formats import dn as dnlib
from adsuite.formats import extended_dn as ext
from adsuite.formats.ldap_query import Entry, Query, or_filter

log = logging.getLogger(__name__)

# the journal's word on a snapshot file (Journal.snapshot_writer): (run id, what it wrote)
Vouched = Callable[[str], tuple[str, dict[str, Any]] | None]

PER_FILTER = 500
BY_GUID = 1000  # more changed objects in a search's scope: narrow it by uSNChanged instead
MOVED_IN_CHECKS = 64  # more changed objects of unknown origin in a read scope: read fully
ANCESTOR_SD_FLAGS = 0x0C  # DACL and SACL: what children inherit


class SnapshotReader:
    """Answers a drift run's searches (``Directory.reader``); see the module docstring."""

    def __init__(self, directory: Directory, username: str, base_dn: str) -> None:
        self.directory = directory
        self.path = snap.path_for(directory.endpoint.url, username, base_dn)
        self.old: Snapshot | None = None  # the snapshot being merged with, if one is used
        self.changed: dict[bytes, str] = {}  # GUID -> DN now, of objects changed since the mark
        self.older: set[bytes] = set()  # the changed objects created before the mark
        self.renamed: set[bytes] = set()  # changed objects not at their stored DN (or unknown)
        self.classes: dict[bytes, frozenset[str]] = {}  # GUID -> objectClass now, of the changed
        self.reason: str | None = None  # why the read is full
        self.results: dict[Query, list[Stored]] = {}
        self.searched = 0  # searches sent to the DC for eligible queries
        self.merged = 0  # eligible queries answered from the snapshot and the changes
        self.fresh: list[Stored] = []  # entries this run read from the DC
        self.warning: str | None = None  # the snapshot found is not the one journaled
        self.vouched_by: str | None = None  # the run that journaled the snapshot used
        self.written: dict[str, Any] | None = None  # the snapshot this run wrote, to journal
        self.recalled = False  # nothing changed: the outcome came from the snapshot's memo

    def start(
        self, *, full: bool, max_age_hours: float, vouched: Vouched, now: float | None = None
    ) -> None:
        started = time.time() if now is None else now
        self.live, self.ncs, self.schema_nc = live_dc(self.directory)
        old = None if full else self._trusted(vouched)
        self.reason = self.warning or snap.decide(
            old, self.live, started, full=full, max_age_hours=max_age_hours
        )
        if self.reason is None and old is not None:
            self.reason = self._changes_since(old)
        if self.reason is None and old is not None:
            self.old, self.schema, self.full_at = old, old.schema, old.full_at
        else:
            self.schema = read_schema(self.directory, self.schema_nc)
            self.full_at = started
        log.info("drift read: %s", self.reason or f"incremental from USN {self.live.usn}")
        self.directory.reader = self.search
        self.directory.reader_many = self.search_many

    def _trusted(self, vouched: Vouched) -> Snapshot | None:
        """The snapshot file, if the journal vouches for it; sets :attr:`warning` if a
        file is there that it does not vouch for. Its digest is checked before it is
        unmarshalled."""
        raw = snap.read(self.path)
        if raw is None:
            return None
        said = vouched(self.path.name)
        record = snap.journaled(*said) if said is not None else None
        self.warning = snap.distrust(raw, record, self.live.url)
        if self.warning is not None or record is None:
            log.info("drift snapshot %s: %s", self.path.name, self.warning)  # the CLI warns
            return None
        self.vouched_by = record.run_id
        return snap.load(raw, record.sha256)

    def summary(self) -> dict[str, Any]:
        """What the journal keeps of how this drift read the directory."""
        out: dict[str, Any] = {"read": "incremental" if self.old else "full"}
        out["usn_mark"] = self.old.dc.usn if self.old else None
        out["usn_now"] = self.live.usn
        out["changed_objects"] = len(self.changed) if self.old else None
        out["queries_merged"] = self.merged
        out["searches"] = self.searched
        full_at = datetime.fromtimestamp(self.full_at, UTC)
        out["full_read_at"] = full_at.isoformat(timespec="seconds")
        if self.old:
            out["snapshot_from"] = self.vouched_by
        if self.recalled:  # the findings of the run that wrote the snapshot stand
            out["recalled_from"] = self.vouched_by
        if self.reason:
            out["full_because"] = self.reason
        if self.written is not None:
            out["snapshot"] = self.written
        return out

    def _changes_since(self, old: Snapshot) -> str | None:
        ncs = {naming_context(q.base, self.ncs) for q in old.queries} - {None}
        mark = f"(uSNChanged>={old.dc.usn + 1})"
        if list(self.directory.search_wire(Query(self.schema_nc, mark, (), "sub"))):
            return "the schema changed"
        for nc in sorted(n for n in ncs if n):
            wanted = ("uSNCreated", "objectClass")
            query = Query(nc, mark, wanted, "sub", show_deleted=True, extended_dn=True)
            for entry in self.directory.search_wire(query):
                dn, guid = ext.split_dn(entry.dn)
                if guid is None:
                    return f"a changed object without a GUID ({dn})"
                self.changed[guid] = dn
                self.classes[guid] = frozenset(c.lower() for c in entry.texts("objectClass"))
                if (entry.integer("uSNCreated") or 0) <= old.dc.usn:
                    self.older.add(guid)
        stored = _stored_dns(old) if self.changed else {}  # once, for both uses below
        self.renamed = {
            guid for guid, dn in self.changed.items()
            if guid not in stored or dnlib.key(stored[guid]) != dnlib.key(dn)
        }  # fmt: skip  # only these change DN values naming them without raising the namer's
        return self._containers_changed(old) or self._moved_in(old, stored)

    def _containers_changed(self, old: Snapshot) -> str | None:
        for guid, (key, sd) in old.ancestors.items():
            now = self.changed.get(guid)
            if now is None:
                continue
            if dnlib.key(now) != key:
                return f"{now} was renamed or moved (entries read below it moved with it)"
            entry = list(self.directory.search_wire(
                Query(now, "(objectClass=*)", ("nTSecurityDescriptor",), "base", ANCESTOR_SD_FLAGS)
            ))  # fmt: skip
            if not entry or snap.sd_digest(entry[0].raw("nTSecurityDescriptor")) != sd:
                return f"the security descriptor of {now} changed (its children inherit it)"
        return None

    def _moved_in(self, old: Snapshot, stored: dict[bytes, str]) -> str | None:
        """A changed object that was not stored and lies in a read scope may have been
        moved there with its subtree (whose objects keep their uSNChanged). One created
        after the mark cannot have brought older objects along (moving them in raises
        their own uSNChanged: they are changed objects themselves)."""
        if not self.changed:
            return None
        unknown = [
            dn for guid, dn in self.changed.items()
            if guid in self.older and "\\0ADEL:" not in dn.upper()
            and (guid not in stored or dnlib.key(stored[guid]) != dnlib.key(dn))
            and any(in_scope(dn, q) for q in old.queries)
        ]  # fmt: skip
        if len(unknown) > MOVED_IN_CHECKS:
            return f"{len(unknown)} changed objects in read scopes, too many to check one by one"
        for dn in unknown:
            children = Query(dn, "(objectClass=*)", (), "one", size_limit=1)
            if list(self.directory.search_wire(children)):
                return f"{dn} changed and has objects below it (a subtree may have moved in)"
        return None

    def search(self, query: Query) -> Iterator[Entry]:
        answer = self.answer(query)
        if answer is None:
            return self.directory.search_wire(query)
        return iter([s.entry for s in answer])

    def answer(self, query: Query) -> list[Stored] | None:
        """What :meth:`search` answers for *query*, as stored entries (merged with the
        changes, or read), kept for the run; None for a query that is always searched."""
        if not eligible(query, self.schema, self.ncs):
            return None
        if query not in self.results:
            stored = self.old.queries.get(query) if self.old else None
            self.results[query] = self._merged(query, stored) if stored is not None else (
                self._read(query)
            )  # fmt: skip
        return self.results[query]

    def search_many(self, queries: Sequence[Query]) -> dict[Query, list[Entry]]:
        """:meth:`search` of every query, with what goes to the DC read in one pipelined
        batch: the eligible queries not yet read and not merged (with the extended-DN
        control, as :meth:`_read`) and the ineligible ones."""
        unread = [
            q for q in dict.fromkeys(queries) if not eligible(q, self.schema, self.ncs)
            or (q not in self.results and (self.old is None or q not in self.old.queries))
        ]  # fmt: skip
        wire = {q: _wire(q, self.schema, self.ncs) for q in unread}
        found = self.directory.search_many_wire(list(dict.fromkeys(wire.values())))
        out: dict[Query, list[Entry]] = {}
        for query in dict.fromkeys(queries):
            if query in wire and wire[query] == query:  # not eligible: as searched
                out[query] = found[query]
            elif query in wire:
                self.results[query] = self._stored(query, found[wire[query]])
            if query not in out:  # read above, merged, or already answered
                out[query] = list(self.search(query))
        return out

    def _read(self, query: Query) -> list[Stored]:
        wire = dataclasses.replace(query, extended_dn=True)
        return self._stored(query, self.directory.search_wire(wire))

    def _stored(self, query: Query, entries: Iterable[Entry]) -> list[Stored]:
        """Entries read with the extended-DN control for *query*, as stored."""
        self.searched += 1
        out = []
        for entry in entries:
            stored = stored_from(entry, self.schema)
            if stored is None:
                raise DirectoryError(f"search {query.base}: an entry came back without its GUID")
            out.append(stored)
        self.fresh += out
        return out

    def _merged(self, query: Query, stored: list[Stored]) -> list[Stored]:
        assert self.old is not None
        self.merged += 1
        changed = set(self.changed)
        again = [
            s.guid for s in stored if s.guid not in changed and not s.refs.isdisjoint(self.renamed)
        ]
        fresh: list[Stored] = []
        classes = ext.required_classes(query.filter)
        inside = [
            guid for guid, dn in self.changed.items()
            if "\\0ADEL:" not in dn.upper() and in_scope(dn, query)
            and classes <= self.classes.get(guid, classes)
        ]  # fmt: skip  # (deleted objects, and those of other classes, cannot match now)
        if len(inside) > BY_GUID:
            narrowed = [f"(uSNChanged>={self.old.dc.usn + 1})"]
        else:
            narrowed = [ext.guid_filter(inside[at : at + PER_FILTER])
                        for at in range(0, len(inside), PER_FILTER)]  # fmt: skip
        for extra in narrowed:
            fresh += self._read(_narrowed(query, extra))
        for at in range(0, len(again), PER_FILTER):
            fresh += self._read(_narrowed(query, ext.guid_filter(again[at : at + PER_FILTER])))
        by_guid = {s.guid: s for s in fresh}
        stale = changed.union(again)
        merged = [by_guid.pop(s.guid) if s.guid in by_guid else s for s in stored
                  if s.guid in by_guid or s.guid not in stale]  # fmt: skip
        return merged + list(by_guid.values())

    def save(self, memo: dict[str, Any] | None = None) -> None:
        """Keep what this run read (its mark read before it) for the next drift, and
        *memo*: this run's outcome, if the next may recall it (engine/drift_memo.py)."""
        if self.old is None and not self.results:
            return
        if (
            self.old is not None
            and not self.changed
            and self.results.keys() == self.old.queries.keys()
            and memo == self.old.memo
        ):
            return  # the stored snapshot still holds: from its mark nothing has changed
        keep = Snapshot(self.live, self.full_at, self.schema, dict(self.results), memo=memo)
        keep.ancestors = self._ancestors(keep)
        sha256 = snap.save(self.path, keep)
        if sha256 is not None:  # journaled with the run: what the next drift checks
            self.written = {"file": self.path.name, "sha256": sha256,
                            "usn_mark": self.live.usn, "dc": self.live.url}  # fmt: skip

    def _ancestors(self, keep: Snapshot) -> dict[bytes, tuple[str, str]]:
        """The containers above every stored entry: GUID -> (DN key, digest of the
        security descriptor), the others read (500 DNs a search). Merging kept the
        snapshot's (start() checked that none was renamed or had its ACL changed, so
        entries kept from it have theirs there): only the entries read now add any."""
        entries = self.fresh if self.old else [s for v in keep.queries.values() for s in v]
        roots = {dnlib.key(nc) for nc in self.ncs}  # a naming context has nothing above it
        parents = {dnlib.parent(s.entry.dn) for s in entries if dnlib.key(s.entry.dn) not in roots}
        wanted: dict[str, str] = {}
        for parent in parents:  # the distinct parents (300 OUs), not the 12k entries below
            if naming_context(parent, self.ncs) is not None:
                for dn in [parent, *_above(parent, self.ncs)]:
                    wanted.setdefault(dnlib.key(dn), dn)
        known = dict(self.old.ancestors) if self.old else {}
        missing = [wanted[k] for k in wanted.keys() - {key for key, _ in known.values()}]
        return {**known, **self._read_containers(missing)}

    def _read_containers(self, dns: list[str]) -> dict[bytes, tuple[str, str]]:
        out = {}
        for nc in self.ncs:
            inside = [dn for dn in dns if naming_context(dn, self.ncs) == nc]
            for at in range(0, len(inside), PER_FILTER):
                search = or_filter("distinguishedName", inside[at : at + PER_FILTER])
                attributes = ("nTSecurityDescriptor",)
                query = Query(nc, search, attributes, "sub", ANCESTOR_SD_FLAGS, extended_dn=True)
                for entry in self.directory.search_wire(query):
                    dn, guid = ext.split_dn(entry.dn)
                    if guid is not None:
                        sd = snap.sd_digest(entry.raw("nTSecurityDescriptor"))
                        out[guid] = (dnlib.key(dn), sd)
        return out


def _stored_dns(old: Snapshot) -> dict[bytes, str]:
    """GUID -> DN (or DN key, for containers) of everything the snapshot holds."""
    stored = {s.guid: s.entry.dn for items in old.queries.values() for s in items}
    stored.update({guid: key for guid, (key, _) in old.ancestors.items()})
    return stored


def _above(dn: str, ncs: tuple[str, ...]) -> list[str]:
    """The DNs of the containers above *dn*, up to and including its naming context."""
    nc = naming_context(dn, ncs)
    out: list[str] = []
    while nc is not None and dnlib.key(dn) != dnlib.key(nc):
        dn = dnlib.parent(dn)
        out.append(dn)
    return out


def _wire(query: Query, schema: dict[str, Attr], ncs: tuple[str, ...]) -> Query:
    """What :meth:`SnapshotReader.search` sends for *query* when it reads it in full."""
    return dataclasses.replace(query, extended_dn=True) if eligible(query, schema, ncs) else query


def _narrowed(query: Query, extra: str) -> Query:
    own = query.filter if query.filter.startswith("(") else f"({query.filter})"
    return dataclasses.replace(query, filter=f"(&{own}{extra})")
