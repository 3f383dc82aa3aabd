"""A planned account create holds a recipe for its LDAP add, not the add itself.

A plan of 200,000 creates held 200,000 attribute dicts (a dict and a list per value)
from planning to the end of apply. Each create's add is now a ``Recipe``: the function
and the inputs the plan holds anyway, built into the same dict whenever it is read.
"""

from __future__ import annotations

import gc
from typing import Any

from test_plan_cases import DOMAIN, desired

from adsuite.engine.planner import build_plan
from adsuite.formats.ldap_query import Entry
from adsuite.resources.accounts.group import group_type
from adsuite.resources.base import Action, Change, LdapWrite, Recipe, SecretRef

BOSS = "CN=boss,OU=Users,OU=HQ,DC=group,DC=example,DC=com"


def _plan(
    tasks: list[dict[str, Any]], found: tuple[Entry, ...] = (), items: Any = None
) -> tuple[Change, ...]:
    def read(queries: Any) -> dict[Any, list[Entry]]:
        return {q: list(found) for q in queries}

    return build_plan("group", DOMAIN, items or desired(tasks), read).changes


def _add(change: Change) -> LdapWrite:
    (write,) = change.writes
    assert isinstance(write, LdapWrite) and write.op == "add"
    return write


def _held(obj: object) -> list[object]:
    """Everything *obj* holds, and what the tuples among those hold."""
    out: list[object] = []
    for held in gc.get_referents(obj):
        out.append(held)
        if isinstance(held, tuple):
            out += _held(held)
    return out


def test_a_created_users_add_holds_its_spec_and_no_attribute_dict_or_list() -> None:
    tasks = [{"user": {"name": "li.na", "ou": "HQ/Users", "given_name": "娜", "manager": "boss"}}]
    boss = Entry(BOSS, {"samaccountname": (b"boss",), "objectclass": (b"user",)})
    items = desired(tasks)
    (change,) = _plan(tasks, (boss,), items)
    add = _add(change)
    assert isinstance(add.attributes, Recipe)
    held = _held(add.attributes)
    assert not [h for h in held if isinstance(h, dict | list)]
    assert any(h is items["user"][0].spec for h in held)  # the task's own spec, not a copy
    assert BOSS in held  # the manager's DN as resolved when the plan was made


def test_the_recipe_builds_the_add_in_the_order_it_was_always_sent_each_time_anew() -> None:
    tasks = [
        {
            "user": {
                "name": "li.na",
                "ou": "HQ/Users",
                "upn": "na.li@group.example.com",
                "given_name": "娜",
                "surname": "李",
                "description": "",
                "manager": "boss",
                "password": {"credential": "li-na-initial"},
                "must_change_password": True,
            }
        }
    ]
    boss = Entry(BOSS, {"samaccountname": (b"boss",), "objectclass": (b"user",)})
    (change,) = _plan(tasks, (boss,))
    recipe = _add(change).attributes
    assert isinstance(recipe, Recipe)
    expected = [
        ("objectClass", ["user"]),
        ("sAMAccountName", ["li.na"]),
        ("userAccountControl", ["512"]),
        ("unicodePwd", SecretRef("li-na-initial")),
        ("pwdLastSet", ["0"]),
        ("userPrincipalName", ["na.li@group.example.com"]),
        ("givenName", ["娜"]),
        ("sn", ["李"]),
        ("manager", [BOSS]),
    ]
    assert list(recipe.items()) == expected
    first, second = recipe.built(), recipe.built()
    assert first == second and first is not second  # built when read, not kept
    assert dict(recipe) == first and recipe == first and recipe.get("sn") == ["李"]


def test_a_manager_created_in_the_same_run_is_left_out_of_the_add_and_set_in_phase_1() -> None:
    tasks = [
        {"user": {"name": "new.boss", "ou": "HQ/Users", "enabled": False}},
        {"user": {"name": "li.na", "ou": "HQ/Users", "enabled": False, "manager": "new.boss"}},
    ]
    changes = _plan(tasks)
    creates = {c.target: _add(c).attributes for c in changes if c.action is Action.CREATE}
    li_na = creates["CN=li.na,OU=Users,OU=HQ,DC=group,DC=example,DC=com"]
    assert list(li_na) == [
        "objectClass",
        "sAMAccountName",
        "userAccountControl",
        "userPrincipalName",
    ]
    (later,) = [c for c in changes if c.phase == 1]
    (write,) = later.writes
    assert isinstance(write, LdapWrite) and "manager" in write.changes


def test_groups_and_computers_build_their_adds_from_the_spec() -> None:
    tasks = [
        {"group": {"name": "HQ-IT", "ou": "HQ/Groups", "scope": None, "description": "IT"}},
        {"computer": {"name": "pc1", "ou": "HQ/PCs", "enabled": False, "managed_by": BOSS}},
    ]
    adds = {c.kind: _add(c).attributes for c in _plan(tasks)}
    assert adds["group"] == {
        "objectClass": ["group"],
        "sAMAccountName": ["HQ-IT"],
        "groupType": [str(group_type("global", "security"))],
        "description": ["IT"],
    }
    assert list(adds["computer"].items())[:3] == [
        ("objectClass", ["computer"]),
        ("sAMAccountName", ["PC1$"]),
        ("userAccountControl", [str(0x1000 | 0x2)]),
    ]
    assert adds["computer"]["managedBy"] == [BOSS]
