"""What every resource kind shares: desired items, planned changes, and the plan context.

A resource kind is a module with a pydantic ``Spec`` (the desired state a task
declares), ``queries`` (the bulk reads it needs) and ``plan`` (a pure function from
desired state and facts to :class:`Change` objects). Nothing here does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, ItemsView, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel

from adsuite.errors import InputError
from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry, Query
from adsuite.source import Location


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class SecretRef:
    """A value the engine resolves from a credential just before the write."""

    credential: str | None = None
    generate: bool = False


_NONE: Mapping[str, Any] = MappingProxyType({})  # one read-only empty mapping, not one dict each


class Recipe(Mapping[str, Any]):
    """A write's attributes, built from a pure function and its inputs each time they are
    read, never kept.

    A create's LDAP add is a dict and a list per value, about 1 KB; a plan of 200,000
    creates would hold them all from planning to the end of apply. A recipe holds the
    function and inputs the plan holds anyway (the spec, the realm, resolved DNs), so
    every reading gives an equal dict: the add that is sent is the add that was planned.
    Read it whole (``built()``, ``items()``): each ``[key]`` builds it again.
    """

    __slots__ = ("_args", "_build")

    def __init__(self, build: Callable[..., dict[str, Any]], *args: Any) -> None:
        self._build = build
        self._args = args

    def built(self) -> dict[str, Any]:
        """The attributes, as a new dict."""
        return self._build(*self._args)

    def __getitem__(self, key: str) -> Any:
        return self.built()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.built())

    def __len__(self) -> int:
        return len(self.built())

    def __contains__(self, key: object) -> bool:
        return key in self.built()

    def get(self, key: str, default: Any = None) -> Any:
        return self.built().get(key, default)

    def items(self) -> ItemsView[str, Any]:
        return self.built().items()

    def __repr__(self) -> str:
        return f"Recipe({self.built()!r})"


@dataclass(frozen=True, slots=True)
class LdapWrite:
    """One directory write. ``changes`` maps attribute → (op, values) for modify."""

    op: str  # add | modify | delete | move
    dn: str
    attributes: Mapping[str, Any] = field(default_factory=lambda: _NONE)
    changes: Mapping[str, tuple[str, Sequence[Any]]] = field(default_factory=lambda: _NONE)
    sd_flags: int | None = None
    new_parent: str | None = None
    sd_edit: Callable[[bytes], bytes] | None = None  # op "sd_edit": read, edit, write back


@dataclass(frozen=True, slots=True)
class Expect:
    """What the target must look like at apply time for the change to go ahead.

    ``exists`` False means the DN must not exist. ``raw`` holds the raw values of
    the attributes the change rewrites, exactly as the facts read them.
    """

    exists: bool | None  # None: created earlier in the same run, not checked
    raw: Mapping[str, tuple[bytes, ...]] = field(default_factory=lambda: _NONE)
    sd_flags: int | None = None
    has_dns: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: _NONE)
    lacks_dns: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: _NONE)


@dataclass(frozen=True, slots=True)
class Change:
    kind: str
    action: Action
    target: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    source: Location | None
    writes: tuple[Any, ...]  # LdapWrite, or another protocol's write (see engine/executor.py)
    expect: Any  # Expect, or another protocol's expectation
    phase: int = 0  # 1: needs objects that phase-0 changes create (e.g. a managedBy group)

    def summary(self) -> dict[str, Any]:
        """The change as shown and journaled: no writes, no raw values, no secrets."""
        return {
            "kind": self.kind,
            "action": str(self.action),
            "target": self.target,
            "before": dict(self.before) if self.before is not None else None,
            "after": dict(self.after) if self.after is not None else None,
            "source": str(self.source) if self.source else None,
        }


@dataclass(frozen=True)
class Notice:
    """A finding no write can fix (a password too old, a known deviation), in words.

    A kind that has them defines ``notices(desired, ctx)``; drift reports them beside
    the changes. ``severity`` ``drift`` counts as drift (exit 2); ``warning`` is shown
    and journaled but does not.
    """

    kind: str
    target: str
    text: str
    source: Location | None
    severity: str = "drift"  # drift | warning
    clause: str | None = None  # the clause a directory-wide check proves (``check``)


@dataclass(frozen=True, slots=True)
class Desired:
    """One task's validated spec and where it was declared."""

    spec: BaseModel
    location: Location
    task: str


