"""Administrative Templates of one GPO half: declared policies against its Registry.pol.

A half's declared ``registry`` list is the whole file: a value the file sets that no
policy declares is drift too, and apply writes exactly the declared entries. Keys and
value names compare case-insensitively, as the registry does. Differences are worded per
policy: ``User: DisableRegistryTools is 0, want 1``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from adsuite.errors import InputError
from adsuite.formats.registry_pol import (
    Action,
    PolEntry,
    RegistryPol,
    RegType,
    parse_registry_pol,
    serialize_registry_pol,
)
from adsuite.resources.gpo import applocker as gpo_applocker
from adsuite.resources.gpo.spec import RegistryPolicy

log = logging.getLogger(__name__)

NOT_SET = "not set"
DELETED = "deleted"
_SHOWN = (Action.SET, Action.DELETE_VALUE)


@dataclass
class Diff:
    """What a GPO's files differ in, in words, and the files to write (None: delete)."""

    before: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes | None] = field(default_factory=dict)

    def differs(self, label: str, was: str, want: str) -> None:
        if was != want:
            self.before[label], self.after[label] = was, want


def data_words(entry: PolEntry) -> str:
    data = entry.data
    if gpo_applocker.is_applocker(entry.key) and entry.value_name == gpo_applocker.RULE_VALUE:
        said = gpo_applocker.rule_words(data)
        return said if said is not None else "(not an AppLocker rule)"
    if isinstance(data, tuple):
        return ", ".join(data) or "(empty list)"
    if isinstance(data, bytes):
        return data.hex(" ") or "(no data)"
    return str(data)


def _key(entry: PolEntry) -> tuple[str, str]:
    """What an entry is about: the key and the value it sets or deletes."""
    target = entry.target if entry.action in _SHOWN else entry.value_name
    return entry.key.casefold(), target.casefold()


def _observed(entry: PolEntry | None, want_type: RegType | None) -> str:
    if entry is None:
        return NOT_SET
    if entry.action is Action.DELETE_VALUE:
        return DELETED
    words = data_words(entry)
    return words if want_type in (None, entry.type) else f"{words} ({entry.type.name})"


def labels(half: str, policies: Sequence[RegistryPolicy]) -> list[str]:
    """``User: DisableCMD``; a value name declared under two keys gets its key's last part."""
    names = [p.value.casefold() for p in policies]
    out = []
    for policy in policies:
        rule = gpo_applocker.label(policy.key, policy.value, policy.data)
        if rule is not None:
            out.append(f"{half}: {rule}")
            continue
        unique = names.count(policy.value.casefold()) == 1
        where = policy.value if unique else f"{policy.key.rpartition(chr(92))[2]}\\{policy.value}"
        out.append(f"{half}: {where}")
    return out


def read_pol(data: bytes | None, where: str) -> RegistryPol | None:
    if data is None:
        return None
    try:
        return parse_registry_pol(data, source=where)
    except InputError as error:
        log.warning("unreadable %s: %s", where, error)
        return RegistryPol(())


def plan_registry(
    diff: Diff, half: str, path: str, declared: Sequence[RegistryPolicy], current: bytes | None
) -> None:
    """Word the differences of one half's Registry.pol and, if any, queue the new file."""
    have = read_pol(current, path)
    found = {_key(e): e for e in (have or ())}
    want = [p.pol_entry() for p in declared]
    for policy, entry, label in zip(declared, want, labels(half, declared), strict=True):
        seen = found.pop(_key(entry), None)
        wanted = DELETED if policy.state == "absent" else data_words(entry)
        want_type = None if policy.state == "absent" else entry.type
        diff.differs(label, _observed(seen, want_type), wanted)
    for entry in found.values():
        rule = gpo_applocker.label(entry.key, entry.value_name, entry.data)
        where = rule or f"{entry.key}\\{entry.value_name}"
        diff.differs(f"{half}: {where}", _observed(entry, None), NOT_SET)
    if not _same(have, want):
        diff.files[path] = serialize_registry_pol(want) if want else None


def _canonical(entries: Sequence[PolEntry]) -> list[tuple[str, str, int, object]]:
    return sorted(
        (e.key.casefold(), e.value_name.casefold(), int(e.type), e.encoded_data()) for e in entries
    )


def _same(have: RegistryPol | None, want: Sequence[PolEntry]) -> bool:
    if have is None:
        return not want
    return _canonical(have.entries) == _canonical(want)
