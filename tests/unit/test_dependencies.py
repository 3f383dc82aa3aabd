"""Which changes apply skips after a failure, as data: a plan and its failures in, the
skipped positions (and the failure each depends on) out. No directory is involved: the
rule only reads what the plan holds (engine/dependencies.py)."""

from __future__ import annotations

from typing import Any

from adsuite.engine.dependencies import Dependencies, Failure, skipped
from adsuite.resources.base import Action, Change, Expect, LdapWrite
from adsuite.resources.delegation.dacl import AceShape, DaclEdit, Grant

BASE = "DC=group,DC=example,DC=com"
OU = f"OU=Branch,{BASE}"
OTHER = f"OU=Other,{BASE}"
USER = f"CN=Ann Lee,{OU}"
GROUP = f"CN=Branch Staff,OU=Groups,{BASE}"
GPO = f"CN={{31B2F340-016D-11D2-945F-00C04FB984F9}},CN=Policies,CN=System,{BASE}"


def change(
    kind: str,
    target: str,
    action: Action = Action.CREATE,
    after: dict[str, Any] | None = None,
    writes: tuple[Any, ...] = (),
    phase: int = 0,
) -> Change:
    return Change(kind, action, target, None, after or {}, None, writes, Expect(None), phase)


def create(kind: str, dn: str, **attributes: Any) -> Change:
    return change(kind, dn, writes=(LdapWrite("add", dn, attributes=attributes),))


def ou(dn: str, action: Action = Action.CREATE) -> Change:
    return create("ou", dn) if action is Action.CREATE else change("ou", dn, action)


def members(group: str, *dns: str) -> Change:
    write = LdapWrite("modify", group, changes={"member": ("add", list(dns))})
    return change("membership", group, Action.UPDATE, {"added": list(dns)}, (write,))


def test_an_independent_change_goes_on_after_a_failed_one() -> None:
    plan = (ou(OU), ou(OTHER), create("group", GROUP, sAMAccountName="Branch Staff"))
    assert skipped(plan, {1: "failed"}) == {}


def test_a_child_of_an_object_the_run_failed_to_create_is_skipped() -> None:
    plan = (ou(OU), ou(f"OU=Sub,{OU}"), create("user", USER), ou(OTHER))
    assert skipped(plan, {1: "failed"}) == {2: 1, 3: 1}


def test_a_failed_update_of_an_existing_object_does_not_stop_its_children() -> None:
    plan = (ou(OU, Action.UPDATE), create("user", USER))
    assert skipped(plan, {1: "failed"}) == {}


def test_the_same_objects_later_phase_is_skipped() -> None:
    manager = change("user", USER, Action.UPDATE, {"manager": GROUP}, phase=1)
    plan = (change("user", USER, Action.UPDATE, {"title": "x"}), ou(OTHER), manager)
    assert skipped(plan, {1: "conflict"}) == {3: 1}


def test_a_membership_naming_an_object_not_created_is_skipped_and_others_are_not() -> None:
    plan = (
        create("group", GROUP, sAMAccountName="Branch Staff"),
        create("user", f"CN=Bob,{OTHER}", sAMAccountName="bob"),
        members(f"CN=Admins,{BASE}", f"CN=Bob,{OTHER}"),
        members(GROUP, f"CN=Bob,{OTHER}"),  # the group itself was not created
        members(f"CN=Readers,{BASE}", GROUP.upper()),  # names it, spelt otherwise
    )
    assert skipped(plan, {1: "failed"}) == {4: 1, 5: 1}


def test_dn_references_a_managed_by_and_a_gplink_naming_what_was_not_created() -> None:
    managed = change("group", f"CN=Sales,{BASE}", Action.UPDATE, {"managedBy": GROUP}, phase=1)
    link = LdapWrite(
        "modify", OTHER, changes={"gPLink": ("replace", [f"[LDAP://{GPO.lower()};0]"])}
    )
    linked = change("gpo", OTHER, Action.UPDATE, {"link Baseline": "enabled"}, (link,), 1)
    gpo = change("gpo", '"Baseline"', writes=(LdapWrite("add", GPO),))
    plan = (create("group", GROUP, sAMAccountName="Branch Staff"), gpo, managed, linked)
    assert skipped(plan, {1: "failed", 2: "failed"}) == {3: 1, 4: 2}


def test_a_delegation_to_a_trustee_the_run_failed_to_create_is_skipped() -> None:
    shape = AceShape(flags=0, mask=1)
    grant = DaclEdit(OTHER, BASE, (Grant("branch staff", None, shape),), ())
    delegated = change("delegation", OTHER, Action.UPDATE, {"x": "granted"}, (grant,))
    elsewhere = DaclEdit(OTHER, BASE, (Grant("Helpdesk", "S-1-5-21-1-2-3-1105", shape),), ())
    other = change("delegation", f"OU=Third,{BASE}", Action.UPDATE, {}, (elsewhere,))
    plan = (create("group", GROUP, sAMAccountName="Branch Staff"), other, delegated)
    assert skipped(plan, {1: "failed"}) == {3: 1}


def test_a_failed_delete_skips_the_delete_of_its_container_only() -> None:
    plan = (
        change("user", USER, Action.DELETE),
        change("group", GROUP, Action.DELETE),
        ou(OU, Action.DELETE),
    )
    assert skipped(plan, {1: "failed"}) == {3: 1}


def test_skips_are_transitive_and_name_the_first_failure() -> None:
    plan = (ou(OU), create("user", USER, sAMAccountName="alee"), members(GROUP, USER))
    assert skipped(plan, {1: "failed"}) == {2: 1, 3: 1}


def test_a_folder_under_one_not_created_is_skipped_a_sibling_is_not() -> None:
    top, sub, sibling = "\\\\fs1\\data\\HQ", "\\\\fs1\\data\\HQ\\Finance", "\\\\fs1\\data\\HQ2"
    plan = (change("file_acl", top), change("file_acl", sub), change("file_acl", sibling))
    assert skipped(plan, {1: "failed"}) == {2: 1}


def test_the_reason_names_the_change_it_depends_on() -> None:
    deps = Dependencies()
    deps.fail(ou(OU), Failure(3, ou(OU), "failed"))
    blocker = deps.blocker(create("user", USER))
    assert blocker is not None
    assert blocker.reason() == f"depends on the failed change 3 (ou {OU})"
    conflict = Failure(4, ou(OU), "conflict").reason()
    assert conflict == f"depends on the conflicting change 4 (ou {OU})"
