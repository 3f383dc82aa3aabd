"""Rollback of GPO changes without a server: the real rollback planner
(``adsuite.engine.rollback.build``) over journal records that the gpo kind's own plan
made, planned against GPO facts as the run left them, as they were before it, and as
someone changed them since; plus the link edits a rollback writes and the spec forms
only a rollback may use."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from gpo_facts import DOMAIN, NEW_GUID, plan_of, reader
from pydantic import ValidationError

from adsuite.engine import rollback
from adsuite.engine.loader import Playbook
from adsuite.engine.planner import Plan, build_plan
from adsuite.engine.playbook import desired_by_kind
from adsuite.formats.gpo_ldap import Link, gpo_dn
from adsuite.formats.gpt_ini import to_version_number
from adsuite.journal.records import ChangeRecord
from adsuite.resources.base import Action, Change, LdapWrite
from adsuite.resources.gpo import gpo
from adsuite.resources.gpo import requests as io
from adsuite.resources.gpo.image import SPECS
from adsuite.resources.gpo.links import edit_links
from adsuite.resources.gpo.rollback import PREDATES
from adsuite.resources.gpo.spec import RollbackSpec, Spec

BASE = "DC=group,DC=example,DC=com"
G1 = "{11111111-1111-1111-1111-111111111111}"
G2 = "{22222222-2222-2222-2222-222222222222}"
SYSTEM = r"Software\Microsoft\Windows\CurrentVersion\Policies\System"
USER_CSE = "[{35378EAC-683F-11D2-A89A-00C04FBBCFA2}{D02B1F73-3407-48AE-BA88-E8213C6761F1}]"
USERS = f"OU=Users,OU=HQ,{BASE}"
WORKSTATIONS = f"OU=Workstations,OU=HQ,{BASE}"


@pytest.fixture(autouse=True)
def fixed_guid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpo, "new_guid", lambda: NEW_GUID)


def task(data: int, links: list[str]) -> dict[str, Any]:
    policy = {"key": SYSTEM, "value": "DisableRegistryTools", "type": "dword", "data": data}
    return {"gpo": {"name": "G", "links": links, "user": {"registry": [policy]}}}


def facts(data: int, version: int, links: dict[str, list[str]]) -> dict[str, Any]:
    """Group policy as the directory holds it: G with one user setting, and the links."""
    policy = {"key": SYSTEM, "value": "DisableRegistryTools", "type": "REG_DWORD", "data": data}
    gpos = [{"name": "G", "guid": G1, "version": version, "user_extensions": USER_CSE}]
    gpos[0]["user_registry"] = [policy]
    return {"ous": ["HQ/Users", "HQ/Workstations"], "links": links, "gpos": gpos}


BEFORE = facts(0, 65536, {"HQ/Users": [f"{G2};0", f"{G1};0"]})
AFTER = facts(1, 131072, {"HQ/Users": [f"{G2};0"], "HQ/Workstations": [f"{G1};2"]})
CHANGE = task(1, ["HQ/Workstations"])
CHANGE["gpo"]["links"] = [{"target": "HQ/Workstations", "enforced": True}]


def journaled(case: dict[str, Any], tasks: list[dict[str, Any]]) -> list[ChangeRecord]:
    """The plan's changes as the journal hands them back: JSON, applied."""
    changes = plan_of({**case, "tasks": tasks}).changes
    return [record(no, json.loads(json.dumps(c.summary()))) for no, c in enumerate(changes, 1)]


def record(no: int, summary: dict[str, Any]) -> ChangeRecord:
    return ChangeRecord(
        "R1", no, summary["kind"], summary["target"], summary["action"], summary["before"],
        summary["after"], "applied", None, "2026-11-27T10:00:00Z", None, no,
    )  # fmt: skip


def against(case: dict[str, Any]) -> Callable[[Playbook], Plan]:
    """Plan a playbook against *case*'s facts, as rollback plans against the directory."""
    return lambda playbook: build_plan("group", DOMAIN, desired_by_kind(playbook), reader(case))


def undo(records: list[ChangeRecord], now: dict[str, Any]) -> rollback.RollbackPlan:
    return rollback.build("R1", records, "group", BASE, against(now))


def link_edits(change: Change) -> list[io.GpLinkEdit]:
    return [w for w in change.writes if isinstance(w, io.GpLinkEdit)]


