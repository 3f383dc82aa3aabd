"""Rollback of the access kinds — delegation, privileged, ticketed_membership — and of
the kinds that cannot be undone by design, without a server.

The data cases (rollback_cases/access.yml) turn a journaled change into the spec
arguments that undo and redo it, or the reason it is not rolled back. The rest run
the real rollback planner (``adsuite.engine.rollback.build``) over a journal record
made by the kind's own plan, against directory facts as the run left them, as they
were before it, and as someone changed them since; and fold journal runs that
include rollbacks into the elevation grants in force.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import test_delegation_plan as deleg
import test_privileged_plan as priv
import yaml
from test_plan_cases import DOMAIN, in_scope
from test_ticketed_membership import elevation, in_force, revoke

from adsuite.cli.render import attribute_lines
from adsuite.engine import drift, rollback
from adsuite.engine.planner import Plan, build_plan
from adsuite.engine.playbook import desired_by_kind
from adsuite.engine.rollback import RollbackPlan
from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.ldap_query import Entry, Query
from adsuite.journal.records import ChangeRecord
from adsuite.journal.store import Journal
from adsuite.resources.base import Change, LdapWrite
from adsuite.resources.delegation import dacl
from adsuite.resources.delegation.facts import AcePrincipals
from adsuite.resources.privileged.facts import PrivilegedRead, PrivilegedState

BASE = "DC=group,DC=example,DC=com"
HQ = f"OU=HQ,{BASE}"
CASES = yaml.safe_load(
    (Path(__file__).parent / "rollback_cases" / "access.yml").read_text(encoding="utf-8")
)


def record(change: dict[str, Any], no: int = 1) -> ChangeRecord:
    """A change as the journal hands it back, applied."""
    return ChangeRecord(
        "R1", no, change["kind"], change["target"], "update", change["before"],
        change["after"], "applied", None, "2026-11-27T10:00:00Z", None, no,
    )  # fmt: skip


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in CASES])
def test_rollback_case(case: dict[str, Any]) -> None:
    (step,) = rollback.steps_of([record(case)])
    if "error" in case:
        with pytest.raises(ValueError) as raised:
            rollback.spec_args(step, BASE, undo=True)
        assert case["error"] in str(raised.value)
        return
    undo = rollback.spec_args(step, BASE, undo=True)
    redo = rollback.spec_args(step, BASE, undo=False)
    assert (undo, redo) == (case["undo"], case["redo"])
    rollback.playbook_for("R1", "group", [(step, undo), (step, redo)])  # valid specs


def test_a_rollback_lists_each_change_that_cannot_be_undone_with_its_reason() -> None:
    reset = next(c for c in CASES if c["kind"] == "password_reset")
    built = rollback.build(
        "R1", [record(reset)], "group", BASE, lambda _: Plan("group", BASE, (), 0, 0)
    )
    assert built.unsupported == (
        f"password_reset {reset['target']}: cannot be undone: the old password is not known "
        "to adsuite and must never be (it is not read, kept or journaled); if the reset was "
        "wrong, a new password_reset ticket sets another (五.9)",
    )


# --- delegation: exactly the ACEs the run changed ---------------------------------------


def delegation_change(name: str) -> tuple[Change, bytes]:
    """The change a delegation plan case makes, and the OU's descriptor it was planned on."""
    case = deleg.case_named(name)
    (change,) = [c for c in deleg.plan_of(case).changes if c.kind == "delegation"]
    (ou,) = [deleg.entry(e) for e in case["facts"] if e["dn"] == HQ]
    return change, ou.raw("nTSecurityDescriptor")[0]


def written(sd: bytes, edit: Any) -> bytes:
    """What the writer (resources/delegation/io.py) makes of *sd*, for trustees that have SIDs."""
    assert isinstance(edit, dacl.DaclEdit)
    add = [g.shape.for_sid(g.sid) for g in edit.grants if g.sid] + list(edit.puts)
    return dacl.edit(sd, add, edit.revokes)


