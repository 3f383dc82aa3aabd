"""The screen lock (二.1.a) and the DCs' logs (五.6, 五.8) as the shipped playbooks declare
them, against the lab DC: Samba's own parsers read back the screen lock GPO's
Registry.pol and GptTmpl.inf and the DC audit GPO's audit.csv, [Security Log] and
Registry.pol; ldbsearch reads the Event Log Readers group. Files edited with smbclient
and a member added with samba-tool are drift in words; apply restores them, and
``adsuite rollback`` of that apply puts the hand edits back, so the rollback image
covers every one of the new settings."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from fileshare import write_authfile
from helpers import company_inventory, run_id_of
from labkit import Cli, Lab
from samba_gp_oracle import samba_read
from sysvol import BASE, gpc, gpt_file, samba_tool, smbclient_put

from adsuite.connectors.ldap import Directory

pytestmark = pytest.mark.lab

TEMPLATE = "Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf"
AUDIT = "Machine/Microsoft/Windows NT/Audit/audit.csv"
DESKTOP = r"Software\Policies\Microsoft\Windows\Control Panel\Desktop"
INACTIVITY = (
    r"MACHINE\Software\Microsoft\Windows\CurrentVersion\Policies\System\InactivityTimeoutSecs"
)
EVENTLOG = r"Software\Policies\Microsoft\Windows\EventLog\Security"
READERS = f"CN=Event Log Readers,CN=Builtin,{BASE}"
KERBEROS = {"Audit Kerberos Authentication Service", "Audit Kerberos Service Ticket Operations"}


def readers(lab_env: Lab) -> list[str]:
    """The members of Event Log Readers as Samba's own ldbsearch reads sam.ldb."""
    sam = Path(lab_env.status.state_dir) / "private" / "sam.ldb"
    done = subprocess.run(
        ["ldbsearch", "-H", str(sam), "-b", READERS, "-s", "base", "member"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and f"dn: {READERS}" in done.stdout, done.stdout + done.stderr
    return re.findall(r"^member: (.+)$", done.stdout, re.M)


def inf_sections(lab_env: Lab, guid: str) -> dict[str, list[list[str]]]:
    sections: dict[str, list[list[str]]] = samba_read(
        "inf", gpt_file(lab_env, guid, TEMPLATE).read_bytes()
    )["sections"]
    return sections


def audit_rows(lab_env: Lab, guid: str) -> dict[str, str]:
    csv = samba_read("csv", gpt_file(lab_env, guid, AUDIT).read_bytes())
    return {row[2]: row[6] for row in csv["rows"][1:]}


def pol(lab_env: Lab, guid: str, half: str) -> set[tuple[str, str, int, tuple[str, ...]]]:
    read = samba_read("pol", gpt_file(lab_env, guid, f"{half}/Registry.pol").read_bytes())
    return {(e["key"], e["name"], e["type"], tuple(e["values"])) for e in read["entries"]}


def edit_by_hand(
    lab_env: Lab, auth: Path, guid: str, relative: str, edit: Callable[[str], str]
) -> None:
    """Rewrite a SYSVOL file's text with *edit* and put it back with smbclient."""
    path = gpt_file(lab_env, guid, relative)
    data = path.read_bytes()
    encoding = "utf-16" if data.startswith(b"\xff\xfe") else "utf-8"
    text = data.decode(encoding)
    changed = edit(text)
    assert changed != text, relative
    local = auth.parent / Path(relative).name
    local.write_bytes(changed.encode(encoding))
    remote = f"{lab_env.status.realm.lower()}\\Policies\\{guid}\\{relative.replace('/', chr(92))}"
    smbclient_put(lab_env, auth, local, remote)


def test_screen_lock_and_dc_log_policy_apply_read_back_drift_and_roll_back(
    lab_env: Lab,
    directory: Directory,
    top: str,
    tmp_path: Path,
    repo_site: Callable[[Sequence[str]], Path],
    cli: Callable[..., Cli],
) -> None:
    code = top.upper()
    inventory = str(company_inventory(lab_env.inventory, tmp_path, code))
    site = str(repo_site(["group_domain.yml", "workstation_lockdown.yml", "audit_policy.yml"]))
    applied = cli("apply", site, "-i", inventory, "--yes")
    assert applied.code == 0, applied.out + applied.err

    lock = gpc(directory, f"{code} Workstation screen lock")
    assert pol(lab_env, lock.guid, "User") == {
        (DESKTOP, "ScreenSaveActive", 1, ("1",)),
        (DESKTOP, "ScreenSaverIsSecure", 1, ("1",)),
        (DESKTOP, "ScreenSaveTimeOut", 1, ("900",)),
    }
    assert inf_sections(lab_env, lock.guid)["Registry Values"] == [f"{INACTIVITY}=4,900"]
    shown = samba_tool(lab_env, "gpo", "getlink", f"OU=Workstations,OU={code},{BASE}")
    assert f"Name    : {code} Workstation screen lock\n" in shown.stdout, shown.stdout

    dcs = gpc(directory, "Domain Controllers audit policy")
    rows = audit_rows(lab_env, dcs.guid)
    assert {name: rows.get(name) for name in KERBEROS} == dict.fromkeys(KERBEROS, "3")
    assert inf_sections(lab_env, dcs.guid)["Security Log"] == [
        ["MaximumLogSize", "4194240"],
        ["AuditLogRetentionPeriod", "2"],
        ["RestrictGuestAccess", "1"],
    ]
    assert pol(lab_env, dcs.guid, "Machine") == {(EVENTLOG, "AutoBackupLogFiles", 1, ("1",))}
    assert readers(lab_env) == []

    password = Path(lab_env.status.secret_file).read_text(encoding="utf-8").strip()
    auth = write_authfile(tmp_path / "admin.auth", "Administrator", password)
    edit_by_hand(lab_env, auth, lock.guid, TEMPLATE, lambda t: t.replace("4,900", "4,0"))
    edit_by_hand(lab_env, auth, dcs.guid, TEMPLATE, lambda t: t.replace("= 4194240", "= 20480"))
    edit_by_hand(
        lab_env,
        auth,
        dcs.guid,
        AUDIT,
        lambda t: "".join(x for x in t.splitlines(True) if "Kerberos" not in x),
    )
    added = samba_tool(lab_env, "group", "addmembers", "Event Log Readers", "Guest")
    assert added.returncode == 0, added.stdout + added.stderr
    assert readers(lab_env) == [f"CN=Guest,CN=Users,{BASE}"]

    drift = cli("drift", site, "-i", inventory)
    assert drift.code == 2, drift.out + drift.err
    for words in (
        f"Machine: {INACTIVITY} is 4,0, want 4,900",
        "Machine: MaximumLogSize is 20480, want 4194240",
        "Machine: audit Kerberos Authentication Service is none, want success and failure",
        "Machine: audit Kerberos Service Ticket Operations is none, want success and failure",
    ):
        assert words in drift.out, drift.out
    unwanted = f"membership {READERS}: differs: has unwanted member CN=Guest,CN=Users,{BASE}"
    assert unwanted in drift.out, drift.out

    restored = cli("apply", site, "-i", inventory, "--yes", "--format", "json")
    assert restored.code == 0, restored.out + restored.err
    assert inf_sections(lab_env, lock.guid)["Registry Values"] == [f"{INACTIVITY}=4,900"]
    assert ["MaximumLogSize", "4194240"] in inf_sections(lab_env, dcs.guid)["Security Log"]
    assert {name: audit_rows(lab_env, dcs.guid).get(name) for name in KERBEROS} == dict.fromkeys(
        KERBEROS, "3"
    )
    assert readers(lab_env) == []
    assert cli("drift", site, "-i", inventory).code == 0

    undone = cli("rollback", run_id_of(restored.out), "-i", inventory, "--yes")
    assert undone.code == 0, undone.out + undone.err
    assert inf_sections(lab_env, lock.guid)["Registry Values"] == [f"{INACTIVITY}=4,0"]
    assert ["MaximumLogSize", "20480"] in inf_sections(lab_env, dcs.guid)["Security Log"]
    assert not KERBEROS & set(audit_rows(lab_env, dcs.guid))
    assert readers(lab_env) == [f"CN=Guest,CN=Users,{BASE}"]

    again = cli("apply", site, "-i", inventory, "--yes")
    assert again.code == 0, again.out + again.err
    assert readers(lab_env) == []
    assert cli("drift", site, "-i", inventory).code == 0
