"""The shared lifecycle of plain directory objects and its one list vocabulary (``mode``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from one_company import load_in

from adsuite.engine.loader import load_playbook
from adsuite.errors import InputError
from adsuite.formats.ldap_query import Entry, Query
from adsuite.resources import attributes as attrs
from adsuite.resources import registry
from adsuite.resources.base import Action, Desired, Expect, LdapWrite, PlanContext
from adsuite.resources.directory import lifecycle as objects
from adsuite.runtime.inventory import Inventory
from adsuite.source import Location

BASE = "DC=group,DC=example,DC=com"
PSO = """\
tasks:
  - pso:
      name: Strict
      precedence: 10
      min_length: 12
      history: 24
      complexity: true
      reversible_encryption: false
      min_age: 1
      max_age: 90
      lockout_threshold: 5
      lockout_window: 30
      lockout_duration: 30
      applies_to: [HQ-IT-Admins]
"""


@pytest.fixture
def inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Inventory:
    monkeypatch.chdir(tmp_path)
    return load_in(tmp_path)


def test_a_pso_giving_mode_and_its_old_name_is_one_line_naming_mode(
    inventory: Inventory,
) -> None:
    Path("pb.yml").write_text(PSO + "      mode: add\n      applies_to_mode: add\n")
    with pytest.raises(InputError) as caught:
        load_playbook(Path("pb.yml"), inventory, registry.specs())
    message = str(caught.value)
    assert message.startswith("pb.yml:"), message
    assert "\n" not in message
    assert "'applies_to_mode' is the old name of 'mode': give only 'mode'" in message


@pytest.mark.parametrize("key", ["mode", "applies_to_mode"])
def test_a_pso_mode_loads_under_either_spelling(inventory: Inventory, key: str) -> None:
    Path("pb.yml").write_text(PSO + f"      {key}: remove\n")
    playbook = load_playbook(Path("pb.yml"), inventory, registry.specs())
    (task,) = [t for play in playbook.plays for t in play.tasks]
    assert task.spec.mode == "remove"  # type: ignore[attr-defined]


# A kind with nothing special: only a table, a DN rule and its wanted values.
QUERY = Query(f"CN=Things,{BASE}", "(objectClass=thing)", ("description", "objectGUID"), "one")
PLAIN = objects.ObjectKind(
    "thing",
    "thing",
    (attrs.Attr("description", "description"),),
    found=lambda ctx: objects.by_key(ctx.entries(QUERY)),
    dn=lambda item, ctx: f"CN={item.task},CN=Things,{BASE}",
    want=lambda item, ctx: {"description": item.spec.description},  # type: ignore[attr-defined]
    present=lambda item: item.spec.state == "present",  # type: ignore[attr-defined]
)


def thing(name: str, description: str | None, state: str = "present") -> Desired:
    from pydantic import BaseModel

    class Spec(BaseModel):
        description: str | None
        state: str

    return Desired(Spec(description=description, state=state), Location("t.yml", 1), name)


def facts(*entries: Entry) -> PlanContext:
    return PlanContext(BASE, "GROUP.EXAMPLE.COM", {QUERY: entries})


def found(name: str, description: str) -> Entry:
    values = {"description": (description.encode(),), "objectguid": (b"guid-" + name.encode(),)}
    return Entry(f"CN={name},CN=Things,{BASE}", values)


def test_a_missing_object_is_added_with_only_the_values_it_has() -> None:
    (change,) = PLAIN.plan([thing("A", "")], facts())
    assert change.action is Action.CREATE and change.after == {}
    add = LdapWrite("add", f"CN=A,CN=Things,{BASE}", attributes={"objectClass": ["thing"]})
    assert change.writes == (add,) and change.expect == Expect(False)


def test_an_update_rewrites_what_differs_and_expects_its_raw_values_and_guid() -> None:
    (change,) = PLAIN.plan([thing("A", "new")], facts(found("A", "old")))
    assert (change.before, change.after) == ({"description": "old"}, {"description": "new"})
    raw = {"description": (b"old",), "objectGUID": (b"guid-A",)}
    assert change.expect == Expect(True, raw=raw)
    assert PLAIN.plan([thing("A", "old")], facts(found("A", "old"))) == []


def test_an_absent_object_is_deleted_once_and_recorded_as_being_deleted() -> None:
    ctx = facts(found("A", "x"))
    (change,) = PLAIN.plan([thing("A", None, "absent"), thing("B", None, "absent")], ctx)
    assert change.action is Action.DELETE and change.before == {"description": "x"}
    assert change.expect == Expect(True, raw={"objectGUID": (b"guid-A",)})
    assert f"cn=a,cn=things,{BASE.lower()}" in ctx.deleting
