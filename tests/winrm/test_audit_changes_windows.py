"""`adsuite audit changes` with a Windows DC and a Windows file server (FAKE endpoint)
beside the real lab DC.

adsuite really applies a playbook to the lab (so the journal holds real changes with
the real client address:port of its LDAP connection, and real file_acl writes on the
lab's [data] share under two host names); the FAKE Security log of "dc2" and "fs2"
then holds what Windows would log for those changes and for hand edits made around
them. The real CLI reads it over WinRM with both clients and must list exactly the
hand edits, name the group of a membership event by its DN (looked up in the lab),
and say that the Samba file server fs1 keeps no change log. What Windows really logs
is not proven here; see test_audit_collection.py for the live variants.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import FAKE_PASSWORD, FAKE_USER
from fakes.fake_security_log import FakeSecurityLog
from fakes.fake_winrm_endpoint import FakeWinRmEndpoint

from adsuite.connectors.credentials import Secret
from adsuite.connectors.ldap import Directory, Endpoint
from adsuite.formats.ldap_query import Query
from adsuite.formats.sid import sid_from_bytes
from adsuite.journal.records import ChangeRecord
from adsuite.journal.store import Journal
from adsuite.lab.samba import LabStatus

pytestmark = pytest.mark.lab
BASE = "DC=group,DC=example,DC=com"
ALICE = {
    "SubjectUserSid": "S-1-5-21-9-9-9-1201",
    "SubjectUserName": "alice",
    "SubjectDomainName": "GROUP",
}
BOB = {
    "SubjectUserSid": "S-1-5-21-9-9-9-1202",
    "SubjectUserName": "bob",
    "SubjectDomainName": "GROUP",
}


def _inventory(lab: LabStatus, endpoint: FakeWinRmEndpoint, client: str, folder: Path) -> Path:
    winrm = (
        f'{{url: "{endpoint.url}", client: {client}, auth: ntlm, credential: fake-winrm,'
        f' ca_file: "{endpoint.ca_file}"}}'
    )
    dc = f'ldap_url: "{lab.ldap_url}", ca_file: "{lab.ca_file}", tls_name: {lab.tls_name}'
    path = folder / "windows.yml"
    path.write_text(
        f"""domains:
  group:
    realm: {lab.realm}
    base_dn: {lab.base_dn}
    netbios: GROUP
    credential: lab-admin
    preferred_dc: dc1
    dcs:
      dc1: {{{dc}, samba_audit_dir: "{lab.dsdb_audit_log.parent}"}}
      dc2: {{{dc}, winrm_host: dc2}}
hosts:
  dc2: {{address: 127.0.0.1, winrm: {winrm}}}
  fs2: {{address: 127.0.0.1, smb: {{credential: lab-admin}}, winrm: {winrm}}}
  fs1: {{address: 127.0.0.1, smb: {{credential: lab-admin}}}}
credentials:
  lab-admin: {{username: {lab.admin_username}, secret_file: {lab.secret_file}}}
  fake-winrm: {{username: {FAKE_USER}}}
""",
        encoding="utf-8",
    )
    return path


def _playbook(top: str, folder: Path) -> Path:
    acl = (
        "data_owner: {department: IT, head: it.head}, access: [{who: Administrators, rights: full}]"
    )
    path = folder / "playbook.yml"
    path.write_text(
        f"""tasks:
  - ou: {{path: {top}, protected: false}}
  - group: {{name: {top}-g, ou: {top}, description: declared}}
  - file_acl: {{host: fs2, share: data, path: {top}, {acl}}}
  - file_acl: {{host: fs1, share: data, path: {top}-b, {acl}}}
