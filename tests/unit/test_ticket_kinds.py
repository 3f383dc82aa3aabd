"""The resource kinds tickets need: ``computer`` in playbooks, ``password_reset`` only
from a ticket, and a reset's plan that says where the password comes from, never what."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest

from adsuite.engine.loader import load_playbook
from adsuite.engine.planner import build_plan
from adsuite.errors import InputError
from adsuite.formats.ldap_query import Entry, Query
from adsuite.resources import registry
from adsuite.resources.accounts import password_reset
from adsuite.resources.accounts.password_reset import PasswordWrite
from adsuite.resources.base import Desired, Expect, SecretRef
from adsuite.runtime.inventory import Domain, load_inventory
from adsuite.source import Location

INVENTORY = """\
domains:
  group:
    realm: GROUP.EXAMPLE.COM
    base_dn: DC=group,DC=example,DC=com
    netbios: GROUP
    credential: admin
    dcs: {dc1: {ldap_url: "ldaps://127.0.0.1:636"}}
credentials:
  admin: {username: Administrator@GROUP.EXAMPLE.COM}
"""
USER_DN = "CN=zhang.wei,OU=Users,OU=HQ,DC=group,DC=example,DC=com"
DOMAIN = Domain.model_validate(
    {
        "realm": "GROUP.EXAMPLE.COM",
        "base_dn": "DC=group,DC=example,DC=com",
        "netbios": "GROUP",
        "credential": "admin",
        "dcs": {"dc1": {"ldap_url": "ldaps://127.0.0.1:636"}},
    }
)


def playbook_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> str:
    monkeypatch.chdir(tmp_path)
    Path("inventory.yml").write_text(INVENTORY, encoding="utf-8")
    Path("site.yml").write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    inventory = load_inventory(Path("inventory.yml"))
    with pytest.raises(InputError) as caught:
        load_playbook(Path("site.yml"), inventory, registry.specs())
    return str(caught.value)


def test_a_playbook_cannot_reset_a_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = """
    tasks:
      - ou: {path: HQ}
      - password_reset: {user: zhang.wei}
    """
    assert playbook_error(tmp_path, monkeypatch, text) == (
        "site.yml:3: password_reset is carried out by a password_reset ticket (adsuite ticket "
        "apply), never by a playbook: 五.9 needs a written request and a verified identity first"
    )


def test_a_computer_is_named_without_its_dollar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = """
    tasks:
      - computer:
          name: PD-HQ-0042$
          ou: HQ/Personal Devices
    """
    assert playbook_error(tmp_path, monkeypatch, text) == (
        "site.yml:3: bad computer name 'PD-HQ-0042$': give it without the trailing '$'"
    )


def reset_plan(entries: Sequence[Entry], **args: object) -> list[object]:
    spec = password_reset.Spec.model_validate(
        {"user": "zhang.wei", "password": {"credential": "ticket-generated"}, **args},
        context={password_reset.TICKET_CONTEXT: "IT-1"},
    )
    desired = {name: [] for name in registry.KINDS}
    desired["password_reset"] = [Desired(spec, Location("ticket.yml", 9), "reset")]

    def read(queries: Sequence[Query]) -> dict[Query, list[Entry]]:
        return {query: list(entries) for query in queries}

    return list(build_plan("group", DOMAIN, desired, read).changes)


def test_a_reset_shows_where_the_password_comes_from_and_never_a_value() -> None:
    entry = Entry(
        USER_DN,
        {
            "samaccountname": (b"zhang.wei",),
            "pwdlastset": (b"133456789012345678",),
            "lockouttime": (b"133456789000000000",),
            "objectguid": (b"\x01" * 16,),
        },
    )
    (change,) = reset_plan([entry])
    assert change.summary() == {
        "kind": "password_reset",
        "action": "update",
        "target": USER_DN,
        "before": {
            "password": "(current, never shown)",
            "must_change_password": False,
            "locked": True,
        },
        "after": {
            "password": "(new, set from credential ticket-generated)",
            "must_change_password": True,
            "locked": False,
        },
        "source": "ticket.yml:9",
    }
    assert change.writes == (
        PasswordWrite(USER_DN, SecretRef("ticket-generated"), must_change=True, unlock=True),
    )
    assert change.expect == Expect(True, raw={"objectGUID": (b"\x01" * 16,)})


def test_a_reset_of_an_unlocked_account_does_not_unlock_it() -> None:
    entry = Entry(USER_DN, {"samaccountname": (b"zhang.wei",), "pwdlastset": (b"0",)})
    (change,) = reset_plan([entry], unlock=True)
    assert change.before == {"password": "(current, never shown)", "must_change_password": True}
    assert change.writes[0].unlock is False


def test_a_reset_of_a_missing_user_is_refused_at_the_ticket_line() -> None:
    with pytest.raises(InputError) as caught:
        reset_plan([])
    assert str(caught.value) == "ticket.yml:9: no user named 'zhang.wei' in the domain"
