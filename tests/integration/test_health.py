"""`adsuite health` against the real lab DC: its services answer (a real KDC reads our
AS-REQ, Samba's DNS answers our SRV query), a GPT.INI broken by hand in the DC's SYSVOL
is found naming that GPO and clears when repaired, a DC of the inventory that does not
answer is named, and the journaled runs decide the compliance evidence of 四.1."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from labkit import Cli, Lab

from adsuite.journal import evidence
from adsuite.journal.evidence import Recent
from adsuite.journal.store import Journal

DDCP = "{6AC1786C-016F-11D2-945F-00C04FB984F9}"  # Default Domain Controllers Policy
SERVICE_CHECKS = {"ldap", "ldaps", "kerberos", "smb", "dns", "clock", "certificate", "fsmo"}


def health(cli: Callable[..., Cli], inventory: Path) -> tuple[int, dict[str, Any]]:
    done = cli("health", "-i", str(inventory), "--format", "json")
    assert done.code in (0, 2), done.err
    return done.code, json.loads(done.out)


def ids(report: dict[str, Any]) -> set[str]:
    return {f["id"] for f in report["findings"]}


@pytest.fixture()
def ddcp_gpt_ini(lab_env: Lab) -> Iterator[Path]:
    """The DDCP's GPT.INI in the DC's own SYSVOL folder, put back byte for byte after."""
    policies = lab_env.status.sysvol_path / lab_env.status.realm.lower() / "Policies"
    (folder,) = [p for p in policies.iterdir() if p.name.upper() == DDCP]
    path = folder / "GPT.INI"
    original = path.read_bytes()
    try:
        yield path
    finally:
        path.write_bytes(original)  # same inode: its NT ACL (an xattr) stays


def test_every_service_of_the_lab_dc_answers_and_the_run_is_journaled(
    lab_env: Lab, cli: Callable[..., Cli]
) -> None:
    code, report = health(cli, lab_env.inventory)
    assert code == (2 if report["findings"] else 0)
    assert {f["check"] for f in report["findings"]} & SERVICE_CHECKS == set(), report["findings"]
    dc1 = report["measured"]["dc1"]
    assert dc1["kerberos"] == "KDC_ERR_PREAUTH_REQUIRED"  # a real KDC parsed our AS-REQ
    assert dc1["dns_srv"] == [lab_env.status.tls_name.lower()]
    assert (dc1["ldaps_bind"], dc1["ldap_bind"], dc1["smb_sysvol"]) == (True, True, True)
    assert abs(dc1["clock_skew_seconds"]) < 2  # the same host's clock, to the second
    assert dc1["certificate_days_left"] > 30
    assert dc1["gpos_compared"] >= 2
    roles = {"pdc", "rid", "infrastructure", "schema", "naming"}
    assert {report["measured"]["domain"][f"fsmo_{r}"] for r in roles} == {"dc1"}
    assert report["measured"]["domain"]["tombstone_lifetime_days"] == 180
    assert {"dc": "domain", "check": "replication", "text": "single DC: no partners"} in report[
        "info"
    ]
    with Journal.open(lab_env.journal) as journal:
        run = journal.run(report["run_id"])
    assert (run.mode, run.status) == ("health", report["status"])
    assert run.extra["measured"] == report["measured"]


def test_a_gpt_ini_broken_in_sysvol_is_named_until_repaired(
    lab_env: Lab, cli: Callable[..., Cli], ddcp_gpt_ini: Path
) -> None:
    finding_id = f"health:dc1:gpo:{DDCP}"
    _, before = health(cli, lab_env.inventory)
    assert finding_id not in ids(before)
    original = ddcp_gpt_ini.read_bytes()
    version = int(original.decode().split("Version=")[1].split()[0])
    ddcp_gpt_ini.write_bytes(f"[General]\r\nVersion={version + 7}\r\n".encode())

    code, broken = health(cli, lab_env.inventory)
    assert code == 2
    (found,) = [f for f in broken["findings"] if f["id"] == finding_id]
    assert f"LDAP version {version}, GPT.INI version {version + 7}" in found["text"]
    assert "Default Domain Controllers Policy" in found["text"]

    ddcp_gpt_ini.write_bytes(original)
    _, repaired = health(cli, lab_env.inventory)
    assert finding_id not in ids(repaired)

    with Journal.open(lab_env.journal) as journal:
        broken_run, repaired_run = journal.run(broken["run_id"]), journal.run(repaired["run_id"])
    window = Recent(24, "")  # both runs are recent: what counts is which is the newest
    unhealthy = evidence.health_runs([broken_run], "health checks", "", window)
    assert not unhealthy.met and unhealthy.findings == len(broken["findings"])
    assert any(DDCP in line.text for line in unhealthy.lines)
    newest = evidence.health_runs([repaired_run, broken_run], "health checks", "", window)
    assert newest.met == (repaired["status"] == "healthy")
    assert newest.findings == len(repaired["findings"])


def test_a_dc_of_the_inventory_that_does_not_answer_is_named(
    lab_env: Lab, cli: Callable[..., Cli], tmp_path: Path
) -> None:
    status = lab_env.status
    text = lab_env.inventory.read_text(encoding="utf-8")
    absent = (
        f'      dc9: {{ldap_url: "ldaps://127.0.0.9:636", ca_file: "{status.ca_file}", '
        "tls_name: dc9.group.example.com}\n"
    )
    lines = text.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith("dc1:")) + 1
    inventory = tmp_path / "two-dcs.yml"
    inventory.write_text("".join([*lines[:at], absent, *lines[at:]]), encoding="utf-8")

    code, report = health(cli, inventory)
    assert code == 2
    found = ids(report)
    for check in ("ldaps", "ldap", "kerberos", "smb", "dns", "certificate"):
        assert f"health:dc9:{check}" in found
    assert "health:dc1:dns" in found, "dc1's DNS does not list dc9"
    (dns,) = [f for f in report["findings"] if f["id"] == "health:dc1:dns"]
    assert "does not list dc9 (dc9.group.example.com)" in dns["text"]
    assert not {f"health:dc1:{c}" for c in ("ldaps", "ldap", "kerberos", "smb")} & found
    assert report["measured"]["dc9"]["ldaps_bind"] is False
    # replication to dc9 cannot be confirmed, and dc1 pulls from no dc9: both are found
    assert "health:dc9:replication:latency:dc1" in found
    assert "health:dc1:replication:dc9" in found
    assert report["measured"]["dc9"]["replication_seconds_from_dc1"] is None


def test_a_credential_every_dc_refuses_is_an_error_and_journals_nothing(
    lab_env: Lab, cli: Callable[..., Cli]
) -> None:
    with Journal.open(lab_env.journal) as journal:
        before = len(journal.runs())
    done = cli("health", "-i", str(lab_env.inventory), env={"ADSUITE_CRED_LAB_ADMIN": "wrong-9Zq"})
    assert done.code == 1, "the DC answered: the credential is the caller's mistake"
    assert done.err.startswith("adsuite: bind to ") and "refused" in done.err
    assert "wrong-9Zq" not in done.out + done.err and "Traceback" not in done.err
    with Journal.open(lab_env.journal) as journal:
        assert len(journal.runs()) == before
