"""file_acl diffs as data: declared folders + what the share and the directory hold in,
planned changes out (before/after in words), with no server.

Each case in file_acl_cases/*.yml has ``tasks``; ``accounts`` (sAMAccountName → SID, as
the directory holds them); ``folders`` (path → SDDL, a missing path does not exist);
``trees`` (managed path → {path → SDDL}); ``names`` (SID → sAMAccountName for SIDs
the server's descriptors name); ``grants`` (path → ticket grants the journal holds:
``{ticket, rule, expired, sid}``); ``ticket: true`` to validate the tasks as a ticket's,
``rollback: true`` as a rollback's (:class:`RollbackSpec`); and either ``changes`` or
``error``. Local paths (no ``share``) are answered from ``folders`` and ``trees`` too.
The exact images every change journals (``sddl``, ``placeholders``) are compared only
in cases that set ``images: true`` (file_acl_cases/images.yml).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from helpers import load_cases

from adsuite.engine.planner import build_plan
from adsuite.errors import InputError
from adsuite.formats import sddl
from adsuite.formats.ldap_query import Entry, Query
from adsuite.formats.security_descriptor import to_bytes
from adsuite.formats.sid import sid_to_bytes
from adsuite.resources import registry
from adsuite.resources.accounts.password_reset import TICKET_CONTEXT
from adsuite.resources.base import Desired
from adsuite.resources.file_acl.grants import Grant, GrantsRead, GrantState
from adsuite.resources.file_acl.requests import FolderRead, FolderState, TreeRead, TreeState
from adsuite.resources.file_acl.rollback import RollbackSpec
from adsuite.resources.file_acl.spec import AccessRule
from adsuite.runtime.inventory import Domain
from adsuite.source import Location

CASES = Path(__file__).parent / "file_acl_cases"
DOMAIN_SID = "S-1-5-21-1-2-3"
BASE = "DC=group,DC=example,DC=com"
DOMAIN = Domain.model_validate(
    {
        "realm": "GROUP.EXAMPLE.COM",
        "base_dn": BASE,
        "netbios": "GROUP",
        "credential": "x",
        "dcs": {"dc1": {"ldap_url": "ldaps://127.0.0.1:636"}},
    }
)


def descriptor(text: str) -> bytes:
    return to_bytes(sddl.from_sddl(text, DOMAIN_SID))


def account_entries(accounts: dict[str, str]) -> list[Entry]:
    return [
        Entry(
            f"CN={name},CN=Users,{BASE}",
            {"samaccountname": (name.encode(),), "objectsid": (sid_to_bytes(sid),)},
        )
        for name, sid in accounts.items()
    ]


def answer(request: Any, case: dict[str, Any], entries: list[Entry]) -> Any:
    names = case.get("names") or {}
    if isinstance(request, FolderRead):
        text = (case.get("folders") or {}).get(request.place.path)
        return FolderState(descriptor(text) if text else None, names)
    if isinstance(request, TreeRead):
        tree = (case.get("trees") or {}).get(request.place.path) or {}
        return TreeState({p: descriptor(t) for p, t in tree.items()}, {}, names)
    if isinstance(request, GrantsRead):
        return grant_state((case.get("grants") or {}).get(request.path) or [])
    assert isinstance(request, Query)
    if "crossRef" in request.filter:
        return [Entry("CN=GROUP,CN=Partitions", {"netbiosname": (b"GROUP",)})]
    query = request.filter.lower()
    return [e for e in entries if f"(samaccountname={e.text('sAMAccountName')})".lower() in query]


def grant_state(grants: list[dict[str, Any]]) -> GrantState:
    made = [
        (
            Grant(
                g["ticket"],
                f"run-{g['ticket']}",
                AccessRule.model_validate(g["rule"]),
                "li.hua",
                "Finance",
                g.get("expires"),
                g.get("sid"),
            ),
            bool(g.get("expired")),
        )
        for g in grants
    ]
    return GrantState(
        tuple(g for g, expired in made if not expired), tuple(g for g, expired in made if expired)
    )


def plan_case(case: dict[str, Any]) -> list[dict[str, Any]]:
    entries = account_entries(case.get("accounts") or {})
    desired: dict[str, list[Desired]] = {name: [] for name in registry.KINDS}
    context = {TICKET_CONTEXT: "PC-1"} if case.get("ticket") else None
    for line, task in enumerate(case["tasks"], start=1):
        ((kind, args),) = task.items()
        model = RollbackSpec if case.get("rollback") else registry.KINDS[kind].spec
        spec = model.model_validate(args, context=context)
        desired[kind].append(Desired(spec, Location("case.yml", line), f"task {line}"))

    def read(requests: Sequence[Any]) -> dict[Any, Any]:
        return {r: answer(r, case, entries) for r in requests}

    plan = build_plan("group", DOMAIN, desired, read)
    shown = [{k: v for k, v in c.summary().items() if k != "source"} for c in plan.changes]
    return shown if case.get("images") else [without_images(c) for c in shown]


def without_images(change: dict[str, Any]) -> dict[str, Any]:
    def side(values: dict[str, Any] | None) -> dict[str, Any] | None:
        if values is None:
            return None
        return {k: v for k, v in values.items() if k not in ("sddl", "placeholders")}

    return {**change, "before": side(change["before"]), "after": side(change["after"])}


@pytest.mark.parametrize("case", load_cases(CASES))
def test_file_acl_plan_case(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(InputError) as raised:
            plan_case(case)
        assert case["error"] in str(raised.value)
        return
    assert plan_case(case) == case["changes"]
