"""``ticketed_membership`` as data, and the fold of journal runs into grants in force.

Each case in plan_cases/ticketed_membership/ gives a task, the group's members and the
grants in force as the reader would return them; the harness plans through the real
planner and compares the drift findings (in words), the plan's lines and the members
removed. The fold is fed run records as the journal holds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers import load_cases
from test_plan_cases import DOMAIN

from adsuite.cli.render import attribute_lines
from adsuite.engine import drift
from adsuite.engine.planner import Plan, build_plan
from adsuite.errors import InputError
from adsuite.formats.ldap_query import Entry, Query
from adsuite.resources import registry
from adsuite.resources.base import Desired, Expect, LdapWrite
from adsuite.resources.membership.tickets import (
    SOURCES,
    GroupTickets,
    Member,
    TicketMembersRead,
    fold,
    grant_record,
)
from adsuite.resources.membership.tickets import Grant as TicketGrant
from adsuite.source import Location

CASES = Path(__file__).parent / "plan_cases" / "ticketed_membership"
BASE = "DC=group,DC=example,DC=com"
GROUP_DN = f"CN=HQ-Elevated,OU=Groups,OU=HQ,{BASE}"
APPROVERS = ("li.dept (department_head)", "wang.gm (general_manager)")


def user_dn(name: str) -> str:
    return f"CN={name},OU=Users,OU=HQ,{BASE}"


def member(data: str | dict[str, str]) -> Member:
    if isinstance(data, str):
        return Member(user_dn(data), data)
    return Member(data["dn"], data["name"])


def grant(data: dict[str, Any]) -> TicketGrant:
    dn = data["dn"] if "dn" in data else user_dn(data["member"])
    return TicketGrant(data["ticket"], f"R-{data['ticket']}", data["member"], APPROVERS, dn)


def plan_of(case: dict[str, Any]) -> Plan:
    tasks = case.get("tasks") or [{"ticketed_membership": case["task"]}]
    desired: dict[str, list[Desired]] = {name: [] for name in registry.KINDS}
    for line, task in enumerate(tasks, start=1):
        ((kind, args),) = task.items()
        spec = registry.KINDS[kind].spec.model_validate(args)
        desired[kind].append(Desired(spec, Location("case.yml", line), f"task {line}"))
    state = GroupTickets(
        None if case.get("absent") else GROUP_DN,
        tuple(member(m) for m in case.get("members") or []),
        tuple(grant(g) for g in case.get("grants") or []),
    )
    group = Entry(GROUP_DN, {"samaccountname": (b"HQ-Elevated",)})

    def read(requests: Sequence[Any]) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for request in requests:
            if isinstance(request, TicketMembersRead):
                out[request] = state
            elif isinstance(request, Query):
                out[request] = [] if case.get("absent") else [group]
        return out

    return build_plan("group", DOMAIN, desired, read)


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("case", load_cases(CASES / "cases.yml", label=lambda _, c: c["name"]))
def test_ticketed_membership_case(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises((InputError, ValueError)) as raised:
            plan_of(case)
        assert case["error"] in one_line(str(raised.value))
        return
    plan = plan_of(case)
    found = drift.findings(plan)
    assert [f.text for f in found] == [one_line(t) for t in case["findings"]]
    if "severities" in case:
        assert [f.severity for f in found] == case["severities"]
    if "plan" in case:
        assert [line for c in plan.changes for line in attribute_lines(c)] == [
            one_line(t) for t in case["plan"]
        ]
    if "removed" in case:
        (change,) = [c for c in plan.changes if c.kind == "ticketed_membership"]
        assert change.writes == (
            LdapWrite("modify", GROUP_DN, changes={"member": ("delete", case["removed"])}),
        )
        assert change.expect == Expect(True, has_dns={"member": tuple(case["removed"])})


def test_each_member_without_a_ticket_is_a_finding_of_its_own_across_checks() -> None:
    """drift --compare must call a second unapproved member new, though the first persists."""
    base = {"task": {"group": "HQ-Elevated", "ticket_type": "elevation"}, "grants": []}
    first = drift.findings(plan_of({**base, "members": ["wang.fang"]}))
    again = drift.findings(plan_of({**base, "members": ["wang.fang"]}))
    more = drift.findings(plan_of({**base, "members": ["wang.fang", "li.si"]}))
    assert [f.id for f in first] == [f.id for f in again]
    assert [f.id for f in first] != [f.id for f in more]


@dataclass(frozen=True)
class Run:
    """A journal run as :func:`fold` reads it (adsuite.journal.records.RunRecord)."""

    start_seq: int
    ticket: str | None
    kind: str
    record: dict[str, Any]
    status: str = "ok"
    mode: str = "apply"
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"R{self.start_seq}"

    @property
    def extra(self) -> dict[str, Any]:
        satisfied = [{"name": "li.dept", "role": "department_head"}]
        ticket = {"id": self.ticket, "type": self.kind, "parameters": self.parameters}
        return {
            "ticket": ticket,
            "record": self.record,
            "approval_rules": {"satisfied": satisfied},
        }


def elevation(seq: int, member: str = "zhang.wei", **kw: Any) -> Run:
    return Run(seq, f"EL-{seq}", "elevation", grant_record("grant", "HQ-Elevated", member), **kw)


def revoke(seq: int, member: str = "zhang.wei", **kw: Any) -> Run:
    record = grant_record("revoke", "HQ-Elevated", member)
    return Run(seq, f"EL-{seq}", "elevation_revoke", record, **kw)


def in_force(runs: Sequence[Run]) -> dict[str, list[str]]:
    folded = fold(runs, SOURCES["elevation"])
    return {g: [f"{m}:{x.ticket}" for m, x in members.items()] for g, members in folded.items()}


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        pytest.param([elevation(1)], {"hq-elevated": ["zhang.wei:EL-1"]}, id="a grant"),
        pytest.param([elevation(1), revoke(2)], {}, id="revoked"),
        pytest.param([revoke(2), elevation(1)], {}, id="journal order, not list order"),
        pytest.param(
            [elevation(1), revoke(2), elevation(3)],
            {"hq-elevated": ["zhang.wei:EL-3"]},
            id="granted again after a revoke",
        ),
        pytest.param(
            [elevation(1), elevation(2)],
            {"hq-elevated": ["zhang.wei:EL-2"]},
            id="a later grant replaces the earlier",
        ),
        pytest.param([elevation(1, status="failed")], {}, id="a failed run grants nothing"),
        pytest.param([elevation(1, mode="rollback")], {}, id="only apply runs count"),
        pytest.param(
            [elevation(1), revoke(2, status="conflict")],
            {"hq-elevated": ["zhang.wei:EL-1"]},
            id="a revoke that did not apply ends nothing",
        ),
        pytest.param(
            [Run(1, "EL-1", "elevation_revoke", grant_record("grant", "HQ-Elevated", "x"))],
            {},
            id="a revoke ticket never grants",
        ),
        pytest.param(
            [
                elevation(1),
                elevation(2, member="li.na"),
                Run(
                    3,
                    "LV-3",
                    "leaver",
                    {"member_of": [{"name": "HQ-Elevated", "dn": GROUP_DN}]},
                    parameters={"user": "Zhang.Wei"},
                ),
            ],
            {"hq-elevated": ["li.na:EL-2"]},
            id="a leaver's run ends it",
        ),
        pytest.param(
            [
                elevation(1),
                Run(
                    2,
                    "TR-2",
                    "transfer",
                    {"groups_removed": ["HQ-Elevated", "HQ-Restricted"]},
                    parameters={"user": "zhang.wei"},
                ),
            ],
            {},
            id="a transfer's run ends it",
        ),
        pytest.param(
            [Run(1, "EL-1", "elevation", {"membership_ticket": {"action": "grant"}})],
            {},
            id="an unreadable record grants nothing",
        ),
    ],
)
def test_fold_keeps_the_grants_in_force(runs: list[Run], expected: dict[str, list[str]]) -> None:
    assert in_force(runs) == expected


def test_a_grant_names_its_ticket_run_and_approvers() -> None:
    (found,) = fold([elevation(7)], SOURCES["elevation"])["hq-elevated"].values()
    assert found.words() == "ticket EL-7 (run R7, approved by li.dept (department_head))"
