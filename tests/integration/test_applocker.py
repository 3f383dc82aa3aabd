"""Application control (一.4, 二.1.a) as the shipped workstation_lockdown.yml declares it,
against the lab DC: the restricted workstation GPO's machine Registry.pol holds the
AppLocker rules under SrpV2, read back by Samba's own Registry.pol parser and each rule's
XML by ElementTree. A rule edited by hand (a file Samba's parser writes, put with
smbclient) is drift naming that rule; apply restores it, and ``adsuite rollback`` of that
apply puts the hand edit back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from fileshare import write_authfile
from helpers import company_inventory, run_id_of
from labkit import Cli, Lab
from samba_gp_oracle import samba_read, samba_write
from sysvol import gpc, gpt_file, smbclient_put

from adsuite.connectors.ldap import Directory

pytestmark = pytest.mark.lab

SRP = "Software\\Policies\\Microsoft\\Windows\\SrpV2"
REGISTRY_CSE = "{35378EAC-683F-11D2-A89A-00C04FBBCFA2}"
MICROSOFT = "O=MICROSOFT CORPORATION, L=REDMOND, S=WASHINGTON, C=US"
REG_SZ, REG_DWORD = 1, 4


def entries(lab_env: Lab, guid: str) -> list[dict[str, Any]]:
    data = gpt_file(lab_env, guid, "Machine/Registry.pol").read_bytes()
    found: list[dict[str, Any]] = samba_read("pol", data)["entries"]
    return found


def applocker(found: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(collection, what) -> value: the modes, and each rule's condition as its XML says."""
    out: dict[tuple[str, str], str] = {}
    for entry in found:
        if not entry["key"].startswith(SRP + "\\"):
            continue
        collection, _, rule = entry["key"][len(SRP) + 1 :].partition("\\")
        (value,) = entry["values"]
        if not rule:
            assert entry["type"] == REG_DWORD
            out[(collection, entry["name"])] = value
            continue
        assert (entry["name"], entry["type"]) == ("Value", REG_SZ)
        xml = ElementTree.fromstring(value)
        assert xml.get("Id") == rule and xml.get("Action") == "Allow"
        condition = next(iter(xml.find("Conditions") or []))
        said = condition.get("Path") or condition.get("PublisherName") or ""
        out[(collection, f"{xml.get('UserOrGroupSid')} {said}")] = rule
    return out


def shape(found: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return set(applocker(found))


EXPECTED = {
    *(
        (c, m)
        for c in ("Exe", "Msi", "Script", "Appx")
        for m in ("EnforcementMode", "AllowWindows")
    ),
    ("Exe", "S-1-1-0 %PROGRAMFILES%\\*"),
    ("Exe", "S-1-1-0 %WINDIR%\\*"),
    ("Exe", "S-1-5-32-544 *"),
    ("Exe", f"S-1-1-0 {MICROSOFT}"),
    ("Script", "S-1-1-0 %PROGRAMFILES%\\*"),
    ("Script", "S-1-1-0 %WINDIR%\\*"),
    ("Script", "S-1-5-32-544 *"),
    ("Msi", "S-1-1-0 %WINDIR%\\Installer\\*"),
    ("Msi", "S-1-1-0 *"),
    ("Msi", "S-1-5-32-544 *"),
    ("Appx", "S-1-1-0 *"),
}


def edit_windows_rule(lab_env: Lab, auth: Path, guid: str, rule: str) -> None:
    """Widen the Exe %WINDIR% rule to %TEMP% by hand: Samba's parser writes the file."""
    found = entries(lab_env, guid)
    changed = 0
    for entry in found:
        if entry["key"].endswith(rule):
            entry["values"] = [entry["values"][0].replace("%WINDIR%", "%TEMP%")]
            changed += 1
    assert changed == 1
    local = auth.parent / "Registry.pol"
    local.write_bytes(samba_write("pol", entries=found))
    remote = f"{lab_env.status.realm.lower()}\\Policies\\{guid}\\Machine\\Registry.pol"
    smbclient_put(lab_env, auth, local, remote)


def test_applocker_rules_apply_read_back_drift_per_rule_and_roll_back(
    lab_env: Lab,
    directory: Directory,
    top: str,
    tmp_path: Path,
    repo_site: Callable[[Sequence[str]], Path],
    cli: Callable[..., Cli],
) -> None:
    code = top.upper()
    inventory = str(company_inventory(lab_env.inventory, tmp_path, code))
    site = str(repo_site(["group_domain.yml", "workstation_lockdown.yml"]))
    applied = cli("apply", site, "-i", inventory, "--yes")
    assert applied.code == 0, applied.out + applied.err

    restricted = gpc(directory, f"{code} Restricted workstation")
    found = entries(lab_env, restricted.guid)
    assert shape(found) == EXPECTED
    modes = applocker(found)
    assert {modes[(c, "EnforcementMode")] for c in ("Exe", "Msi", "Script", "Appx")} == {"1"}
    assert REGISTRY_CSE in (restricted.machine_extensions or "")
    assert cli("drift", site, "-i", inventory).code == 0

    windows = modes[("Exe", "S-1-1-0 %WINDIR%\\*")]
    password = Path(lab_env.status.secret_file).read_text(encoding="utf-8").strip()
    auth = write_authfile(tmp_path / "admin.auth", "Administrator", password)
    edit_windows_rule(lab_env, auth, restricted.guid, windows)
    drift = cli("drift", site, "-i", inventory)
    assert drift.code == 2, drift.out + drift.err
    assert (
        f'Machine: AppLocker Exe rule "(Default Rule) All files located in %WINDIR%\\*" '
        f"({windows}) is allow Everyone path %TEMP%\\*, want allow Everyone path %WINDIR%\\*"
    ) in drift.out, drift.out

    restored = cli("apply", site, "-i", inventory, "--yes", "--format", "json")
    assert restored.code == 0, restored.out + restored.err
    assert shape(entries(lab_env, restricted.guid)) == EXPECTED
    assert cli("drift", site, "-i", inventory).code == 0

    undone = cli("rollback", run_id_of(restored.out), "-i", inventory, "--yes")
    assert undone.code == 0, undone.out + undone.err
    rolled = shape(entries(lab_env, restricted.guid))
    assert rolled == EXPECTED - {("Exe", "S-1-1-0 %WINDIR%\\*")} | {("Exe", "S-1-1-0 %TEMP%\\*")}
