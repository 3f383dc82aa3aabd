"""Rollback of password_policy, pso, default_domain_policy, site and subnet changes.

The cases in rollback_cases/policy.yml turn journaled before/after images into the spec
arguments that undo (or redo) them, through the engine's own step and spec code. The
round trips plan a playbook against directory entries held as data, apply its writes
to them, then plan the rollback of the run as journaled: it must bring back the entries
as they were, plan nothing a second time, and leave an object edited since alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, get_args

import pytest
from gpo_facts import reader as gpo_reader
from gpo_facts import state as gpo_state
from helpers import load_cases
from pydantic import ValidationError
from test_plan_cases import DOMAIN, desired, entry, in_scope

from adsuite.engine import drift, planner, rollback
from adsuite.engine.planner import Plan
from adsuite.engine.playbook import desired_by_kind
from adsuite.formats import dn as dnlib
from adsuite.formats.gpttmpl_inf import parse_gpttmpl
from adsuite.formats.ldap_query import Entry, Query
from adsuite.journal.records import ChangeRecord
from adsuite.resources import registry
from adsuite.resources.base import LdapWrite
from adsuite.resources.gpo import default_domain_policy as ddp
from adsuite.resources.gpo import requests as io

BASE = "DC=group,DC=example,DC=com"
CASES = Path(__file__).parent / "rollback_cases" / "policy.yml"
PSOS = f"CN=Password Settings Container,CN=System,{BASE}"
SITES = f"CN=Sites,CN=Configuration,{BASE}"
RUN = "20261127T130148Z-323766"


def record(change: Mapping[str, Any], number: int = 1) -> ChangeRecord:
    """A change as the journal hands it back: JSON in and out, applied."""
    stored = json.loads(json.dumps(dict(change), ensure_ascii=False))
    return ChangeRecord(
        RUN, number, stored["kind"], stored["target"], stored.get("action", "update"),
        stored["before"], stored["after"], "applied", None, "t", "t", number,
    )  # fmt: skip


@pytest.mark.parametrize(
    "case", load_cases(CASES, label=lambda _, case: f"{case['kind']}: {case['name']}")
)
def test_rollback_case(case: dict[str, Any]) -> None:
    (step,) = rollback.steps_of([record(case)])
    for direction, undo in (("undo", True), ("redo", False)):
        if f"{direction}_error" in case:
            with pytest.raises(ValueError) as raised:
                rollback.spec_args(step, BASE, undo=undo)
            assert case[f"{direction}_error"] in str(raised.value)
        elif direction in case:
            args = rollback.spec_args(step, BASE, undo=undo)
            assert args == case[direction]
            for one in args:  # what the engine builds its playbook from must load
                registry.KINDS[case["kind"]].spec.model_validate(one)


# --- round trips against directory entries held as data ------------------------------


class FakeDirectory:
    """Entries by DN key; applies the LDAP writes of planned changes as a DC would."""

    def __init__(self, facts: Sequence[dict[str, Any]]) -> None:
        self.entries = {dnlib.key(e.dn): e for e in map(entry, facts)}

    def read(self, queries: Sequence[Hashable]) -> dict[Hashable, list[Entry]]:
        found = list(self.entries.values())
        return {q: [e for e in found if in_scope(e, q)] for q in queries if isinstance(q, Query)}

    def plan(self, desired_state: Mapping[str, Sequence[Any]]) -> Plan:
        return planner.build_plan("group", DOMAIN, desired_state, self.read)

    def apply(self, plan: Plan) -> None:
        for change in plan.changes:
            for write in change.writes:
                self.write(write)

    def write(self, write: LdapWrite) -> None:
        key = dnlib.key(write.dn)
        if write.op == "add":
            values = {k.lower(): _raw(v) for k, v in write.attributes.items()}
            self.entries[key] = Entry(write.dn, values)
        elif write.op == "delete":
            del self.entries[key]
        else:
            assert write.op == "modify", write.op
            attributes = dict(self.entries[key].attributes)
            for name, (op, values) in write.changes.items():
                have, given = attributes.get(name.lower(), ()), _raw(values)
                if op == "replace":
                    have = given
                elif op == "add":
                    have = (*have, *given)
                else:
                    have = tuple(v for v in have if v not in given)
                attributes[name.lower()] = have
            self.entries[key] = Entry(self.entries[key].dn, attributes)

    def snapshot(self) -> dict[str, dict[str, list[bytes]]]:
        """Every entry's attributes, empty ones dropped and multi-values sorted."""
        return {
            k: {n: sorted(v) for n, v in e.attributes.items() if v and n != "objectclass"}
            for k, e in self.entries.items()
        }


