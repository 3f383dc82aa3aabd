"""The lab DC against the real thing: Samba started by the session fixture ``lab``."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lab_fixture import lab_config_for_tests
from ldap3 import BASE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPSocketOpenError

from adsuite.cli.lab import lab as lab_command
from adsuite.errors import LabError
from adsuite.lab import provision as provision_module
from adsuite.lab.config import LabPaths
from adsuite.lab.samba import Lab, LabConfig, LabStatus
from adsuite.lab.secret import write_secret

pytestmark = pytest.mark.lab


def _ldaps_connection(status: LabStatus, password: str, ca_file: Path) -> Connection:
    tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(ca_file), valid_names=[status.tls_name])
    server = Server("127.0.0.1", port=636, use_ssl=True, tls=tls, connect_timeout=5)
    return Connection(server, user=status.admin_username, password=password, raise_exceptions=True)


def _foreign_ca(folder: Path) -> Path:
    """A CA that did not sign the lab DC's certificate."""
    key, cert = folder / "other-ca.key", folder / "other-ca.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    command += ["-subj", "/CN=Not the lab CA", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(command, check=True, capture_output=True)
    return cert


def _logons(log_file: Path, offset: int, account: str) -> list[dict[str, Any]]:
    """The 4624 (successful logon) events for ``account`` written after ``offset``."""
    with log_file.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode("utf-8")
    text = text[: text.rfind("\n") + 1]  # Samba may be mid-way through the last line
    events = [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
    authentications = [event.get("Authentication") or {} for event in events]
    return [
        auth
        for auth in authentications
        if auth.get("eventId") == 4624 and auth.get("becameAccount") == account
    ]


def test_up_twice_is_harmless_and_keeps_the_same_pid(lab: LabStatus) -> None:
    steps: list[str] = []
    now = Lab(lab_config_for_tests()).status()  # test_dc_loss restarts the DC: a new pid
    again = Lab(lab_config_for_tests()).up(on_step=steps.append)
    assert now.pid is not None and again.running and again.pid == now.pid
    assert steps == [f"lab DC already running (pid {now.pid})"]


def test_status_reports_running_with_the_documented_fields(lab: LabStatus) -> None:
    status = Lab(lab_config_for_tests()).status()
    state = status.state_dir
    assert status.running and status.provisioned and status.pid is not None
    assert status.base_dn == "DC=group,DC=example,DC=com"
    assert status.ldap_url == "ldaps://127.0.0.1:636"
    assert status.ca_file == state / "private" / "tls" / "ca.pem" and status.ca_file.is_file()
    assert status.tls_name == "dc1.group.example.com"
    assert status.admin_username == "Administrator@GROUP.EXAMPLE.COM"
    assert status.credential_name == "lab-admin"
    assert status.secret_file.stat().st_mode & 0o777 == 0o600
    assert (status.sysvol_path / "group.example.com" / "Policies").is_dir()
    assert status.data_share == "data" and status.data_path == state / "data"
    assert status.data_path.is_dir()
    assert (state / "run" / "samba.pid").read_text().strip() == str(status.pid)


def test_status_json_lists_the_fields_and_never_the_password(lab: LabStatus) -> None:
    state = str(lab.state_dir)
    result = CliRunner().invoke(lab_command, ["status", "--format", "json", "--state-dir", state])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["running"] is True and data["pid"] == Lab(lab_config_for_tests()).status().pid
    assert data["ca_file"] == str(lab.ca_file)
    assert data["secret_file"] == str(lab.secret_file)
    assert Lab(lab_config_for_tests()).admin_password() not in result.output


def test_status_exits_3_when_the_lab_is_not_running(tmp_path: Path) -> None:
    result = CliRunner().invoke(lab_command, ["status", "--state-dir", str(tmp_path)])
    assert result.exit_code == 3
    assert "not running" in result.output


def test_ldaps_bind_with_the_generated_credential_validates_the_certificate(
    lab: LabStatus,
) -> None:
    password = Lab(lab_config_for_tests()).admin_password()
    connection = _ldaps_connection(lab, password, lab.ca_file)
    connection.bind()
    try:
        connection.search(lab.base_dn, "(objectClass=domain)", BASE, attributes=["name"])
        assert str(connection.entries[0].name) == "group"
    finally:
        connection.unbind()


def test_ldaps_bind_against_a_foreign_ca_fails_validation(lab: LabStatus, tmp_path: Path) -> None:
    password = Lab(lab_config_for_tests()).admin_password()
    connection = _ldaps_connection(lab, password, _foreign_ca(tmp_path))
    with pytest.raises(LDAPSocketOpenError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify"):
        connection.bind()


def test_a_bind_is_written_to_the_auth_audit_log_as_event_4624(lab: LabStatus) -> None:
    offset = lab.auth_audit_log.stat().st_size
    connection = _ldaps_connection(lab, Lab(lab_config_for_tests()).admin_password(), lab.ca_file)
    connection.bind()
    connection.unbind()
    deadline = time.monotonic() + 10
    logons = _logons(lab.auth_audit_log, offset, "Administrator")
    while not logons and time.monotonic() < deadline:
        time.sleep(0.2)
        logons = _logons(lab.auth_audit_log, offset, "Administrator")
    assert logons, f"no 4624 logon for Administrator in {lab.auth_audit_log}"
    assert logons[-1]["serviceDescription"] == "LDAP"


def test_the_data_share_is_reachable_with_smbclient(lab: LabStatus, tmp_path: Path) -> None:
    marker = f"reachable-{os.getpid()}.txt"
    (lab.data_path / marker).write_text("hello\n")
    auth_file = tmp_path / "smb-auth"
    auth_file.touch(mode=0o600)
    password = Lab(lab_config_for_tests()).admin_password()
    auth_file.write_text(f"username = Administrator\npassword = {password}\ndomain = GROUP\n")
    try:
        result = subprocess.run(
            ["smbclient", f"//127.0.0.1/{lab.data_share}", "-A", str(auth_file), "-c", "ls"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        (lab.data_path / marker).unlink()
    assert result.returncode == 0, result.stderr
    assert marker in result.stdout


def test_up_refuses_a_taken_port_and_names_it(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        config = LabConfig(state_dir=tmp_path / "lab", required_ports=(port,))
        with pytest.raises(LabError, match=f"port {port} on 127.0.0.1 is already in use"):
            Lab(config).up()
    assert not (tmp_path / "lab").exists(), "nothing may be provisioned before the check"


def test_failed_provisioning_reports_samba_tools_error_without_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = "Known-Pa55word.for.this.test"
    monkeypatch.setattr(provision_module, "generate_password", lambda: password)
    state = tmp_path / "lab"
    # Samba refuses a host name equal to the NetBIOS domain name.
    config = LabConfig(state_dir=state, host_name="group", required_ports=())
    with pytest.raises(LabError) as caught:
        Lab(config).up()
    message = f"{caught.value} {caught.value.hint}"
    assert "must not be equal to short host name" in message
    assert password not in message
    assert list(state.iterdir()) == [], "a failed provisioning leaves nothing behind"


def test_waiting_for_a_dc_that_never_answers_times_out_with_a_clear_error(
    tmp_path: Path,
) -> None:
    # Nothing listens on 127.0.0.2 (still loopback), so every LDAPS attempt is refused.
    config = LabConfig(state_dir=tmp_path, host_ip="127.0.0.2")
    write_secret(LabPaths(tmp_path).secret_file, "Unused-Pa55word")
    started = time.monotonic()
    with pytest.raises(LabError, match=r"did not accept an LDAPS bind on ldaps://127\.0\.0\.2:636"):
        Lab(config).wait_ready(timeout=1.5)
    assert time.monotonic() - started < 10