""",
        encoding="utf-8",
    )
    return path


def _cli(*args: str, journal: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ADSUITE_JOURNAL": str(journal), "ADSUITE_CRED_FAKE_WINRM": FAKE_PASSWORD}
    return subprocess.run(
        [sys.executable, "-m", "adsuite", *args],
        capture_output=True, text=True, env=env, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _group_sid(lab: LabStatus, dn: str) -> str:
    password = Secret(Path(lab.secret_file).read_text(encoding="utf-8").strip())
    endpoint = Endpoint(lab.ldap_url, str(lab.ca_file), lab.tls_name, lab.admin_username)
    with Directory.connect(endpoint, password) as directory:
        (entry,) = list(directory.search(Query(dn, "(objectClass=*)", ("objectSid",), "base")))
    return sid_from_bytes(entry.raw("objectSid")[0])


def _journaled(journal: Path) -> dict[str, ChangeRecord]:
    with Journal.open(journal) as opened:
        return {c.target: c for r in opened.runs() for c in opened.changes(r.id)}


def _at(change: ChangeRecord, seconds: float = 0.1) -> datetime:
    return datetime.fromisoformat(change.intent_at) + timedelta(seconds=seconds)


def _windows_logs(top: str, changes: dict[str, ChangeRecord], group_sid: str) -> FakeSecurityLog:
    """What dc2 and fs2 would log: adsuite's own writes, and hand edits around them."""
    group, ou = f"CN={top}-g,OU={top},{BASE}", f"OU={top},{BASE}"
    made = changes[group]
    assert made.via is not None
    address, _, port = made.via.rpartition(":")
    log = FakeSecurityLog(shares={"data": "D:\\Shares\\data"})
    log.logon(_at(made, -5), "0xa1", address, port)  # adsuite's bind
    log.add(5137, _at(made), ObjectDN=group, SubjectLogonId="0xa1", **ALICE)
    log.add(
        5136,
        _at(made, 0.2),
        ObjectDN=ou,
        AttributeLDAPDisplayName="nTSecurityDescriptor",
        OpCorrelationID="{1}",
        SubjectLogonId="0xa1",
        **ALICE,
    )
    log.logon(_at(made, -60), "0xb2", "10.1.2.3", "50000")  # alice's own console
    log.add(
        5136,
        _at(made, 0.5),
        ObjectDN=group,
        AttributeLDAPDisplayName="description",
        OpCorrelationID="{2}",
        OperationType="%%14675",
        SubjectLogonId="0xb2",
        **ALICE,
    )
    log.add(
        5136,
        _at(made, 0.5),
        ObjectDN=group,
        AttributeLDAPDisplayName="description",
        OpCorrelationID="{2}",
        OperationType="%%14674",
        SubjectLogonId="0xb2",
        **ALICE,
    )
    log.add(
        4728,
        _at(made, 1.0),
        TargetSid=group_sid,
        TargetUserName=f"{top}-g",
        MemberName=f"CN=Administrator,CN=Users,{BASE}",
        SubjectLogonId="0xb2",
        **ALICE,
    )
    log.add(
        5136,
        _at(made, 1.0),
        ObjectDN=group,
        AttributeLDAPDisplayName="member",
        OpCorrelationID="{3}",
        OperationType="%%14674",
        SubjectLogonId="0xb2",
        **ALICE,
    )
    log.add(
        5136,
        _at(made, 1.5),
        ObjectDN=f"CN=Unrelated,CN=Users,{BASE}",
        AttributeLDAPDisplayName="info",
        OpCorrelationID="{4}",
        SubjectLogonId="0xb2",
        **ALICE,
    )
    folder = changes[f"\\\\fs2\\data\\{top}"]
    admin = {
        "SubjectUserSid": "S-1-5-21-9-9-9-500",
        "SubjectUserName": "Administrator",
        "SubjectDomainName": "GROUP",
    }
    local = f"D:\\Shares\\data\\{top}"
    log.add(
        4670,
        _at(folder),
        ObjectType="File",
        ObjectName=local,
        OldSd="D:",
        NewSd="D:P(A;OICI;FA;;;BA)",
        SubjectLogonId="0xc3",
        **admin,
    )
    log.add(
        4670,
        _at(folder, 2),
        ObjectType="File",
        ObjectName=local + "\\sub",
        OldSd="D:AI",
        NewSd="D:AI(A;;FA;;;WD)",
        SubjectLogonId="0xd4",
        **BOB,
    )
    log.add(
        4907,
        _at(folder, 3),
        ObjectType="File",
        ObjectName=local,
        OldSd="S:",
        NewSd="S:(AU;SA;FA;;;WD)",
        SubjectLogonId="0xd4",
        **BOB,
    )
    log.add(
        4670,
        _at(folder, 4),
        ObjectType="File",
        ObjectName="D:\\Shares\\other\\x",
        OldSd="D:",
        NewSd="D:P",
        SubjectLogonId="0xd4",
        **BOB,
    )
    return log


