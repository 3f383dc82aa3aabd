"""The ``privileged`` kind's diff as data: the allow-list and the groups as read, changes out.

Each case in plan_cases/privileged/ names a task, the directory's principals (by name,
with a RID, class, primary group, userAccountControl, password age) and each group's
direct, effective and primary-group members by name; the harness builds the
:class:`PrivilegedState` the reader would return and plans through the real planner.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import load_cases
from test_plan_cases import DOMAIN

from adsuite.engine.planner import build_plan
from adsuite.errors import InputError
from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry, Query
from adsuite.formats.sid import sid_to_bytes
from adsuite.resources import registry
from adsuite.resources.base import Desired
from adsuite.resources.privileged.facts import (
    BUILTIN_SIDS,
    DOMAIN_RIDS,
    Principal,
    PrivilegedGroup,
    PrivilegedRead,
    PrivilegedState,
)
from adsuite.resources.privileged.rest import Resting, RestingRead
from adsuite.source import Location

CASES = Path(__file__).parent / "plan_cases" / "privileged"
BASE = "DC=group,DC=example,DC=com"
DOMAIN_SID = "S-1-5-21-1-2-3"
NOW = datetime(2026, 11, 27, tzinfo=UTC)
EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


def group_dn(label: str) -> str:
    folder = "Builtin" if label in BUILTIN_SIDS else "Users"
    return f"CN={label},CN={folder},{BASE}"


def principal(data: dict[str, Any]) -> Principal:
    name = data["name"]
    sid = data.get("sid") or f"{DOMAIN_SID}-{data['rid']}"
    attributes = {
        "samaccountname": (name.encode(),),
        "objectsid": (sid_to_bytes(sid),),
        "objectclass": (b"top", data.get("class", "user").encode()),
        "objectguid": (name.encode(),),
        "useraccountcontrol": (str(data.get("uac", 512)).encode(),),
    }
    if data.get("class", "user") == "user":
        attributes["primarygroupid"] = (str(data.get("primary_group", 513)).encode(),)
    if "password_days" in data:
        moment = NOW - timedelta(days=data["password_days"])
        ticks = int((moment - EPOCH).total_seconds()) * 10_000_000
        attributes["pwdlastset"] = (str(ticks).encode(),)
    if "member_of" in data:
        attributes["memberof"] = tuple(group_dn(g).encode() for g in data["member_of"])
    dn = data.get("dn") or (
        group_dn(name) if name in (*DOMAIN_RIDS, *BUILTIN_SIDS) else f"CN={name},CN=Users,{BASE}"
    )
    return Principal(Entry(dn, attributes), sid)


def state(case: dict[str, Any]) -> PrivilegedState:
    principals = {p.name: p for p in map(principal, case.get("directory") or [])}
    keys = {name: dnlib.key(p.dn) for name, p in principals.items()}
    groups = {}
    for label, found in (case.get("groups") or {}).items():
        sid = BUILTIN_SIDS.get(label) or f"{DOMAIN_SID}-{DOMAIN_RIDS[label]}"
        members = [group_dn(m) if m in keys and principals[m].is_group else principals[m].dn
                   for m in found.get("members", [])]  # fmt: skip
        entry = Entry(group_dn(label), {"member": tuple(m.encode() for m in members)})
        effective = tuple(keys[m] for m in found.get("effective", found.get("members", [])))
        primary = tuple(keys[m] for m in found.get("primary", []))
        groups[label] = PrivilegedGroup(label, entry, sid, effective, primary)
    admin = next((p for p in principals.values() if p.sid.endswith("-500")), None)
    return PrivilegedState(
        domain_sid=DOMAIN_SID,
        read_at=NOW,
        bound_as=case.get("bound_as", "Administrator@GROUP.EXAMPLE.COM"),
        max_password_age_days=case.get("max_password_age_days", 42),
        groups=groups,
        principals={dnlib.key(p.dn): p for p in principals.values()},
        builtin_administrator=admin,
        domain_users_dn=f"CN=Domain Users,CN=Users,{BASE}",
    )


def plan_case(case: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    found = state(case)
    accounts = [p for p in found.principals.values() if not p.is_group]

    def read(requests: Sequence[Any]) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for request in requests:
            if isinstance(request, PrivilegedRead):
                out[request] = found
            elif isinstance(request, RestingRead):
                named = {p.name.lower(): p.entry for p in accounts}
                entries = {n: named[n] for n in request.accounts if n in named}
                held = {n.lower(): "checkout-run" for n in case.get("checked_out", [])}
                out[request] = Resting(entries, held)
            elif isinstance(request, Query):
                out[request] = [p.entry for p in accounts if _named(request, p.name)]
        return out

    spec = registry.KINDS["privileged"].spec.model_validate(case["task"])
    desired: dict[str, list[Desired]] = {name: [] for name in registry.KINDS}
    desired["privileged"] = [Desired(spec, Location("case.yml", 1), "task")]
    plan = build_plan("group", DOMAIN, desired, read)
    changes = [{k: v for k, v in c.summary().items() if k != "source"} for c in plan.changes]
    notices = [{"severity": n.severity, "text": n.text} for n in plan.notices]
    return changes, notices


def _named(query: Query, name: str) -> bool:
    return f"(samaccountname={name.lower()})" in query.filter.lower()


@pytest.mark.parametrize("case", load_cases(CASES, keep=lambda case: "name" in case))
def test_privileged_plan_case(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises((InputError, ValueError)) as raised:
            plan_case(case)
        assert case["error"] in str(raised.value)
        return
    changes, notices = plan_case(case)
    assert changes == case.get("changes", [])
    assert notices == case.get("notices", [])


def test_rollback_does_not_re_enable_an_account_put_back_to_rest() -> None:
    before = {"at_rest": "disabled", "account": "adm.ops", "enabled": True}
    after = {"at_rest": "disabled", "account": "adm.ops", "enabled": False}
    replay = registry.KINDS["privileged"].replay
    with pytest.raises(ValueError, match="check it out"):
        replay(f"CN=adm.ops,CN=Users,{BASE}", before, after, undo=True)