def delegation_rollback(
    records: Sequence[ChangeRecord], sd: bytes, more: Sequence[Entry] = ()
) -> RollbackPlan:
    ou = Entry(HQ, {"ntsecuritydescriptor": (sd,), "objectguid": (b"hq-guid",)})
    entries = [deleg.entry(e) for e in deleg.DATA["background"]] + [ou, *more]

    def read(requests: Sequence[Hashable]) -> dict[Hashable, Any]:
        return {
            r: {} if isinstance(r, AcePrincipals) else [e for e in entries if in_scope(e, r)]
            for r in requests
            if isinstance(r, AcePrincipals | Query)
        }

    def plan_of(playbook: Any) -> Plan:
        return build_plan("group", DOMAIN, desired_by_kind(playbook), read)

    return rollback.build("R1", records, "group", BASE, plan_of)


def explicit(sd: bytes) -> Counter[sdlib.Ace]:
    return Counter(dacl.explicit_aces(sd))


def test_undoing_an_exact_mode_run_takes_back_its_grants_and_puts_back_its_revokes() -> None:
    change, before = delegation_change("exact mode replaces a broader ACE by the declared one")
    after = written(before, change.writes[0])
    assert explicit(after) != explicit(before)

    undo = delegation_rollback([record(change.summary())], after)
    assert not undo.moved_on and not undo.unsupported
    (back,) = undo.plan.changes
    assert attribute_lines(back) == [
        """HQ-IT-Admins 'create and delete users': "granted" → "missing\"""",
        "unmanaged ACE: GROUP\\HQ-IT-Admins 'full control on this object and descendants': "
        '"removed (exact mode)" → "present"',
    ]
    assert explicit(written(after, back.writes[0])) == explicit(before)

    again = delegation_rollback([record(change.summary())], before)
    assert again.plan.empty and not again.moved_on


def test_undoing_a_revoke_puts_a_deny_ace_back_before_the_explicit_allow_aces() -> None:
    name = (
        "exact mode removes unmanaged ACEs, named in words, and keeps defaults, protection"
        " and inherited ACEs"
    )
    change, before = delegation_change(name)
    after = written(before, change.writes[0])
    (back,) = delegation_rollback([record(change.summary())], after).plan.changes
    restored = written(after, back.writes[0])
    assert explicit(restored) == explicit(before)
    aces = dacl.explicit_aces(restored)
    first_allow = next(i for i, a in enumerate(aces) if a.ace_type in (0, 5))
    assert all(a.ace_type in (0, 5) for a in aces[first_allow:]), "deny after allow"


def test_an_ou_changed_since_the_run_is_left_alone() -> None:
    change, before = delegation_change("exact mode replaces a broader ACE by the declared one")
    after = written(before, change.writes[0])
    granted = dacl.ace_from_sddl((change.after or {})["aces"][0]["ace"])
    edited = dacl.edit(after, [], [granted])  # someone took the grant away by hand

    undo = delegation_rollback([record(change.summary())], edited)
    assert undo.moved_on == (HQ,)
    assert undo.plan.empty


def test_an_ace_adsuite_does_not_manage_is_no_reason_to_leave_the_ou_alone() -> None:
    change, before = delegation_change("exact mode replaces a broader ACE by the declared one")
    other = dacl.ace_from_sddl("(A;;RC;;;S-1-5-21-1-2-3-1777)")
    after = dacl.edit(written(before, change.writes[0]), [other], [])

    (back,) = delegation_rollback([record(change.summary())], after).plan.changes
    assert explicit(written(after, back.writes[0])) == explicit(before) + Counter([other])


def test_a_trustee_the_run_created_is_looked_up_by_name_when_the_rollback_is_planned() -> None:
    change, before = delegation_change(
        "a trustee the same playbook creates is granted in the same run, after its creation"
    )
    helpdesk = "S-1-5-21-1-2-3-1190"  # its SID once created; the plan could not know it
    grants = [g.shape.for_sid(helpdesk) for g in change.writes[0].grants]
    after = dacl.edit(before, grants, [])
    created = deleg.entry(
        {
            "dn": f"CN=HQ-Helpdesk,OU=Groups,{HQ}",
            "attributes": {"sAMAccountName": "HQ-Helpdesk", "objectSid": {"sid": helpdesk}},
        }
    )
    (back,) = delegation_rollback([record(change.summary())], after, [created]).plan.changes
    edit = back.writes[0]
    assert isinstance(edit, dacl.DaclEdit)
    assert sorted(edit.revokes, key=repr) == sorted(grants, key=repr)
    images = (back.before or {})["aces"]
    assert [i["trustee"] for i in images] == ["HQ-Helpdesk", "HQ-Helpdesk"]