def test_windows_dc_and_file_server_changes_outside_adsuite_are_listed_and_adsuites_are_not(
    lab: LabStatus,
    fake_winrm_endpoint: FakeWinRmEndpoint,
    client: str,
    tmp_path: Path,
) -> None:
    top = f"W{os.urandom(4).hex()}"
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="seconds")
    inventory, journal = (
        _inventory(lab, fake_winrm_endpoint, client, tmp_path),
        tmp_path / "j.sqlite",
    )
    applied = _cli(
        "apply", str(_playbook(top, tmp_path)), "-i", str(inventory), "--yes", journal=journal
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    group = f"CN={top}-g,OU={top},{BASE}"
    log = _windows_logs(top, _journaled(journal), _group_sid(lab, group))
    for script, canned in log.canned().items():
        fake_winrm_endpoint.answer(script, canned)
    latest = max(
        datetime.fromisoformat(e["TimeCreated"].replace("Z", "+00:00")) for e in log.entries
    )
    time.sleep(max(0.0, (latest - datetime.now(UTC)).total_seconds()) + 0.2)  # none in the future

    audited = _cli(
        "audit",
        "changes",
        "-i",
        str(inventory),
        "--since",
        since,
        "--format",
        "json",
        journal=journal,
    )
    assert audited.returncode == 2, audited.stdout + audited.stderr
    rows: list[dict[str, Any]] = json.loads(audited.stdout)["changes"]
    assert [
        (r["source"], r["operation"], r["object"], r["attributes"], r["by"], r["from"], r["detail"])
        for r in rows
    ] == [
        ("dc2", "Modify", group, ["description"], "GROUP\\alice", "10.1.2.3:50000", None),
        (
            "dc2",
            "Modify",
            group,
            ["member"],
            "GROUP\\alice",
            "10.1.2.3:50000",
            f"+ member CN=Administrator,CN=Users,{BASE}",
        ),
        ("fs2", "Permissions", f"\\\\fs2\\data\\{top}\\sub", ["dacl"], "GROUP\\bob", None, None),
        ("fs2", "Auditing", f"\\\\fs2\\data\\{top}", ["sacl"], "GROUP\\bob", None, None),
    ]
    assert (
        "file server fs1: no change log; use `adsuite drift` for its ACLs"
        in audited.stderr.splitlines()
    )
    asked = fake_winrm_endpoint.calls_of("get_security_changes")
    assert {tuple(c.parameters["ObjectTypes"]) for c in asked} == {(), ("File",)}
    assert [c.parameters["Shares"] for c in fake_winrm_endpoint.calls_of("get_share_paths")] == [
        ["data"]
    ]

    text = _cli("audit", "changes", "-i", str(inventory), "--since", since, journal=journal)
    assert text.returncode == 2
    assert (
        f"Auditing {chr(92) * 2}fs2{chr(92)}data{chr(92)}{top}  [sacl]  by GROUP{chr(92)}bob from unknown (logged by fs2)"
        in text.stdout
    )
    assert "4 change(s) outside adsuite" in text.stdout