def _raw(values: Any) -> tuple[bytes, ...]:
    listed = values if isinstance(values, list | tuple) else [values]
    return tuple(str(v).encode("utf-8") for v in listed)


def undo_of(run: Plan, directory: FakeDirectory) -> rollback.RollbackPlan:
    records = [record(c.summary(), n) for n, c in enumerate(run.changes, start=1)]

    def plan_of(playbook: Any) -> Plan:
        return directory.plan(desired_by_kind(playbook))

    return rollback.build(RUN, records, "group", BASE, plan_of)


def round_trip(facts: list[dict[str, Any]], tasks: list[dict[str, Any]]) -> FakeDirectory:
    """Apply *tasks*, roll the run back: the entries are as before, and again no change."""
    directory = FakeDirectory(facts)
    before = directory.snapshot()
    run = directory.plan(desired(tasks))
    assert run.changes, "the playbook must change something for the round trip to prove it"
    directory.apply(run)
    assert directory.snapshot() != before

    undo = undo_of(run, directory)
    assert (undo.moved_on, undo.unsupported) == ((), ())
    directory.apply(undo.plan)
    assert _without_guids(directory.snapshot()) == _without_guids(before)
    assert undo_of(run, directory).plan.changes == ()
    return directory


def _without_guids(snapshot: dict[str, dict[str, list[bytes]]]) -> dict[str, Any]:
    return {k: {n: v for n, v in e.items() if n != "objectguid"} for k, e in snapshot.items()}


SAMBA_POLICY = {
    "dn": BASE,
    "attributes": {
        "minPwdLength": 7, "pwdHistoryLength": 24, "minPwdAge": -864000000000,
        "maxPwdAge": -36288000000000, "pwdProperties": 1, "lockoutThreshold": 0,
        "lockOutObservationWindow": -18000000000, "lockoutDuration": -18000000000,
    },
}  # fmt: skip


def test_a_password_policy_run_is_undone_attribute_for_attribute() -> None:
    policy = {"min_length": 12, "history": 5, "max_age": 120, "min_age": 0}
    policy |= {"reversible_encryption": True, "lockout_duration": "never"}
    round_trip([SAMBA_POLICY], [{"password_policy": policy}])


def test_a_policy_raised_from_below_the_floor_is_not_rolled_back_and_says_why() -> None:
    weak = {**SAMBA_POLICY, "attributes": {**SAMBA_POLICY["attributes"], "minPwdLength": 4}}
    directory = FakeDirectory([weak])
    run = directory.plan(desired([{"password_policy": {"min_length": 8}}]))
    directory.apply(run)
    undo = undo_of(run, directory)
    assert undo.plan.changes == ()
    (reason,) = undo.unsupported
    assert reason.startswith(f"password_policy {BASE}: cannot roll back: minimum password length 4")
    assert "floor_override: {reason: ...}" in reason


def pso_facts(**changed: Any) -> list[dict[str, Any]]:
    attributes = {
        "msDS-PasswordSettingsPrecedence": 20, "msDS-MinimumPasswordLength": 12,
        "msDS-PasswordHistoryLength": 24, "msDS-PasswordComplexityEnabled": "TRUE",
        "msDS-PasswordReversibleEncryptionEnabled": "FALSE",
        "msDS-MinimumPasswordAge": -864000000000, "msDS-MaximumPasswordAge": -77760000000000,
        "msDS-LockoutThreshold": 5, "msDS-LockoutObservationWindow": -18000000000,
        "msDS-LockoutDuration": -18000000000, "description": "strict",
        "msDS-PSOAppliesTo": [f"CN=A,OU=HQ,{BASE}", f"CN=C,OU=HQ,{BASE}"],
        "objectGUID": "guid-1",
    }  # fmt: skip
    groups = [{"dn": f"CN={g},OU=HQ,{BASE}", "attributes": {"sAMAccountName": g}} for g in "ABC"]
    return [*groups, {"dn": f"CN=Strict,{PSOS}", "attributes": {**attributes, **changed}}]


