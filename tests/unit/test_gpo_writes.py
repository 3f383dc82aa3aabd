"""What a GPO change writes, with no server: the files (rendered as apply renders them),
GPT.INI and versionNumber bumped together for the half that changed, and the order of
the writes of a new GPO."""

from __future__ import annotations

from typing import Any

import pytest
from gpo_facts import NEW_GUID, plan_of

from adsuite.formats.gpt_ini import parse_gpt_ini
from adsuite.formats.gpttmpl_inf import parse_gpttmpl
from adsuite.formats.registry_pol import parse_registry_pol
from adsuite.resources.base import Change, LdapWrite
from adsuite.resources.delegation.dacl import DaclEdit
from adsuite.resources.gpo import gpo
from adsuite.resources.gpo import requests as io

BASE = "DC=group,DC=example,DC=com"
G1 = "{11111111-1111-1111-1111-111111111111}"
USER_CSE = "[{35378EAC-683F-11D2-A89A-00C04FBBCFA2}{D02B1F73-3407-48AE-BA88-E8213C6761F1}]"
SYSTEM = r"Software\Microsoft\Windows\CurrentVersion\Policies\System"


@pytest.fixture(autouse=True)
def fixed_guid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpo, "new_guid", lambda: NEW_GUID)


def only_change(case: dict[str, Any]) -> Change:
    (change,) = plan_of(case).changes
    return change


def files_of(change: Change, sids: dict[str, str] | None = None) -> dict[str, bytes | None]:
    (write,) = [w for w in change.writes if isinstance(w, io.GptWrite)]
    return dict(write.render(sids or {}))


def modify_of(change: Change) -> dict[str, Any]:
    (write,) = [w for w in change.writes if isinstance(w, LdapWrite) and w.op == "modify"]
    return {name: values for name, (_, values) in write.changes.items()}


def registry_task(data: int) -> dict[str, Any]:
    policy = {"key": SYSTEM, "value": "DisableRegistryTools", "type": "dword", "data": data}
    return {"gpo": {"name": "G", "user": {"registry": [policy]}}}


def existing(version: int, user_data: int) -> dict[str, Any]:
    policy = {
        "key": SYSTEM,
        "value": "DisableRegistryTools",
        "type": "REG_DWORD",
        "data": user_data,
    }
    return {
        "name": "G",
        "guid": G1,
        "version": version,
        "user_extensions": USER_CSE,
        "user_registry": [policy],
    }


def test_a_user_half_change_bumps_only_the_user_version_in_both_places() -> None:
    change = only_change({"tasks": [registry_task(1)], "gpos": [existing(0x00020005, 0)]})
    files = files_of(change)
    assert parse_gpt_ini(files[io.GPT_INI] or b"").version == 0x00030005
    assert modify_of(change) == {"versionNumber": [str(0x00030005)]}
    (entry,) = parse_registry_pol(files[io.USER_POL] or b"")
    assert (entry.value_name, entry.data) == ("DisableRegistryTools", 1)
    assert io.MACHINE_POL not in files


def test_a_second_plan_of_the_same_settings_moves_no_version() -> None:
    assert plan_of({"tasks": [registry_task(1)], "gpos": [existing(0x00030005, 1)]}).changes == ()


def test_the_default_domain_policy_keeps_the_keys_and_sections_it_does_not_manage() -> None:
    lines = ["[System Access]", "MinimumPasswordLength = 7", "LSAAnonymousNameLookup = 0"]
    lines += ["[Kerberos Policy]", "MaxTicketAge = 10"]
    ddp: dict[str, Any] = {"name": "Default Domain Policy", "version": 3, "gpttmpl": lines}
    ddp["guid"] = "{31B2F340-016D-11D2-945F-00C04FB984F9}"
    change = only_change({"tasks": [{"default_domain_policy": {"min_length": 8}}], "gpos": [ddp]})
    template = parse_gpttmpl(files_of(change)[io.GPTTMPL] or b"")
    assert template.system_access == {"MinimumPasswordLength": 8, "LSAAnonymousNameLookup": 0}
    assert template.section("Kerberos Policy") is not None
    assert modify_of(change)["versionNumber"] == ["4"]
    assert "gPCMachineExtensionNames" in modify_of(change)


def test_a_group_this_run_creates_is_written_by_its_sid_at_apply() -> None:
    group = {"group": "HQ-Elevated", "memberof": ["Administrators"]}
    task = {"gpo": {"name": "G", "machine": {"restricted_groups": [group]}}}
    plan = plan_of({"tasks": [{"group": {"name": "HQ-Elevated", "ou": "HQ"}}, task]})
    (change,) = [c for c in plan.changes if c.kind == "gpo"]
    (write,) = [w for w in change.writes if isinstance(w, io.GptWrite)]
    assert write.resolve == ("HQ-Elevated",)
    files = write.render({"hq-elevated": "S-1-5-21-1-2-3-1105"})
    template = parse_gpttmpl(files[io.GPTTMPL] or b"")
    assert template.group_membership["*S-1-5-21-1-2-3-1105"].memberof == ("*S-1-5-32-544",)


def test_a_new_gpo_is_written_container_first_and_versioned_last() -> None:
    task = registry_task(1)
    task["gpo"]["apply_to"] = ["Domain Computers"]
    case = {"tasks": [task], "accounts": {"Domain Computers": "S-1-5-21-1-2-3-515"}}
    change = only_change(case)
    kinds = [(type(w).__name__, getattr(w, "op", None)) for w in change.writes]
    assert kinds == [
        ("LdapWrite", "add"),
        ("LdapWrite", "add"),
        ("LdapWrite", "add"),
        ("DaclEdit", None),
        ("GptWrite", None),
        ("LdapWrite", "modify"),
    ]
    add = change.writes[0]
    assert isinstance(add, LdapWrite) and add.dn == io.gpc_dn(NEW_GUID, BASE)
    assert add.attributes["gPCFileSysPath"] == [
        f"\\\\group.example.com\\sysvol\\group.example.com\\Policies\\{NEW_GUID}"
    ]
    edit = change.writes[3]
    assert isinstance(edit, DaclEdit) and [r.sid for r in edit.revokes] == ["S-1-5-11"]
    files = files_of(change)
    assert parse_gpt_ini(files[io.GPT_INI] or b"").version == 0x00010000
    assert modify_of(change) == {
        "versionNumber": [str(0x00010000)],
        "gPCUserExtensionNames": [USER_CSE],
    }
