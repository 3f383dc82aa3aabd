"""Attribute tables: how a resource's fields map to LDAP attributes, as data.

Each kind lists its managed attributes once; reading an entry into the view shown
to the user, and turning desired values into an LDAP modify, are shared here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from pydantic import ValidationInfo, field_validator

from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry
from adsuite.resources import schema_limits


@dataclass(frozen=True)
class Attr:
    field: str  # name in the playbook and in plans
    ldap: str  # LDAP attribute name
    type: str = "text"  # text | dn | int | list
    # Entry keys are lower-case: a 10,000-user plan reads 130,000 values, lower once
    key: str = dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", self.ldap.lower())


def schema_lengths(table: Sequence[Attr]) -> Any:
    """A pydantic field validator refusing, at load, text over its attribute's rangeUpper.

    In a Spec: ``_lengths = attrs.schema_lengths(TABLE)``.
    """
    ldap_of = {a.field: a.ldap for a in table if a.ldap in schema_limits.RANGE_UPPER}

    def check(value: Any, info: ValidationInfo) -> Any:
        field = info.field_name or ""
        problem = schema_limits.too_long(field, ldap_of.get(field, ""), value)
        if problem:
            raise ValueError(problem)
        return value

    return field_validator(*ldap_of)(check)


def read(entry: Entry, attr: Attr) -> Any:
    return _value(entry.attributes.get(attr.key, ()), attr.type)


def _value(values: Sequence[bytes], kind: str) -> Any:
    if kind == "list":
        return [value.decode("utf-8") for value in values]
    if not values:
        return None
    if kind == "int":
        return int(values[0].decode("utf-8"))
    if kind == "dn":
        return dnlib.normalize(values[0].decode("utf-8"))
    return values[0].decode("utf-8")


def observe(entry: Entry, table: Sequence[Attr]) -> dict[str, Any]:
    """The entry as the user sees it: field → value."""
    values = entry.attributes
    return {attr.field: _value(values.get(attr.key, ()), attr.type) for attr in table}


def ldap_values(value: Any) -> list[Any]:
    """Values for a replace: '' and [] clear the attribute."""
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def modify(after: Mapping[str, Any], table: Sequence[Attr]) -> dict[str, tuple[str, list[Any]]]:
    """An LDAP modify replacing every field in *after* that the table knows."""
    by_field = {attr.field: attr for attr in table}
    return {
        by_field[name].ldap: ("replace", ldap_values(value))
        for name, value in after.items()
        if name in by_field
    }


def add_attributes(values: Mapping[str, Any], table: Sequence[Attr]) -> dict[str, Any]:
    """Attributes for an LDAP add: only the fields that have a value."""
    by_field = {attr.field: attr for attr in table}
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name in by_field and (found := ldap_values(value)):
            out[by_field[name].ldap] = found
    return out


def raw_of(
    entry: Entry | None, table: Sequence[Attr], fields: Sequence[str]
) -> dict[str, tuple[bytes, ...]]:
    """The raw values of the LDAP attributes behind *fields*, for conflict checks."""
    by_field = {attr.field: attr for attr in table}
    if entry is None:
        return {}
    return {by_field[f].ldap: entry.raw(by_field[f].ldap) for f in fields if f in by_field}
