"""``check_tree``: every folder below a managed folder inherits its permissions, and only
inherits them.

From the managed folder's DACL as the playbook will leave it, each folder's expected
DACL is what its parent passes down (:func:`adsuite.resources.file_acl.rights.inherited_aces`,
computed level by level from the expected parent, so a change at the top shows every
folder below that still carries the old inherited ACEs). A folder differs when its DACL
is protected, holds explicit ACEs, or its inherited ACEs are not the expected ones; only
those become changes. Applying one resets the folder: no explicit ACEs, not protected,
inherited ACEs computed from the live parent (parents are applied first).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.security_descriptor import Ace, Acl, Control
from adsuite.resources.base import Action, Change, Desired
from adsuite.resources.file_acl import places, rights
from adsuite.resources.file_acl import requests as io
from adsuite.resources.file_acl.rollback import image_or_none
from adsuite.resources.file_acl.spec import Spec
from adsuite.resources.file_acl.words import ace_words

log = logging.getLogger(__name__)

KIND = "file_acl"
RESET_CONTROL = (
    Control.SE_SELF_RELATIVE
    | Control.SE_DACL_PRESENT
    | Control.SE_DACL_AUTO_INHERITED
    | Control.SE_DACL_AUTO_INHERIT_REQ
)
Show = Callable[[str], str]


def plan_tree(
    item: Desired,
    tree: io.TreeState,
    root_dacl: Sequence[Ace],
    show: Show,
    managed: AbstractSet[str] = frozenset(),
) -> list[Change]:
    """A change for each folder below the managed one whose DACL breaks inheritance.

    Folders in *managed* (lower-case paths other tasks declare) and everything below
    them are theirs to check, not this tree's.
    """
    spec = item.spec
    assert isinstance(spec, Spec)
    expected: dict[str, tuple[Ace, ...]] = {spec.path: tuple(root_dacl)}
    below = sorted((p for p in tree.descriptors if p != spec.path), key=_depth)
    changes, verdicts = [], _Verdicts()
    for path in below:
        if _is_within(path.lower(), managed):
            continue
        parent = expected.get(io.parent_path(path))
        if parent is None:  # its parent could not be read: nothing to compare with
            continue
        raw = tree.descriptors[path]
        sd, expected[path], differing = verdicts.of(raw, parent)
        if differing:
            changes.append(_change(item, spec, path, raw, sd, expected[path], show))
    for path, why in sorted(tree.unreadable.items()):
        log.warning("cannot read %s: %s", places.name(spec, path), why)
    return changes


class _Verdicts:
    """Each distinct (descriptor, parent's expected ACEs) judged once: in a tree most
    folders share a handful of descriptors, and parsing 5,000 of them again and again
    was a third of the planning time."""

    def __init__(self) -> None:
        self._seen: dict[tuple[bytes, tuple[Ace, ...]], Verdict] = {}

    def of(self, raw: bytes, parent: tuple[Ace, ...]) -> Verdict:
        key = (raw, parent)
        if key not in self._seen:
            sd = sdlib.parse(raw)
            wanted = tuple(rights.inherited_aces(parent, sd.owner, sd.group))
            self._seen[key] = (sd, wanted, differs(sd, wanted))
        return self._seen[key]


Verdict = tuple[sdlib.SecurityDescriptor, tuple[Ace, ...], bool]


def _is_within(path: str, managed: AbstractSet[str]) -> bool:
    return any(path == top or path.startswith(top + "\\") for top in managed)


def differs(sd: sdlib.SecurityDescriptor, expected: Sequence[Ace]) -> bool:
    aces = sd.dacl.aces if sd.dacl else ()
    if sd.control & Control.SE_DACL_PROTECTED or any(not a.is_inherited for a in aces):
        return True
    return Counter(aces) != Counter(expected)


def _depth(path: str) -> tuple[int, str]:
    return (path.count("\\"), path.lower())


def _change(
    item: Desired,
    spec: Spec,
    path: str,
    raw: bytes,
    sd: sdlib.SecurityDescriptor,
    expected: Sequence[Ace],
    show: Show,
) -> Change:
    aces = sd.dacl.aces if sd.dacl else ()
    inherited = [ace_words(a, show) for a in aces if a.is_inherited]
    wanted = [ace_words(a, show) for a in expected]
    owner = spec.data_owner.record()
    before: dict[str, Any] = {"data_owner": owner, "below": places.name(spec)}
    after: dict[str, Any] = {"data_owner": owner}
    if sd.control & Control.SE_DACL_PROTECTED:
        before["inherit"], after["inherit"] = False, True
    explicit = [ace_words(a, show) for a in aces if not a.is_inherited]
    if explicit:
        before["access"], after["access"] = explicit, []
    if inherited != wanted and sorted(inherited) != sorted(wanted):
        before["inherited"], after["inherited"] = inherited, wanted
    reset = sdlib.SecurityDescriptor(1, RESET_CONTROL, sd.owner, sd.group, _acl(expected), None)
    before["sddl"], after["sddl"] = image_or_none(sd, io.DACL), image_or_none(reset, io.DACL)
    write = places.folder_write(spec, path, "", io.DACL, reset_to_inherit, needs_parent=True)
    fingerprint = io.fingerprint(raw, io.DACL)
    expect = places.folder_expect(spec, path, True, io.DACL, fingerprint)
    target = places.name(spec, path)
    return Change(KIND, Action.UPDATE, target, before, after, item.location, (write,), expect)


def reset_to_inherit(inputs: io.SdInputs) -> bytes:
    """No explicit ACEs, not protected: exactly what the live parent passes down."""
    cur, parent = inputs.current, inputs.parent
    aces = parent.dacl.aces if parent is not None and parent.dacl is not None else ()
    inherited = rights.inherited_aces(aces, cur.owner, cur.group)
    built = sdlib.SecurityDescriptor(1, RESET_CONTROL, cur.owner, cur.group, _acl(inherited), None)
    return sdlib.to_bytes(built)


def _acl(aces: Sequence[Ace]) -> Acl:
    return Acl(sdlib.ACL_REVISION, tuple(aces))
