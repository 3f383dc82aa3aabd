"""Approvers against the directory, as data: accounts and role groups in, verdict out.

The facts are what the bulk reads return (:class:`Found` accounts with their direct
groups and manager, role groups by name); the rules are the shipped approvals.yml.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from adsuite.errors import InputError
from adsuite.tickets import approvers, registry
from adsuite.tickets.base import Account, Found, Needs, Scope
from adsuite.tickets.model import TicketFile, parse_ticket
from adsuite.tickets.rules import Binding, LoadedRules, load_rules

SHIPPED = Path(__file__).resolve().parents[2] / "playbooks" / "approvals.yml"
BASE = "DC=group,DC=example,DC=com"
ELEVATION = """
id: EL-1
type: elevation
requester: wang.fang
approvals:
  - {name: hq.fin.head, role: department_head, time: "2026-11-27T09:30:00+08:00"}
  - {name: hq.gm, role: general_manager, time: "2026-11-27T11:00:00+08:00"}
parameters: {company: HQ, user: wang.fang, reason: CAD plug-ins}
"""
HQ = Scope(("HQ",), "wang.fang", None)


def dn(name: str, code: str = "HQ", ou: str = "Users") -> str:
    return f"CN={name},OU={ou},OU={code},{BASE}".lower()


def group(name: str, code: str = "HQ") -> Account:
    return Account(name, dn(name, code, "Groups"), "group")


def user(name: str, *groups: str, enabled: bool = True, code: str = "HQ") -> Account:
    member_of = frozenset(dn(g, g.split("-")[0], "Groups") for g in groups)
    return Account(name, dn(name, code), "user", enabled, member_of=member_of)


GROUPS = {g.name.lower(): g for g in map(group, ("HQ-GM", "HQ-Department-Heads", "HQ-HR"))}
PEOPLE = (
    user("wang.fang"),
    user("hq.fin.head", "HQ-Department-Heads"),
    user("hq.gm", "HQ-GM"),
    user("hq.hr", "HQ-HR"),
    user("hantong.gm", "HANTONG-GM", code="HANTONG"),
)


@pytest.fixture(scope="module")
def rules() -> LoadedRules:
    return load_rules(SHIPPED, registry.known())


def ticket(text: str = ELEVATION, old: str = "", new: str = "") -> TicketFile:
    body = textwrap.dedent(text).lstrip("\n").replace(old, new) if old else text.lstrip("\n")
    return parse_ticket(body, "ticket.yml", as_json=False)


def found(*accounts: Account) -> Found:
    return Found({a.name.lower(): a for a in accounts}, frozenset(), {})


def verdict(
    rules: LoadedRules,
    file: TicketFile,
    people: tuple[Account, ...] = PEOPLE,
    scope: Scope = HQ,
    bindings: dict[str, Binding] | None = None,
) -> str:
    """'' when the ticket's people pass, else the one-line refusal."""
    try:
        approvers.verify(file, rules, found(*people), GROUPS, scope, bindings or {})
    except InputError as error:
        return str(error)
    return ""


def test_approvers_who_are_members_of_their_companys_role_groups_pass(rules: LoadedRules) -> None:
    assert verdict(rules, ticket()) == ""


def test_an_approver_who_does_not_exist_is_refused_naming_the_clause(rules: LoadedRules) -> None:
    file = ticket(ELEVATION, "hq.fin.head", "li.dept")
    assert verdict(rules, file) == (
        "ticket.yml:5: approver li.dept does not exist in the directory (二.1.b)"
    )


def test_a_disabled_approver_is_refused(rules: LoadedRules) -> None:
    people = (*PEOPLE[:2], user("hq.gm", "HQ-GM", enabled=False))
    assert verdict(rules, ticket(), people) == (
        "ticket.yml:6: approver hq.gm is disabled; a disabled account neither asks nor "
        "approves (二.1.b)"
    )


def test_an_approver_outside_the_role_group_does_not_hold_the_role(rules: LoadedRules) -> None:
    file = ticket(ELEVATION, "name: hq.gm", "name: hq.hr")
    assert verdict(rules, file) == (
        "ticket.yml:6: approver hq.hr does not hold the role general_manager: not a member "
        "of HQ-GM (二.1.b)"
    )


