"""Resource diffs as data: desired state + facts in, planned changes out, no server.

Each file in plan_cases/ holds cases: the tasks a playbook would declare, the
entries the directory would return, and the changes (or the error) expected.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from helpers import load_cases

from adsuite.engine.planner import build_plan
from adsuite.errors import InputError
from adsuite.formats import dn as dnlib
from adsuite.formats import sddl
from adsuite.formats.ldap_query import Entry, Query
from adsuite.formats.security_descriptor import to_bytes
from adsuite.resources import registry
from adsuite.resources.base import Desired, SecretRef
from adsuite.runtime.inventory import Domain
from adsuite.source import Location

CASES = Path(__file__).parent / "plan_cases"
DOMAIN_SID = "S-1-5-21-1-2-3"
DOMAIN = Domain.model_validate(
    {
        "realm": "GROUP.EXAMPLE.COM",
        "base_dn": "DC=group,DC=example,DC=com",
        "netbios": "GROUP",
        "credential": "x",
        "dcs": {"dc1": {"ldap_url": "ldaps://127.0.0.1:636"}},
    }
)


def entry(data: dict[str, Any]) -> Entry:
    attributes: dict[str, tuple[bytes, ...]] = {}
    for name, value in (data.get("attributes") or {}).items():
        values = value if isinstance(value, list) else [value]
        attributes[name.lower()] = tuple(str(v).encode("utf-8") for v in values)
    if "sddl" in data:
        descriptor = sddl.from_sddl(data["sddl"], DOMAIN_SID)
        attributes["ntsecuritydescriptor"] = (to_bytes(descriptor),)
    return Entry(data["dn"], attributes)


def in_scope(item: Entry, query: Query) -> bool:
    """Scope only: the planner picks objects by DN or name, as with a real search."""
    if query.scope == "base":
        return dnlib.key(item.dn) == dnlib.key(query.base)
    if query.scope == "one":
        return dnlib.key(dnlib.parent(item.dn)) == dnlib.key(query.base)
    return dnlib.is_under(item.dn, query.base)


def desired(tasks: Sequence[dict[str, Any]]) -> dict[str, list[Desired]]:
    out: dict[str, list[Desired]] = {name: [] for name in registry.KINDS}
    for line, task in enumerate(tasks, start=1):
        ((kind, args),) = task.items()
        spec = registry.KINDS[kind].spec.model_validate(args)
        out[kind].append(Desired(spec, Location("case.yml", line), f"task {line}"))
    return out


def plan_case(case: dict[str, Any]) -> list[dict[str, Any]]:
    entries = [entry(e) for e in case.get("facts") or []]

    def read(queries: Sequence[Query]) -> dict[Query, list[Entry]]:
        return {query: [e for e in entries if in_scope(e, query)] for query in queries}

    plan = build_plan("group", DOMAIN, desired(case["tasks"]), read)
    return [{k: v for k, v in change.summary().items() if k != "source"} for change in plan.changes]


@pytest.mark.parametrize("case", load_cases(CASES))
def test_plan_case(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(InputError) as raised:
            plan_case(case)
        assert case["error"] in str(raised.value)
        return
    assert plan_case(case) == case["changes"]


@pytest.mark.parametrize(
    ("task", "sent"),
    [
        ({"enabled": False}, None),
        ({}, SecretRef(None, generate=True)),
        ({"enabled": None}, SecretRef(None, generate=True)),  # created enabled
        ({"enabled": False, "password": {"credential": "c"}}, SecretRef("c")),
        ({"password": {"generate": True}}, SecretRef(None, generate=True)),
    ],
)
def test_a_new_user_is_sent_a_password_only_when_declared_or_created_enabled(
    task: dict[str, Any], sent: SecretRef | None
) -> None:
    tasks = [{"user": {"name": "wang.fang", "ou": "HQ/Users", **task}}]
    plan = build_plan("group", DOMAIN, desired(tasks), lambda queries: {q: [] for q in queries})
    (add,) = [w for c in plan.changes for w in c.writes if w.op == "add"]
    assert add.attributes.get("unicodePwd") == sent