def test_the_ace_images_change_neither_the_words_nor_the_drift_finding_ids() -> None:
    change, _ = delegation_change("exact mode replaces a broader ACE by the declared one")
    words = Change(
        change.kind, change.action, change.target,
        {k: v for k, v in (change.before or {}).items() if k != "aces"},
        {k: v for k, v in (change.after or {}).items() if k != "aces"},
        change.source, change.writes, change.expect,
    )  # fmt: skip
    assert drift.finding_id(change) == drift.finding_id(words)
    assert drift.describe(change) == drift.describe(words)
    assert "aces" not in drift.describe(change) and "S-1-5" not in drift.describe(change)


def test_an_ace_sddl_cannot_spell_is_journaled_as_bytes_and_read_back_exactly() -> None:
    odd = sdlib.Ace(0, 0x20 | 0x02, 0x10, "S-1-5-11", application_data=b"\0\0\0\0")
    image = dacl.ace_to_sddl(odd)
    assert image.startswith(dacl.HEX)
    assert dacl.ace_from_sddl(image) == odd


# --- privileged: what the allow-list took away comes back, said plainly -------------------

MALLORY = f"CN=mallory,CN=Users,{BASE}"
DOMAIN_ADMINS = f"CN=Domain Admins,CN=Users,{BASE}"
DOMAIN_USERS = f"CN=Domain Users,CN=Users,{BASE}"


def privileged_state(mallory: dict[str, Any], da_members: list[str]) -> PrivilegedState:
    return priv.state(
        {
            "directory": [
                {"name": "Administrator", "rid": 500, "uac": 0x100200},
                {"name": "Domain Admins", "rid": 512, "class": "group"},
                {"name": "mallory", "rid": 1107, **mallory},
            ],
            "groups": {"Domain Admins": {"members": da_members}},
        }
    )


def privileged_rollback(records: Sequence[ChangeRecord], state: PrivilegedState) -> RollbackPlan:
    def read(requests: Sequence[Hashable]) -> dict[Hashable, Any]:
        out: dict[Hashable, Any] = {}
        for request in requests:
            if isinstance(request, PrivilegedRead):
                out[request] = state
            elif isinstance(request, Query):
                wanted = request.filter.lower()
                out[request] = [
                    p.entry for p in state.principals.values() if p.dn.lower() in wanted
                ]
        return out

    def plan_of(playbook: Any) -> Plan:
        return build_plan("group", DOMAIN, desired_by_kind(playbook), read)

    return rollback.build("R1", records, "group", BASE, plan_of)


PRIMARY_MOVE = {
    "kind": "privileged",
    "target": MALLORY,
    "before": {"group": "Domain Admins", "primary_group": "Domain Admins", "also_member_of": []},
    "after": {"group": "Domain Admins", "primary_group": "Domain Users", "also_member_of": []},
}


def test_a_primary_group_move_is_undone_and_the_plan_says_it_restores_hidden_rights() -> None:
    moved = privileged_state({"primary_group": 513}, ["Administrator"])
    undo = privileged_rollback([record(PRIMARY_MOVE)], moved)
    (back,) = undo.plan.changes
    assert back.writes == (
        LdapWrite("modify", DOMAIN_ADMINS, changes={"member": ("add", [MALLORY])}),
        LdapWrite("modify", MALLORY, changes={"primaryGroupID": ("replace", ["512"])}),
        # the directory turns the old primary group into a member value: it had none
        LdapWrite("modify", DOMAIN_USERS, changes={"member": ("delete", [MALLORY])}),
    )
    assert attribute_lines(back) == [
        "primary group: Domain Users → Domain Admins (puts back super-administrator rights no "
        "member list shows: drift unless the privileged task declares it, 五.6)",
    ]
    back_again = privileged_state({"primary_group": 512}, ["Administrator"])
    assert privileged_rollback([record(PRIMARY_MOVE)], back_again).plan.empty


def test_a_primary_group_member_added_again_by_hand_since_the_run_is_left_alone() -> None:
    again = privileged_state({"primary_group": 513, "member_of": ["Domain Admins"]}, [])
    undo = privileged_rollback([record(PRIMARY_MOVE)], again)
    assert undo.moved_on == (MALLORY,)
    assert undo.plan.empty