@dataclass
class PlanContext:
    """What a plan may know: the domain, the facts read, and objects this run declares."""

    base_dn: str
    realm: str
    facts: Mapping[Hashable, Any]  # request (an LDAP Query, or another kind's) -> result
    names: dict[str, str] = field(default_factory=dict)  # lower sAMAccountName -> DN
    pending: set[str] = field(default_factory=set)  # DN keys this run declares but must create
    deleting: set[str] = field(default_factory=set)  # DN keys this run deletes (kinds record them)

    def exists(self, dn: str) -> bool:
        """False for an object that only this run's playbook declares (not created yet)."""
        return dnlib.key(dn) not in self.pending

    def deferred(self, values: Mapping[str, Any], dn_fields: Sequence[str]) -> dict[str, Any]:
        """The DN-valued fields that point at objects this run has yet to create."""
        return {f: values[f] for f in dn_fields if values.get(f) and not self.exists(values[f])}

    def entries(self, query: Query) -> Sequence[Entry]:
        found: Sequence[Entry] = self.facts.get(query, ())
        return found

    def fact(self, request: Hashable) -> Any:
        """The result for a non-LDAP request (None if it was not read)."""
        return self.facts.get(request)

    def resolve(self, reference: str, where: Desired) -> str:
        """A sAMAccountName or DN → DN, from the facts or from this run's declarations."""
        if dnlib.looks_like_dn(reference):
            return dnlib.normalize(reference)
        found = self.names.get(reference.lower())
        if found is None:
            raise InputError(
                f"no user, group or computer named {reference!r} in the domain or the playbook",
                file=where.location.file,
                line=where.location.line,
            )
        return found


Queries = Callable[[Sequence[Desired], PlanContext], Sequence[Hashable]]
Declares = Callable[[Sequence[Desired], PlanContext], dict[str, str]]
Plans = Callable[[Sequence[Desired], PlanContext], list[Change]]


@dataclass(frozen=True)
class Kind:
    """One resource kind, as the engine sees it: every hook it has, named, typed and
    listed once at the end of its module (``KIND = Kind(...)``); a hook it lacks is None.

    The four the pipeline always calls: ``queries`` (the bulk reads it needs),
    ``declares`` (names → DNs it will create), ``references`` (names it points at),
    ``plan`` (pure: desired + facts → changes). The rest are optional:

    - ``identity(spec) -> str``: two tasks with one identity are a load error;
    - ``notices(desired, ctx)``: findings no write can fix (drift only);
    - ``describe(change, drift=)`` and ``finding_aspects(change)``: its own words and
      finding ids for a change;
    - ``delta``: its images hold what each change did, so rollback undoes each alone;
    - ``undo``: why rollback never undoes it (by design), or None;
    - ``replay(target, before, after, undo=)`` or ``restore(target, image, base_dn)``:
      the desired state that undoes (or redoes) a journaled change, validated against
      ``rollback_spec`` (default ``spec``);
    - ``table``: the LDAP attributes of a plain directory object kind;
    - ``recallable``: its plan reads only the desired state and the facts (no clock, no
      other source), so a drift that finds nothing changed may recall its last outcome
      (engine/drift_memo.py).
    """

    name: str
    order: int
    spec: type[BaseModel]
    queries: Queries
    declares: Declares
    references: Callable[[Sequence[Desired]], set[str]]
    plan: Plans
    identity: Callable[[Any], str] | None = None
    notices: Callable[[Sequence[Desired], PlanContext], Sequence[Notice]] | None = None
    describe: Callable[..., Sequence[str]] | None = None
    finding_aspects: Callable[[Change], Sequence[str]] | None = None
    delta: bool = False
    undo: str | None = None
    replay: Callable[..., list[dict[str, Any]]] | None = None
    restore: Callable[..., dict[str, Any]] | None = None
    rollback_spec: type[BaseModel] | None = None
    table: tuple[Any, ...] = ()
    recallable: bool = False

    @property
    def undo_spec(self) -> type[BaseModel]:
        """The model a rollback's desired state is validated against."""
        return self.rollback_spec or self.spec


def attribute_diff(
    before: Mapping[str, Any], want: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The managed attributes that differ: (before, after) restricted to those keys.

    A desired value of None means "not managed" and is never a difference.
    """
    changed = [k for k, v in want.items() if v is not None and _norm(before.get(k)) != _norm(v)]
    return {k: before.get(k) for k in changed}, {k: want[k] for k in changed}


def _norm(value: Any) -> Any:
    if value is None or value == "" or value == []:
        return None  # empty: an absent attribute and a cleared one are the same
    if isinstance(value, str) and dnlib.looks_like_dn(value):
        return dnlib.normalize(value).lower()
    if isinstance(value, list):
        return sorted(_norm(v) for v in value)
    return value


def first_error(where: Desired, message: str) -> InputError:
    return InputError(message, file=where.location.file, line=where.location.line)


def deferred_update(
    kind: str, dn: str, later: Mapping[str, Any], ldap_names: Mapping[str, str], item: Desired
) -> Change:
    """A phase-1 change setting DN references once the objects they name exist."""
    changes = {ldap_names[f]: ("replace", [value]) for f, value in later.items()}
    expect = Expect(True, raw={ldap_names[f]: () for f in later})
    write = LdapWrite("modify", dn, changes=changes)
    before = dict.fromkeys(later)
    return Change(kind, Action.UPDATE, dn, before, dict(later), item.location, (write,), expect, 1)
