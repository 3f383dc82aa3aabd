"""Which planned changes depend on one that failed, from what the plan itself knows.

Apply goes on after a failed (or conflicting) change with every change that does not
depend on it. A later change *depends* on a failed one when

- it has the same target (the same object's later phase, e.g. a deferred managedBy);
- the failed change was creating an object and the later change's target is that
  object or lies below it (a user in an OU that was not created; a folder's ACL under
  a folder that was not created);
- the failed change was creating an object and the later change names it: a DN value
  equal to it or below it (a member, managedBy, manager), a value that contains its DN
  (a gPLink naming a GPO), or its sAMAccountName (a delegation trustee the run was
  creating, looked up by name at apply time);
- the failed change was a deletion and the later one deletes a container above its
  target (the container is not empty).

A skipped change counts as failed for the changes after it, so the rule is transitive;
the reason always names the change that failed first. A failed *update* of an object
that exists blocks only that object's later changes: others still find it there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from adsuite.formats import dn as dnlib
from adsuite.resources.base import Action, Change, LdapWrite

_MAX_DEPTH = 8  # writes are shallow records; a deeper walk would be a cycle or a bug


@dataclass(frozen=True)
class Failure:
    """The change that failed or conflicted, by its number within the run."""

    number: int
    change: Change
    outcome: str  # failed | conflict

    def reason(self) -> str:
        what = "failed" if self.outcome == "failed" else "conflicting"
        where = f"{self.change.kind} {self.change.target}"
        return f"depends on the {what} change {self.number} ({where})"


@dataclass(frozen=True)
class _Marks:
    """What of a failed change later changes can depend on."""

    target: str  # its target's comparison key
    action: Action
    created: frozenset[str]  # DN keys of the objects it was creating
    paths: frozenset[str]  # a created non-DN target (a folder), lower-case
    names: frozenset[str]  # sAMAccountNames of the objects it was creating, lower-case
    root: Failure


class Dependencies:
    """The failed changes so far; asks whether a later change depends on one of them."""

    def __init__(self) -> None:
        self._failed: list[_Marks] = []

    def fail(self, change: Change, root: Failure) -> None:
        """Record *change* as not done; *root* is the failure it stands for."""
        self._failed.append(_marks(change, root))

    def blocker(self, change: Change) -> Failure | None:
        """The failure *change* depends on, or None if it is independent of all of them."""
        if not self._failed:
            return None
        target = _key(change.target)
        texts: list[str] | None = None
        for marks in self._failed:
            if _on_target(change, target, marks):
                return marks.root
            if marks.created or marks.names:
                texts = _texts(change) if texts is None else texts
                if any(_names(text, marks) for text in texts):
                    return marks.root
        return None


def skipped(changes: tuple[Change, ...], failed: Mapping[int, str]) -> dict[int, int]:
    """Plan positions (1, 2…) that would be skipped → the failed position they depend on.

    *failed* maps the positions that fail or conflict to that outcome. The data form of
    the rule, for tests and for reasoning about a plan without a directory.
    """
    deps, out = Dependencies(), {}
    for number, change in enumerate(changes, start=1):
        blocker = deps.blocker(change)
        if blocker is not None:
            out[number] = blocker.number
            deps.fail(change, blocker)
        elif number in failed:
            deps.fail(change, Failure(number, change, failed[number]))
    return out


def _marks(change: Change, root: Failure) -> _Marks:
    adds = [w for w in change.writes if isinstance(w, LdapWrite) and w.op == "add"]
    created = {dnlib.key(w.dn) for w in adds}
    paths: set[str] = set()
    if change.action is Action.CREATE:
        if dnlib.looks_like_dn(change.target):
            created.add(dnlib.key(change.target))
        else:
            paths.add(change.target.lower().rstrip("\\"))
    names = {
        str(value).lower()
        for w in adds
        for value in _values(w.attributes.get("sAMAccountName"))
        if isinstance(value, str)
    }
    return _Marks(
        _key(change.target),
        change.action,
        frozenset(created),
        frozenset(paths),
        frozenset(names),
        root,
    )


def _on_target(change: Change, target: str, marks: _Marks) -> bool:
    if target == marks.target:
        return True
    if any(target.endswith("," + dn) for dn in marks.created):
        return True
    if any(target.startswith(path + "\\") for path in marks.paths):
        return True
    return (
        marks.action is Action.DELETE
        and change.action is Action.DELETE
        and marks.target.endswith("," + target)
    )


def _names(text: str, marks: _Marks) -> bool:
    lowered = text.lower()
    if lowered in marks.names:
        return True
    if dnlib.looks_like_dn(text):
        key = dnlib.key(text)
        return any(key == dn or key.endswith("," + dn) for dn in marks.created)
    return any(_contains(lowered, dn) for dn in marks.created)


def _contains(text: str, dn: str) -> bool:
    """*dn* inside *text* as a whole DN or its tail (``LDAP://cn={…},cn=policies,…``)."""
    start = text.find(dn)
    while start >= 0:
        if start == 0 or not text[start - 1].isalnum():
            return True
        start = text.find(dn, start + 1)
    return False


def _key(target: str) -> str:
    return dnlib.key(target) if dnlib.looks_like_dn(target) else target.lower().rstrip("\\")


def _texts(change: Change) -> list[str]:
    """Every text a change's result and writes carry (values, not attribute names)."""
    return [*_walk(change.after, 0), *_walk(change.writes, 0)]


def _walk(value: object, depth: int) -> Iterator[str]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes):
        yield value.decode("utf-8", errors="replace")
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _walk(item, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _walk(item, depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _walk(getattr(value, field.name), depth + 1)


def _values(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