def test_a_gpo_and_its_links_roll_back_as_one_change_whichever_of_its_changes_were_journaled() -> (
    None
):
    records = journaled(BEFORE, [CHANGE])
    assert [r.target for r in records] == ['"G"', USERS, WORKSTATIONS]
    for kept in (records, records[1:], records[2:]):  # each change carries the GPO's images
        built = undo(kept, AFTER)
        assert (built.moved_on, built.unsupported) == ((), ())
        (change,) = built.plan.changes
        assert (change.target, change.action) == ('"G"', Action.UPDATE)
        assert change.after is not None
        assert change.after["link HQ/Users"] == "order 2, enabled"
        assert change.after["link HQ/Workstations"] == "absent"
        assert link_edits(change) == [
            io.GpLinkEdit(WORKSTATIONS, BASE, G1, None, None),
            io.GpLinkEdit(USERS, BASE, G1, 0, 2),
        ]
        assert change.expect.links == (
            # the link it removes is checked without its order: another GPO's removal
            # earlier in the same rollback may have moved it up
            (WORKSTATIONS, "linked, enabled, enforced"),
            (USERS, "absent"),
        )
    (change,) = undo(records, AFTER).plan.changes
    assert change.after is not None and change.after["User: DisableRegistryTools"] == "0"


def test_a_second_rollback_plans_nothing() -> None:
    built = undo(journaled(BEFORE, [CHANGE]), BEFORE)
    assert built.plan.changes == () and built.moved_on == ()


@pytest.mark.parametrize(
    "since",
    [
        pytest.param(facts(1, 131073, AFTER["links"]), id="its version moved on"),
        pytest.param(facts(7, 131072, AFTER["links"]), id="a setting the run wrote changed"),
        pytest.param(facts(1, 131072, {"HQ/Users": [f"{G2};0"]}), id="its link was taken away"),
    ],
)
def test_a_gpo_changed_since_the_run_is_left_alone_whole_links_included(
    since: dict[str, Any],
) -> None:
    built = undo(journaled(BEFORE, [CHANGE]), since)
    assert built.moved_on == ('"G"',)
    assert built.plan.changes == ()


def test_journal_entries_from_before_gpo_images_say_the_run_predates_them() -> None:
    old = []
    for rec in journaled(BEFORE, [CHANGE]):
        before = {k: v for k, v in rec.before.items() if k != SPECS}
        after = {k: v for k, v in rec.after.items() if k != SPECS}
        old.append(record(rec.change_no, {**_summary(rec), "before": before, "after": after}))
    built = undo(old, AFTER)
    assert built.plan.changes == ()
    assert built.unsupported == tuple(f"gpo {r.target}: {PREDATES}" for r in reversed(old))


def _summary(rec: ChangeRecord) -> dict[str, Any]:
    return {"kind": rec.resource, "target": rec.target, "action": rec.action}


def test_a_deleted_gpo_comes_back_with_its_guid_above_its_old_version_then_links() -> None:
    gone = [{"gpo": {"name": "G", "state": "absent", "allow_delete": True}}]
    records = journaled(BEFORE, gone)
    assert [r.action for r in records] == ["update", "delete"]  # unlinked, then deleted
    nothing = {"ous": BEFORE["ous"], "links": {"HQ/Users": [f"{G2};0"]}}
    (change,) = undo(records, nothing).plan.changes
    assert change.action is Action.CREATE and change.after is not None
    assert change.after["GUID"] == f"{G1} (the same as before)"
    assert change.after["version"] == "131073 (above 65536, so clients read it again)"
    adds = [w.dn for w in change.writes if isinstance(w, LdapWrite) and w.op == "add"]
    assert adds[0] == io.gpc_dn(G1, BASE)
    (modify,) = [w for w in change.writes if isinstance(w, LdapWrite) and w.op == "modify"]
    assert modify.changes["versionNumber"] == ("replace", [str(to_version_number(0x00020001))])
    assert change.writes[-1] == io.GpLinkEdit(USERS, BASE, G1, 0, 2)
    assert undo(records, BEFORE).plan.changes == ()  # back already: a second rollback