PSO_TASK = {
    "name": "Strict", "precedence": 10, "min_length": 14, "history": 24, "complexity": True,
    "reversible_encryption": False, "min_age": 1, "max_age": 90, "lockout_threshold": 5,
    "lockout_window": 30, "lockout_duration": "never", "applies_to": ["A", "B"],
}  # fmt: skip


def test_a_pso_update_is_undone_to_the_whole_pso_with_its_exact_groups() -> None:
    round_trip(pso_facts(), [{"pso": {**PSO_TASK, "description": ""}}])


def test_a_pso_the_run_created_is_deleted_and_one_it_deleted_comes_back() -> None:
    groups = pso_facts()[:3]
    round_trip(groups, [{"pso": PSO_TASK}])
    round_trip(pso_facts(), [{"pso": {"name": "Strict", "state": "absent"}}])


def test_a_pso_edited_after_the_run_is_left_alone_even_in_a_setting_the_run_kept() -> None:
    directory = FakeDirectory(pso_facts())
    run = directory.plan(desired([{"pso": PSO_TASK}]))
    directory.apply(run)
    pso = dnlib.key(f"CN=Strict,{PSOS}")
    edited = {**directory.entries[pso].attributes, "msds-lockoutthreshold": (b"9",)}
    directory.entries[pso] = replace(directory.entries[pso], attributes=edited)
    undo = undo_of(run, directory)
    assert undo.moved_on == (f"CN=Strict,{PSOS}",)
    assert undo.plan.changes == ()


def test_the_before_image_of_a_pso_update_leaves_the_drift_finding_id_as_it_was() -> None:
    directory = FakeDirectory(pso_facts())
    (change,) = directory.plan(desired([{"pso": PSO_TASK}])).changes
    assert "image" in (change.before or {})
    shown = sorted({*(change.before or {}), *(change.after or {})} - {"image"})
    as_before = "|".join(["pso", "update", dnlib.key(change.target), *shown])  # drift's formula
    assert drift.finding_id(change) == hashlib.sha256(as_before.encode()).hexdigest()[:12]
    before = {k: v for k, v in (change.before or {}).items() if k != "image"}
    assert drift.describe(change) == drift.describe(replace(change, before=before))


def site_facts() -> list[dict[str, Any]]:
    def site(name: str, **attributes: Any) -> list[dict[str, Any]]:
        dn = f"CN={name},{SITES}"
        return [
            {"dn": dn, "attributes": {"objectClass": ["top", "site"], **attributes}},
            {
                "dn": f"CN=NTDS Site Settings,{dn}",
                "attributes": {"objectClass": ["top", "nTDSSiteSettings"]},
            },
            {"dn": f"CN=Servers,{dn}", "attributes": {"objectClass": ["top", "serversContainer"]}},
        ]

    subnet = {"siteObject": f"CN=HQ,{SITES}", "description": "old", "objectGUID": "g2"}
    return [
        *site("HQ", description="HQ site", location="Nantong", objectGUID="g1"),
        *site("OLD", objectGUID="g3"),
        {"dn": f"CN=172.16.0.0/16,CN=Subnets,{SITES}", "attributes": subnet},
        {
            "dn": f"CN=10.9.0.0/16,CN=Subnets,{SITES}",
            "attributes": {"siteObject": f"CN=OLD,{SITES}"},
        },
    ]


def test_sites_and_subnets_created_changed_and_deleted_by_a_run_come_back() -> None:
    tasks = [
        {"site": {"name": "HQ", "description": "总部", "location": ""}},
        {"site": {"name": "NEW", "description": "new site"}},
        {"site": {"name": "OLD", "state": "absent"}},
        {"subnet": {"prefix": "172.16.0.0/16", "site": "NEW", "location": "Nantong"}},
        {"subnet": {"prefix": "10.9.0.0/16", "state": "absent"}},
        {"subnet": {"prefix": "10.10.0.0/16", "site": "HQ"}},
    ]
    round_trip(site_facts(), tasks)


# --- the Default Domain Policy: [System Access] in GptTmpl.inf -----------------------

