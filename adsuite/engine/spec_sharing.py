"""Validated specs that set the same fields share one record of which fields they set.

pydantic keeps, in every model instance, the set of field names the input gave
(``model_fields_set``, read by ``model_dump(exclude_unset=True)``). A loop of 10,000
users that all give name, ou, given_name, surname, description and enabled makes 10,000
equal six-name sets of 728 bytes each. Specs are never assigned to after validation
(nothing in adsuite sets a spec's attribute), so the equal sets can be one object.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


class FieldSets:
    """One shared set per distinct set of field names seen in a load."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[frozenset[str], set[str]] = {}

    def share(self, spec: M) -> M:
        fields = spec.model_fields_set
        shared = self._seen.setdefault(frozenset(fields), fields)
        if shared is not fields:
            object.__setattr__(spec, "__pydantic_fields_set__", shared)
        return spec