def test_removed_members_come_back_with_the_allow_list_warning_on_their_line() -> None:
    removal = {
        "kind": "privileged",
        "target": DOMAIN_ADMINS,
        "before": {
            "group": "Domain Admins",
            "removed": [MALLORY],
            "undeclared_holders": ["mallory"],
        },
        "after": {"group": "Domain Admins"},
    }
    state = privileged_state({}, ["Administrator"])
    (back,) = privileged_rollback([record(removal)], state).plan.changes
    assert back.writes == (
        LdapWrite("modify", DOMAIN_ADMINS, changes={"member": ("add", [MALLORY])}),
    )
    assert attribute_lines(back) == [
        f"+ member {MALLORY} (puts back super-administrator rights: drift unless the "
        "privileged task declares it, 五.6)"
    ]
    assert back.after == {"group": "Domain Admins", "added": [MALLORY], "rollback": True}


def test_the_not_delegated_flag_is_cleared_again_and_the_plan_says_what_that_allows() -> None:
    flag = {
        "kind": "privileged",
        "target": f"CN=Administrator,CN=Users,{BASE}",
        "before": {"not_delegated": False},
        "after": {"not_delegated": True},
    }
    state = privileged_state({}, ["Administrator"])
    (back,) = privileged_rollback([record(flag)], state).plan.changes
    assert back.writes == (
        LdapWrite("modify", flag["target"], changes={"userAccountControl": ("replace", ["512"])}),
    )
    assert attribute_lines(back) == [
        "not_delegated: true → false (the built-in Administrator may be delegated again, "
        "which 五.6 forbids)"
    ]


# --- ticketed_membership: a rolled-back grant is approved no longer -----------------------


@dataclass(frozen=True)
class Rollback:
    """An ``adsuite rollback`` run as the journal holds it."""

    start_seq: int
    rolls_back: str
    status: str = "ok"
    mode: str = "rollback"
    ticket: str | None = None

    @property
    def id(self) -> str:
        return f"R{self.start_seq}"

    @property
    def extra(self) -> dict[str, Any]:
        return {"rolls_back": self.rolls_back}


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        pytest.param([elevation(1), Rollback(2, "R1")], {}, id="a rolled-back grant ends"),
        pytest.param(
            [elevation(1), Rollback(2, "R1", status="failed")],
            {"hq-elevated": ["zhang.wei:EL-1"]},
            id="a rollback that failed ends nothing",
        ),
        pytest.param(
            [elevation(1), revoke(2), Rollback(3, "R2")],
            {},
            id="rolling back a revoke grants nothing",
        ),
        pytest.param(
            [elevation(1), Rollback(2, "R1"), Rollback(3, "R2")],
            {},
            id="rolling back the rollback grants nothing",
        ),
        pytest.param(
            [elevation(1), elevation(2), Rollback(3, "R1")],
            {"hq-elevated": ["zhang.wei:EL-2"]},
            id="rolling back an older grant leaves the newer one",
        ),
        pytest.param(
            [elevation(1), Rollback(2, "R1"), elevation(3)],
            {"hq-elevated": ["zhang.wei:EL-3"]},
            id="a new ticket grants again",
        ),
    ],
)
def test_fold_ends_a_grant_whose_run_was_rolled_back(
    runs: list[Any], expected: dict[str, list[str]]
) -> None:
    assert in_force(runs) == expected


def test_the_journal_finds_the_rollbacks_of_given_runs_only(tmp_path: Path) -> None:
    operator = {"os_user": "root"}
    with Journal.open(tmp_path / "journal.sqlite") as journal:
        granted = journal.start_run(mode="apply", operator=operator, ticket="EL-1")
        other = journal.start_run(mode="apply", operator=operator)
        undo = journal.start_run(mode="rollback", operator=operator, extra={"rolls_back": granted})
        journal.start_run(mode="rollback", operator=operator, extra={"rolls_back": other})
        journal.start_run(mode="apply", operator=operator, extra={"rolls_back": granted})
        assert [r.id for r in journal.rollbacks_of([granted])] == [undo]
        assert journal.rollbacks_of([]) == []
