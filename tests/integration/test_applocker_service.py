"""AppLocker is enforced only while the Application Identity service runs: the shipped
workstation_lockdown.yml sets AppIDSvc to start automatically in the restricted
workstation GPO's GptTmpl.inf (System Services), against the lab DC. Samba's own
GptTmpl.inf parser reads the section back. The service set to manual by hand (the file's
text edited and put with smbclient, not through adsuite) is drift; apply repairs it, and
``adsuite rollback`` of that apply puts the hand edit back (the images carry the line)."""

from __future__ import annotations

import codecs
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from fileshare import write_authfile
from helpers import company_inventory, run_id_of
from labkit import Cli, Lab
from samba_gp_oracle import samba_read
from sysvol import gpc, gpt_file, smbclient_put

from adsuite.connectors.ldap import Directory

pytestmark = pytest.mark.lab

TEMPLATE = "Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf"
SECURITY_CSE = "{827D319E-6EAC-11D2-A4EA-00C04F79F83A}"
DRIFT = "Machine: service AppIDSvc startup is manual, want automatic"


def services(lab_env: Lab, guid: str) -> list[list[str]]:
    """[Service General Setting] as Samba's GptTmplInfParser reads the DC's file."""
    data = gpt_file(lab_env, guid, TEMPLATE).read_bytes()
    found: list[list[str]] = samba_read("inf", data)["sections"].get("Service General Setting", [])
    return found


def set_manual_by_hand(lab_env: Lab, auth: Path, guid: str) -> None:
    """Edit the file's text as an administrator would and put it back over SMB."""
    text = gpt_file(lab_env, guid, TEMPLATE).read_bytes()[2:].decode("utf-16-le")
    assert text.count('"AppIDSvc",2,""') == 1, text
    local = auth.parent / "GptTmpl.inf"
    edited = text.replace('"AppIDSvc",2,""', '"AppIDSvc",3,""')
    local.write_bytes(codecs.BOM_UTF16_LE + edited.encode("utf-16-le"))
    remote = f"{lab_env.status.realm.lower()}\\Policies\\{guid}\\{TEMPLATE.replace('/', chr(92))}"
    smbclient_put(lab_env, auth, local, remote)


def test_appidsvc_is_set_automatic_drifts_when_set_manual_by_hand_and_is_repaired(
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
    assert services(lab_env, restricted.guid) == [["AppIDSvc", "2", ""]]
    assert SECURITY_CSE in (restricted.machine_extensions or "")
    clean = cli("drift", site, "-i", inventory)
    assert clean.code == 0, clean.out + clean.err

    password = Path(lab_env.status.secret_file).read_text(encoding="utf-8").strip()
    auth = write_authfile(tmp_path / "admin.auth", "Administrator", password)
    set_manual_by_hand(lab_env, auth, restricted.guid)
    assert services(lab_env, restricted.guid) == [["AppIDSvc", "3", ""]]
    drift = cli("drift", site, "-i", inventory)
    assert drift.code == 2, drift.out + drift.err
    assert DRIFT in drift.out, drift.out

    repaired = cli("apply", site, "-i", inventory, "--yes", "--format", "json")
    assert repaired.code == 0, repaired.out + repaired.err
    assert services(lab_env, restricted.guid) == [["AppIDSvc", "2", ""]]
    clean = cli("drift", site, "-i", inventory)
    assert clean.code == 0, clean.out + clean.err

    undone = cli("rollback", run_id_of(repaired.out), "-i", inventory, "--yes")
    assert undone.code == 0, undone.out + undone.err
    assert services(lab_env, restricted.guid) == [["AppIDSvc", "3", ""]]
