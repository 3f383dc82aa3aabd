"""The delegation kind as data: tasks + directory entries (descriptors in SDDL) in,
planned changes out — and the ACEs the plan will write, checked against the wizard's.

Cases live in plan_cases/delegation/ (not plan_cases/*.yml) because their facts hold
binary values (objectSid, schemaIDGUID), written ``{sid: ...}`` / ``{guid: ...}``.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_plan_cases import DOMAIN, DOMAIN_SID, desired, in_scope

from adsuite.engine.planner import Plan, build_plan
from adsuite.errors import AdsuiteError
from adsuite.formats import sddl
from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.ldap_query import Entry, Query
from adsuite.formats.security_descriptor import to_bytes
from adsuite.formats.sid import sid_to_bytes
from adsuite.resources.delegation import dacl, delegation
from adsuite.resources.delegation.facts import AcePrincipals

DATA = yaml.safe_load(
    (Path(__file__).parent / "plan_cases" / "delegation" / "cases.yml").read_text("utf-8")
)
VARS: dict[str, str] = DATA["vars"]


def value(raw: Any) -> bytes:
    if isinstance(raw, dict) and "sid" in raw:
        return sid_to_bytes(raw["sid"])
    if isinstance(raw, dict) and "guid" in raw:
        return uuid.UUID(raw["guid"]).bytes_le
    return str(raw).encode("utf-8")


def entry(data: dict[str, Any]) -> Entry:
    attributes = {
        name.lower(): tuple(value(v) for v in (raw if isinstance(raw, list) else [raw]))
        for name, raw in (data.get("attributes") or {}).items()
    }
    if "sddl" in data:
        text = data["sddl"].format(**VARS)
        attributes["ntsecuritydescriptor"] = (to_bytes(sddl.from_sddl(text, DOMAIN_SID)),)
    return Entry(data["dn"], attributes)


def plan_of(case: dict[str, Any]) -> Plan:
    entries = [entry(e) for e in [*DATA["background"], *(case.get("facts") or [])]]

    def read(requests: Sequence[Hashable]) -> dict[Hashable, Any]:
        out: dict[Hashable, Any] = {}
        for request in requests:
            if isinstance(request, AcePrincipals):
                out[request] = case["principals"]
            else:
                assert isinstance(request, Query)
                out[request] = [e for e in entries if in_scope(e, request)]
        return out

    return build_plan("group", DOMAIN, desired(case["tasks"]), read)


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in DATA["cases"]])
def test_delegation_plan_case(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(AdsuiteError) as raised:
            plan_of(case)
        assert case["error"] in str(raised.value)
        return
    changes = [c.summary() for c in plan_of(case).changes]
    assert [{k: v for k, v in c.items() if k != "source"} for c in changes] == case["changes"]


def case_named(name: str) -> dict[str, Any]:
    return next(c for c in DATA["cases"] if c["name"] == name)


def edit_of(plan: Plan) -> dacl.DaclEdit:
    (change,) = [c for c in plan.changes if c.kind == "delegation"]
    (write,) = change.writes
    assert isinstance(write, dacl.DaclEdit)
    return write


def wizard_aces() -> set[str]:
    return {f"({text})" for text in VARS["wizard"].strip("()").split(")(")}


def _ace_text(grant: dacl.Grant) -> str:
    """The ACE a grant writes, as SDDL: ``(OA;CI;CCDC;...)``."""
    assert grant.sid is not None
    acl = sdlib.Acl(sdlib.ACL_REVISION_DS, (grant.shape.for_sid(grant.sid),))
    return sddl.to_sddl(sdlib.SecurityDescriptor(1, 0, None, None, acl, None), DOMAIN_SID)[2:]


def test_every_right_writes_exactly_the_aces_of_the_delegation_wizard() -> None:
    not_wizard = {
        "modify_group_membership",
        "full_control",
        "create_delete_gpos",
        "create_delete_service_points",
    }
    rights = sorted(set(delegation.RIGHTS) - not_wizard)
    task = {"delegation": {"ou": "HQ", "trustee": "HQ-IT-Admins", "rights": rights}}
    case = {**case_named("an OU without the delegation lacks each right, named in words")}
    edit = edit_of(plan_of({**case, "tasks": [task]}))
    assert {_ace_text(g) for g in edit.grants} == wizard_aces()
    assert not edit.revokes


def test_full_control_is_one_allow_ace_on_the_object_inherited_by_all_below() -> None:
    task = {"delegation": {"ou": "HQ", "trustee": "HQ-IT-Admins", "rights": ["full_control"]}}
    case = {**case_named("an OU without the delegation lacks each right, named in words")}
    edit = edit_of(plan_of({**case, "tasks": [task]}))
    ((grant,),) = [edit.grants]
    assert grant.shape.flags == sdlib.AceFlags.CI and grant.shape.object_type is None
    assert grant.shape.mask == dacl.FULL_CONTROL and grant.shape.inherited_object_type is None


def test_a_half_granted_right_adds_only_its_missing_ace() -> None:
    edit = edit_of(plan_of(case_named("a right granted only in part is missing")))
    assert [_ace_text(g) for g in edit.grants] == [
        f"(OA;CIIO;RPWP;{VARS['pwdLastSet']};{VARS['user']};{VARS['admins']})"
    ]


def test_a_trustee_created_by_the_run_is_left_for_the_writer_to_look_up() -> None:
    case = case_named(
        "a trustee the same playbook creates is granted in the same run, after its creation"
    )
    plan = plan_of(case)
    edit = edit_of(plan)
    assert {(g.trustee, g.sid) for g in edit.grants} == {("HQ-Helpdesk", None)}
    assert [c.kind for c in plan.changes] == ["group", "delegation"]


def test_exact_mode_revokes_exactly_the_unmanaged_explicit_aces() -> None:
    case = case_named(
        "exact mode removes unmanaged ACEs, named in words, and keeps defaults, protection"
        " and inherited ACEs"
    )
    edit = edit_of(plan_of(case))
    assert not edit.grants
    assert sorted(a.sid for a in edit.revokes) == sorted(
        [VARS["someone"], VARS["someone"], "S-1-5-21-9-9-9-1000"]
    )
    assert not any(a.is_inherited for a in edit.revokes)