DDP_GUID = "{31B2F340-016D-11D2-945F-00C04FB984F9}"
SECURITY_CSE = "[{827D319E-6EAC-11D2-A4EA-00C04F79F83A}{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}]"
SAMBA_CSES = (  # as samba-tool domain provision lists them: Registry, Security, EFS
    "[{35378EAC-683F-11D2-A89A-00C04FBBCFA2}{53D6AB1B-2488-11D1-A28C-00C04FB94F17}]"
    + SECURITY_CSE
    + "[{B1BE8D72-6EAC-11D2-A4EA-00C04F79F83A}{53D6AB1B-2488-11D1-A28C-00C04FB94F17}]"
)


class FakeGpo:
    """The Default Domain Policy as data; applies a change's SYSVOL and LDAP writes."""

    def __init__(self, gpo: dict[str, Any]) -> None:
        self.case = {"gpos": [gpo]}
        self.state = gpo_state(gpo)

    def plan(self, desired_state: Mapping[str, Sequence[Any]]) -> Plan:
        answer = gpo_reader(self.case)

        def read(requests: Sequence[Hashable]) -> dict[Hashable, Any]:
            found = answer(requests)
            return {r: self.state if isinstance(r, io.GpoRead) else v for r, v in found.items()}

        return planner.build_plan("group", DOMAIN, desired_state, read)

    def apply(self, plan: Plan) -> None:
        files, attributes = dict(self.state.files), {}
        for write in (w for c in plan.changes for w in c.writes):
            if isinstance(write, io.GptWrite):
                files.update(write.render({}))
            else:
                attributes.update({k: v[0] if v else None for k, (_, v) in write.changes.items()})
        extensions = attributes.get("gPCMachineExtensionNames", self.state.machine_extensions)
        version = int(attributes.get("versionNumber", self.state.version_number))
        self.state = replace(
            self.state, files=files, machine_extensions=extensions, version_number=version
        )

    def system_access(self) -> dict[str, str] | None:
        data = self.state.files.get(io.GPTTMPL)
        return None if data is None else parse_gpttmpl(data).section("System Access").mapping()  # type: ignore[union-attr]


def ddp_round_trip(gpo: dict[str, Any], task: dict[str, Any]) -> FakeGpo:
    policy = FakeGpo(gpo)
    before, extensions = policy.system_access(), policy.state.machine_extensions
    run = policy.plan(desired([{"default_domain_policy": task}]))
    policy.apply(run)
    assert policy.system_access() != before
    records = [record(c.summary(), n) for n, c in enumerate(run.changes, start=1)]

    def plan_of(playbook: Any) -> Plan:
        return policy.plan(desired_by_kind(playbook))

    undo = rollback.build(RUN, records, "group", BASE, plan_of)
    assert (undo.moved_on, undo.unsupported) == ((), ())
    policy.apply(undo.plan)
    assert policy.system_access() == before
    assert policy.state.machine_extensions == extensions
    assert rollback.build(RUN, records, "group", BASE, plan_of).plan.changes == ()
    return policy


def test_a_default_domain_policy_samba_provisioned_without_a_template_gets_none_back() -> None:
    gpo = {"name": "Default Domain Policy", "guid": DDP_GUID, "machine_extensions": SAMBA_CSES}
    policy = ddp_round_trip(gpo, {"min_length": 8, "history": 5, "max_age": 180})
    assert policy.state.files.get(io.GPTTMPL) is None


def test_default_domain_policy_values_go_back_and_added_keys_come_out_others_kept() -> None:
    template = ["[System Access]", "MinimumPasswordLength = 7", "LSAAnonymousNameLookup = 0"]
    template += ["[Kerberos Policy]", "MaxTicketAge = 10"]
    gpo = {"name": "Default Domain Policy", "guid": DDP_GUID, "version": 3}
    gpo |= {"machine_extensions": SECURITY_CSE, "gpttmpl": template}
    policy = ddp_round_trip(gpo, {"min_length": 9, "lockout_duration": "never"})
    kept = parse_gpttmpl(policy.state.files[io.GPTTMPL] or b"").section("Kerberos Policy")
    assert kept is not None and kept.mapping() == {"MaxTicketAge": "10"}


def test_a_setting_both_declared_and_not_set_is_refused_at_load() -> None:
    with pytest.raises(ValidationError, match="min_length: declared and in not_set at once"):
        ddp.Spec.model_validate({"min_length": 8, "not_set": ["min_length"]})


def test_not_set_names_exactly_the_settings_the_policy_has_keys_for() -> None:
    assert set(get_args(ddp.Setting)) == set(ddp.KEYS)