def test_a_gpo_the_run_created_is_removed_by_guid_with_its_links_first() -> None:
    records = journaled(BEFORE | {"gpos": []}, [task(1, ["HQ/Workstations"])])
    made = facts(1, 65536, {"HQ/Workstations": [f"{NEW_GUID};0"]})
    made["gpos"][0] |= {"guid": NEW_GUID}
    (change,) = undo(records, made).plan.changes
    assert change.action is Action.DELETE
    assert change.writes[0] == io.GpLinkEdit(WORKSTATIONS, BASE, NEW_GUID, None, None)
    assert change.writes[1] == io.GpoDelete("GROUP.EXAMPLE.COM", BASE, NEW_GUID, _gpt(NEW_GUID))
    other = facts(1, 65536, {})  # a GPO named G, but not the one the run made
    assert undo(records, other).plan.changes == ()


def _gpt(guid: str) -> str:
    return f"group.example.com\\Policies\\{guid}"


def test_a_setting_no_playbook_can_declare_is_reported_not_half_written_back() -> None:
    case = facts(0, 65536, {})
    case["gpos"][0]["user_registry"].append(
        {"key": SYSTEM, "value": "**delvals.", "type": "REG_SZ", "data": " "}
    )
    built = undo(journaled(case, [task(1, [])]), AFTER)
    (reason,) = built.unsupported
    assert reason.startswith("gpo \"G\": cannot roll back GPO 'G': its User\\Registry.pol held ")
    assert "**delvals., which no playbook declares" in reason
    assert built.plan.changes == ()


LINKS = [
    pytest.param([], 0, None, [(G1, 0)], id="a new link goes last"),
    pytest.param([(G2, 0)], 1, None, [(G2, 0), (G1, 1)], id="after the links already there"),
    pytest.param([(G2, 0), (G1, 0)], 2, None, [(G2, 0), (G1, 2)], id="options keep the place"),
    pytest.param([(G2, 0), (G1, 0)], 0, 1, [(G1, 0), (G2, 0)], id="an order moves it"),
    pytest.param([(G2, 0)], 0, 9, [(G2, 0), (G1, 0)], id="an order past the end is last"),
    pytest.param([(G1, 0), (G2, 1)], None, None, [(G2, 1)], id="no options: no link"),
]


@pytest.mark.parametrize(("have", "options", "order", "want"), LINKS)
def test_one_gpos_link_is_edited_in_place_leaving_every_other_link_where_it_was(
    have: list[tuple[str, int]], options: int | None, order: int | None, want: list[tuple[str, int]]
) -> None:
    links = [Link(gpo_dn(g, BASE), o) for g, o in have]
    edited = edit_links(links, G1, options, order, BASE)
    assert [(x.guid, x.options) for x in edited] == want


def test_rollback_hints_are_refused_in_a_playbook_and_null_keys_must_be_known() -> None:
    with pytest.raises(ValidationError, match="rollback"):
        Spec.model_validate({"name": "G", "rollback": {"left_at_version": 1}})
    assert RollbackSpec.model_validate({"name": "G", "rollback": {"left_at_version": 1}})
    with pytest.raises(ValidationError, match="unknown \\[Event Audit\\] key 'AuditLogon'"):
        Spec.model_validate(
            {"name": "G", "machine": {"security": {"event_audit": {"AuditLogon": None}}}}
        )
    force = r"MACHINE\System\CurrentControlSet\Control\Lsa\SCENoApplyLegacyAuditPolicy"
    both = {"force_audit_subcategories": True, "security": {"registry_values": {force: None}}}
    with pytest.raises(ValidationError, match="give one"):
        Spec.model_validate({"name": "G", "machine": both})


def test_a_rollback_run_can_itself_be_rolled_back() -> None:
    (first,) = undo(journaled(BEFORE, [CHANGE]), AFTER).plan.changes
    records = [record(1, json.loads(json.dumps(first.summary())))]
    assert first.after is not None
    (left,) = [s["rollback"]["left_at_version"] for s in first.after[SPECS]]
    assert left == 0x00030000  # the user half went up again
    (redo,) = undo(records, facts(0, left, BEFORE["links"])).plan.changes
    assert redo.after is not None
    assert redo.after["User: DisableRegistryTools"] == "1"
    assert redo.after["link HQ/Workstations"] == "order 1, enabled, enforced"