def test_another_companys_general_manager_does_not_approve_for_this_one(
    rules: LoadedRules,
) -> None:
    file = ticket(ELEVATION, "name: hq.gm", "name: hantong.gm")
    assert verdict(rules, file).endswith("not a member of HQ-GM (二.1.b)")
    both = Scope(("HQ", "HANTONG"), "wang.fang", None)
    groups = {**GROUPS, "hantong-gm": group("HANTONG-GM", "HANTONG")}
    approvers.verify(file, rules, found(*PEOPLE), groups, both, {})


def test_a_look_alike_group_elsewhere_does_not_make_a_holder(rules: LoadedRules) -> None:
    """Membership is checked by the DN of the group named HQ-GM, not by a CN."""
    fake = Account("hq.hr", dn("hq.hr"), "user", True, member_of=frozenset({dn("HQ-GM", "X")}))
    file = ticket(ELEVATION, "name: hq.gm", "name: hq.hr")
    assert "does not hold the role general_manager" in verdict(rules, file, (*PEOPLE[:2], fake))


def test_the_department_head_may_be_the_users_manager(rules: LoadedRules) -> None:
    boss = user("li.na")
    file = ticket(ELEVATION, "hq.fin.head", "li.na")
    assert verdict(rules, file, (*PEOPLE, boss)) == (
        "ticket.yml:5: approver li.na does not hold the role department_head: not the "
        "manager of wang.fang or a member of HQ-Department-Heads (二.1.b)"
    )
    managed = Scope(("HQ",), "wang.fang", boss.dn.upper())
    assert verdict(rules, file, (*PEOPLE, boss), managed) == ""


def test_a_requester_who_does_not_exist_or_is_disabled_is_refused(rules: LoadedRules) -> None:
    assert verdict(rules, ticket(), PEOPLE[1:]) == (
        "ticket.yml:3: requester wang.fang does not exist in the directory (二.1.b)"
    )
    people = (user("wang.fang", enabled=False), *PEOPLE[1:])
    assert verdict(rules, ticket(), people).startswith(
        "ticket.yml:3: requester wang.fang is disabled"
    )


def test_an_approver_must_be_a_user_not_a_group(rules: LoadedRules) -> None:
    file = ticket(ELEVATION, "name: hq.gm", "name: HQ-GM")
    people = (*PEOPLE, group("HQ-GM"))
    assert verdict(rules, file, people) == (
        "ticket.yml:6: approver HQ-GM is a group, not a user (二.1.b)"
    )


def test_the_data_owner_head_is_the_person_the_ticket_type_names(rules: LoadedRules) -> None:
    text = """
    id: PC-1
    type: permission_change
    requester: wang.fang
    approvals:
      - {name: hq.fin.head, role: data_owner_head, time: "2026-11-27T09:30:00+08:00"}
    parameters: {host: fs1, share: data, path: HQ/Finance, grant: {who: HQ-HR, rights: read}}
    """
    named = {"data_owner_head": Binding(frozenset({"hq.fin.head"}), "hq.fin.head")}
    assert verdict(rules, ticket(text), scope=Scope(), bindings=named) == ""
    assert verdict(rules, ticket(text), scope=Scope()) == (
        "ticket.yml:5: approver hq.fin.head does not hold the role data_owner_head: not "
        "the person this ticket names (五.5)"
    )


def test_one_search_reads_every_person_and_one_the_role_groups(rules: LoadedRules) -> None:
    file = ticket()
    needs = approvers.with_people(Needs(names=("wang.fang", "HQ-Elevated")), file)
    assert set(needs.names) == {"wang.fang", "HQ-Elevated", "hq.fin.head", "hq.gm"}
    rule = rules.rule_for(file)
    assert approvers.role_groups(rules, rule, Scope(("HQ", "HANTONG"))) == (
        "HANTONG-Department-Heads",
        "HANTONG-GM",
        "HQ-Department-Heads",
        "HQ-GM",
    )
