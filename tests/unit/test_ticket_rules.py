"""The approval rules file: what the shipped one says, and `file:line` errors in a bad one."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from adsuite.errors import InputError
from adsuite.tickets import registry
from adsuite.tickets.rules import AnyOf, LoadedRules, load_rules

SHIPPED = Path(__file__).resolve().parents[2] / "playbooks" / "approvals.yml"
REGULATED_TYPES = {
    "new_employee",
    "transfer",
    "leaver",
    "password_reset",
    "personal_device",
    "elevation",
    "elevation_revoke",
    "permission_change",
    "admin_checkout",
}


@pytest.fixture(scope="module")
def shipped() -> LoadedRules:
    return load_rules(SHIPPED, registry.known())


def test_shipped_rules_cover_every_ticket_type_the_regulations_name(shipped: LoadedRules) -> None:
    assert set(shipped.rules.types) == REGULATED_TYPES
    assert set(registry.IMPLEMENTED) <= set(shipped.rules.types)


def test_shipped_rules_say_what_each_clause_asks(shipped: LoadedRules) -> None:
    types = shipped.rules.types
    needs = {name: (rule.clause, rule.requirements()) for name, rule in types.items()}
    assert needs["elevation"] == ("二.1.b", [("department_head",), ("general_manager",)])
    assert needs["permission_change"] == ("五.5", [("data_owner_head",)])
    assert needs["admin_checkout"] == ("五.6", [("it_head",)])
    assert needs["personal_device"] == ("一.3", [("top_manager",)])
    assert needs["new_employee"] == ("五.11", [("hr", "department_head")])
    assert needs["password_reset"] == ("五.9", [])
    assert types["transfer"].clause == "一.1"
    assert list(types["transfer"].confirmations) == ["asset_return"]
    reset = types["password_reset"].confirmations
    assert list(reset) == ["written_request", "identity_verification"]
    assert reset["identity_verification"].fields == ["method", "verified_by"]
    assert types["personal_device"].confirmations["it_security_check"].fields == [
        "checked_by",
        "reference",
    ]


def rules_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "approvals.yml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_rules(path, registry.known())
    return str(caught.value).removeprefix(f"{tmp_path}/")


GOOD_HEAD = """
            roles:
              hr: {what: human resources, held_by: [{group: "{company}-HR"}]}
              general_manager: {what: the general manager, held_by: [{group: "{company}-GM"}]}
            types:"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            """
            roles: {hr: {what: human resources, held_by: [{group: "{company}-HR"}]}}
            types:
              new_employee:
                clause: 五.11
                rule: HR asks
                approvals: [hr, {any_of: [hr, gm]}]
            """,
            "approvals.yml:6: unknown role 'gm' (known: hr)",
        ),
        (
            GOOD_HEAD
            + """
              new_employe:
                clause: 五.11
                rule: HR asks
            """,
            "approvals.yml:5: unknown ticket type 'new_employe' (did you mean 'new_employee'?)",
        ),
        (
            GOOD_HEAD
            + """
              elevation:
                rule: two approvals
                approvals: [hr]
            """,
            "approvals.yml:5: types.elevation needs 'clause'",
        ),
        (
            GOOD_HEAD
            + """
              elevation:
                clause: 二.1.b
                rule: two approvals
                aprovals: [hr]
            """,
            "approvals.yml:8: unknown key 'aprovals' in types.elevation (did you mean 'approvals'?)",
        ),
        (
            """
            roles: {Hr: {what: human resources, held_by: [{group: HR}]}}
            types: {}
            """,
            "approvals.yml:1: role 'Hr' must be lower-case letters, digits and _",
        ),
        (
            GOOD_HEAD
            + """
              transfer:
                clause: 一.1
                rule: assets first
                confirmations:
                  asset_return: {fields: [confirmed_by]}
            """,
            "approvals.yml:9: types.transfer.confirmations.asset_return needs 'what'",
        ),
        (
            """
            roles:
              hr: {what: human resources, held_by: [{group: HR, manager_of: subject}]}
            types: {}
            """,
            "approvals.yml:2: a holder is one of {group: NAME}, "
            "{manager_of: subject}, {named_by: ticket_type}",
        ),
        (
            """
            roles:
              hr: {what: human resources, held_by: [{group: "{code}-HR"}]}
            types: {}
            """,
            "approvals.yml:2: group '{code}-HR' may only use {company}",
        ),
        (
            """
            roles:
              hr: {what: human resources}
            types: {}
            """,
            "approvals.yml:2: roles.hr needs 'held_by'",
        ),
        (
            GOOD_HEAD
            + """
              password_reset:
                clause: 五.9
                rule: not by phone
                confirmations:
                  identity_verification:
                    what: how
                    fields: [verified_by]
                    accepted: {method: [in person]}
            """,
            "approvals.yml:12: accepted values for 'method', which is not one of fields "
            "['verified_by']",
        ),
    ],
    ids=[
        "unknown role",
        "unknown type",
        "missing clause",
        "misspelt key",
        "bad role name",
        "confirmation without words",
        "holder two ways",
        "holder group placeholder",
        "role without holders",
        "accepted value of no field",
    ],
)
def test_a_bad_rules_file_is_one_line_at_the_mistake(
    tmp_path: Path, body: str, expected: str
) -> None:
    assert rules_error(tmp_path, textwrap.dedent(body)) == expected


def test_an_item_is_a_role_or_any_of_roles(tmp_path: Path) -> None:
    path = tmp_path / "approvals.yml"
    body = """
              elevation:
                clause: 二.1.b
                rule: two approvals
                approvals: [hr, {any_of: [hr, general_manager]}]
    """
    path.write_text(textwrap.dedent(GOOD_HEAD + body).lstrip("\n"), encoding="utf-8")
    rule = load_rules(path, registry.known()).rules.types["elevation"]
    assert rule.approvals == ["hr", AnyOf(any_of=["hr", "general_manager"])]
    assert rule.requirements() == [("hr",), ("hr", "general_manager")]
