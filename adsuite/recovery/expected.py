"""What a restored DC must hold, from the journal: every object adsuite manages, with the
attributes its last write set. Pure functions over journal records and read entries.

The applied changes of every run are folded in journal order, per object: a creation
starts an object's expected attributes, an update adds to them, a deletion forgets it.
Only kinds whose fields map to LDAP attributes through a table (``TABLE`` in the kind's
module: ou, group, user, computer, site, site_link, subnet) are checked; fields outside the table
(a password shown as "(set from credential …)", ``protected``) are not attributes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry
from adsuite.journal.records import ChangeRecord
from adsuite.resources import attributes as attrs
from adsuite.resources import registry

log = logging.getLogger(__name__)


@dataclass
class Expected:
    """One managed object: its DN as last written, its kind, the fields last written."""

    dn: str
    kind: str
    fields: dict[str, Any] = field(default_factory=dict)


def table_of(kind: str) -> Sequence[attrs.Attr]:
    found = registry.KINDS.get(kind)
    return found.table if found is not None else ()


def managed_objects(changes: Iterable[ChangeRecord]) -> list[Expected]:
    """The objects the journal says exist now, oldest write first."""
    found: dict[str, Expected] = {}
    for change in sorted(changes, key=lambda c: c.intent_seq):
        table = {a.field for a in table_of(change.resource)}
        if change.outcome != "applied" or not table or not dnlib.looks_like_dn(change.target):
            continue
        key = dnlib.key(change.target)
        if change.action == "delete":
            found.pop(key, None)
            continue
        after = change.after if isinstance(change.after, Mapping) else {}
        written = {k: v for k, v in after.items() if k in table and v is not None}
        if change.action == "create" or key not in found:
            found[key] = Expected(dnlib.normalize(change.target), change.resource, written)
        else:
            found[key].fields.update(written)
    return list(found.values())


def ldap_attributes(objects: Iterable[Expected]) -> tuple[str, ...]:
    """Every LDAP attribute the check must read."""
    names = {a.ldap for o in objects for a in table_of(o.kind) if a.field in o.fields}
    return tuple(sorted(names))


def _text_key(value: Any) -> str:
    """A list element as compared: DNs (a site link's siteList) case-insensitively."""
    text = str(value)
    return dnlib.key(text) if dnlib.looks_like_dn(text) else text


def _same(want: Any, have: Any) -> bool:
    if isinstance(want, list) or isinstance(have, list):
        return sorted(map(_text_key, want or [])) == sorted(map(_text_key, have or []))
    if isinstance(want, str) and isinstance(have, str) and dnlib.looks_like_dn(want):
        return dnlib.key(want) == dnlib.key(have)
    if want == "" and have is None:
        return True
    return str(want) == str(have)


def problems(objects: Sequence[Expected], entries: Iterable[Entry]) -> list[str]:
    """One line per object missing from *entries* or holding other values than written."""
    read = {dnlib.key(e.dn): e for e in entries}
    lines = []
    for obj in objects:
        entry = read.get(dnlib.key(obj.dn))
        if entry is None:
            lines.append(f"{obj.kind} {obj.dn}: missing")
            continue
        table = {a.field: a for a in table_of(obj.kind)}
        for name, want in sorted(obj.fields.items()):
            have = attrs.read(entry, table[name])
            if not _same(want, have):
                lines.append(f"{obj.kind} {obj.dn}: {name} is {have!r}, journal wrote {want!r}")
    return lines
