"""AppLocker rules of a GPO as data: declared collections in, Registry.pol values and
per-rule words out, with no server. The rule XML is read back with ElementTree."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import pytest
from pydantic import ValidationError

from adsuite.formats.registry_pol import parse_registry_pol, serialize_registry_pol
from adsuite.resources.gpo.admin_templates import Diff, plan_registry
from adsuite.resources.gpo.applocker import ROOT, AppLocker, rule_id
from adsuite.resources.gpo.spec import MachineHalf

MICROSOFT = "O=MICROSOFT CORPORATION, L=REDMOND, S=WASHINGTON, C=US"
POL = "Machine/Registry.pol"


def machine(applocker: dict[str, Any], registry: list[Any] | None = None) -> MachineHalf:
    return MachineHalf.model_validate({"registry": registry, "applocker": applocker})


def rules_of(half: MachineHalf) -> dict[str, ElementTree.Element]:
    """Rule key -> the rule's XML element, as an independent XML parser reads it."""
    return {
        p.key: ElementTree.fromstring(str(p.data))
        for p in half.pol_policies() or []
        if p.value == "Value"
    }


def test_exe_collection_is_written_under_srpv2_with_mode_and_default_rules() -> None:
    half = machine({"exe": {"mode": "audit", "allow": [{"publisher": MICROSOFT}]}})
    values = {(p.key, p.value): p.data for p in half.pol_policies() or []}
    assert values[(f"{ROOT}\\Exe", "EnforcementMode")] == 0
    assert values[(f"{ROOT}\\Exe", "AllowWindows")] == 0
    rules = rules_of(half)
    paths = {
        (r.get("UserOrGroupSid"), c.get("Path"))
        for r in rules.values()
        for c in r.iter("FilePathCondition")
    }
    assert paths == {
        ("S-1-1-0", "%PROGRAMFILES%\\*"),
        ("S-1-1-0", "%WINDIR%\\*"),
        ("S-1-5-32-544", "*"),
    }
    (publisher,) = [c for r in rules.values() for c in r.iter("FilePublisherCondition")]
    assert publisher.attrib == {"PublisherName": MICROSOFT, "ProductName": "*", "BinaryName": "*"}
    for key, rule in rules.items():
        assert key == f"{ROOT}\\Exe\\{rule.get('Id')}"  # the key is the rule's Id
        assert rule.get("Action") == "Allow"


def test_rule_ids_depend_on_what_the_rule_says_not_on_its_order_or_name() -> None:
    one = machine({"exe": {"allow": [{"path": "%OSDRIVE%\\Tools\\*"}, {"publisher": MICROSOFT}]}})
    two = machine(
        {"exe": {"allow": [{"publisher": MICROSOFT}, {"path": "%OSDRIVE%\\Tools\\*", "name": "x"}]}}
    )
    assert set(rules_of(one)) == set(rules_of(two))
    other = machine({"exe": {"allow": [{"path": "%OSDRIVE%\\Other\\*"}]}})
    assert set(rules_of(other)) != set(rules_of(one))


def test_the_same_rule_in_two_collections_has_two_ids() -> None:
    policy = AppLocker.model_validate({"exe": {}, "script": {}})
    ids = [k for k, v, _, _ in policy.entries() if v == "Value"]
    assert len(ids) == len(set(ids)) == 6


def test_written_pol_round_trips_and_plans_nothing_the_second_time() -> None:
    half = machine({"exe": {"allow": [{"publisher": MICROSOFT}]}}, registry=[])
    first = Diff()
    plan_registry(first, "Machine", POL, half.pol_policies() or [], None)
    written = first.files[POL]
    assert written is not None
    assert len(parse_registry_pol(written)) == 6
    again = Diff()
    plan_registry(again, "Machine", POL, half.pol_policies() or [], written)
    assert again.after == {} and again.files == {}


def test_a_rule_edited_by_hand_is_drift_named_after_the_rule() -> None:
    half = machine({"exe": {"defaults": False, "allow": [{"path": "%WINDIR%\\*"}]}}, registry=[])
    declared = half.pol_policies() or []
    key = f"{ROOT}\\Exe\\{rule_id('exe', half.applocker.exe.allow[0])}"  # type: ignore[union-attr]
    edited = [
        p.pol_entry()
        if p.key != key
        else p.model_copy(update={"data": str(p.data).replace("%WINDIR%", "%TEMP%")}).pol_entry()
        for p in declared
    ]
    diff = Diff()
    plan_registry(diff, "Machine", POL, declared, serialize_registry_pol(edited))
    label = 'Machine: AppLocker Exe rule "allow Everyone path %WINDIR%\\*" (' + key[-36:] + ")"
    assert diff.before == {label: "allow Everyone path %TEMP%\\*"}
    assert diff.after == {label: "allow Everyone path %WINDIR%\\*"}


def test_a_rule_added_by_hand_is_drift_to_remove() -> None:
    half = machine({"exe": {"defaults": False}}, registry=[])
    declared = half.pol_policies() or []
    extra = machine({"exe": {"defaults": False, "allow": [{"path": "%TEMP%\\*", "name": "tmp"}]}})
    diff = Diff()
    current = serialize_registry_pol([p.pol_entry() for p in extra.pol_policies() or []])
    plan_registry(diff, "Machine", POL, declared, current)
    ((label, was),) = diff.before.items()
    assert label.startswith('Machine: AppLocker Exe rule "tmp" (')
    assert (was, diff.after[label]) == ("allow Everyone path %TEMP%\\*", "not set")
    assert parse_registry_pol(diff.files[POL] or b"").entries == tuple(
        p.pol_entry() for p in declared
    )


@pytest.mark.parametrize(
    ("applocker", "registry", "words"),
    [
        ({"exe": {"allow": [{"path": "*", "publisher": MICROSOFT}]}}, None, "exactly one of"),
        ({"exe": {"allow": [{}]}}, None, "exactly one of"),
        ({"exe": {"allow": [{"path": "*", "user": "HQ-Staff"}]}}, None, "give a SID"),
        ({"exe": {"mode": "block"}}, None, "mode"),
        (
            {"exe": {}},
            [{"key": f"{ROOT}\\Exe", "value": "EnforcementMode", "type": "dword", "data": 1}],
            "is AppLocker's",
        ),
    ],
)
def test_bad_applocker_declarations_are_refused(
    applocker: dict[str, Any], registry: list[Any] | None, words: str
) -> None:
    with pytest.raises(ValidationError, match=words):
        machine(applocker, registry)
