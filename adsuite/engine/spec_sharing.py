"""Validated specs share what equal specs hold alike: field-name sets and strings.

pydantic keeps, in every model instance, the set of field names the input gave
(``model_fields_set``, read by ``model_dump(exclude_unset=True)``). A loop of 10,000
users that all give name, ou, given_name, surname, description and enabled makes 10,000
equal six-name sets of 728 bytes each. Specs are never assigned to after validation
(nothing in adsuite sets a spec's attribute), so the equal sets can be one object.

A loop's rendered values repeat too (every user of a 10,000-item loop is in one of 20
OUs): each rendering is a string of its own, so equal strings of nearby specs are made
one string (~60 bytes a spec). The values stay equal; only their identity changes.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

MAX_STRINGS = 50_000  # distinct strings remembered before starting over: bounded, ~4 MB


class FieldSets:
    """One shared set per distinct set of field names seen in a load; recent strings."""

    __slots__ = ("_numbers", "_seen", "_strings")

    def __init__(self) -> None:
        self._seen: dict[frozenset[str], set[str]] = {}
        self._strings: dict[str, str] = {}
        self._numbers: dict[int, int] = {}

    def share(self, spec: M) -> M:
        fields = spec.model_fields_set
        shared = self._seen.setdefault(frozenset(fields), fields)
        if shared is not fields:
            object.__setattr__(spec, "__pydantic_fields_set__", shared)
        if len(self._strings) > MAX_STRINGS:
            self._strings.clear()
        _share_strings(spec, self._strings)
        return spec

    def share_text(self, text: str) -> str:
        """An equal string seen shortly before, else *text* (a loop's task names)."""
        return self._strings.setdefault(text, text)

    def share_index(self, index: int | None) -> int | None:
        """One int object per loop index (Python shares only -5..256): every loop of
        10,000 items gives its tasks the same 10,000, not 10,000 more of 32 bytes."""
        if index is None or index > MAX_STRINGS:
            return index
        return self._numbers.setdefault(index, index)


def _share_strings(spec: BaseModel, strings: dict[str, str]) -> None:
    """Point *spec*'s string values at equal strings seen shortly before, if any."""
    values: dict[str, Any] = spec.__dict__
    for name, value in values.items():
        if type(value) is str:
            shared = strings.setdefault(value, value)
            if shared is not value:
                values[name] = shared  # an existing key: the dict does not change size
