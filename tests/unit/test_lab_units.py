"""Pure parts of the lab module: smb.conf patching, passwords, ports, status, errors."""

from __future__ import annotations

import json
import socket
import string
from pathlib import Path

import pytest

from adsuite.errors import LabError
from adsuite.lab.config import LabConfig, LabPaths, make_status
from adsuite.lab.process import check_ports_free
from adsuite.lab.provision import last_meaningful_line
from adsuite.lab.secret import generate_password, read_secret, write_secret
from adsuite.lab.smbconf import krb5_overlay_text, lab_smb_conf_options, patch_smb_conf

# Shaped like what `samba-tool domain provision --targetdir=/lab` writes.
PROVISIONED = """# Global parameters
[global]
\tbind interfaces only = Yes
\tinterfaces = lo
\tlog file = /var/log/samba/log.%m
\tprivate dir = /lab/private
\trealm = GROUP.EXAMPLE.COM
\tserver role = active directory domain controller
\tidmap_ldb:use rfc2307 = yes

[sysvol]
\tpath = /lab/state/sysvol
\tread only = No

[netlogon]
\tpath = /lab/state/sysvol/group.example.com/scripts
\tread only = No
"""


def _lab_patch() -> dict[str, dict[str, str]]:
    return lab_smb_conf_options(LabPaths(Path("/lab")))


def test_patch_adds_audit_logs_and_private_run_dirs_to_global() -> None:
    patched = patch_smb_conf(PROVISIONED, _lab_patch())
    global_section = patched.split("[sysvol]")[0]
    assert (
        "\tlog level = 1 auth_json_audit:3@/lab/log/auth_audit.log"
        " dsdb_json_audit:5@/lab/log/dsdb_audit.log"
        " dsdb_group_json_audit:5@/lab/log/group_audit.log\n"
    ) in global_section
    assert "\tpid directory = /lab/run\n" in global_section
    assert "winbindd socket directory" not in global_section  # smbd could not find it


def test_patch_replaces_an_existing_option_instead_of_repeating_it() -> None:
    patched = patch_smb_conf(PROVISIONED, _lab_patch())
    assert "/var/log/samba" not in patched
    assert patched.count("log file =") == 1


def test_patch_matches_option_names_ignoring_case_and_blanks() -> None:
    text = "[global]\n\tLogLevel = 0\n\tLOG  LEVEL = 0\n"
    patched = patch_smb_conf(text, {"global": {"log level": "3"}})
    assert patched == "[global]\n\tlog level = 3\n\tlog level = 3\n"


def test_patch_appends_the_data_share_and_leaves_other_shares_alone() -> None:
    patched = patch_smb_conf(PROVISIONED, _lab_patch())
    assert patched.endswith("\n[data]\n\tpath = /lab/data\n\tread only = No\n")
    assert "[sysvol]\n\tpath = /lab/state/sysvol\n\tread only = No\n" in patched


def test_patch_applied_twice_changes_nothing_more() -> None:
    once = patch_smb_conf(PROVISIONED, _lab_patch())
    assert patch_smb_conf(once, _lab_patch()) == once


def test_patch_updates_an_existing_share_in_place() -> None:
    text = "[global]\n\trealm = X\n\n[data]\n\tpath = /old\n\n[other]\n\tpath = /o\n"
    patched = patch_smb_conf(text, {"data": {"path": "/new", "read only": "No"}})
    assert patched == (
        "[global]\n\trealm = X\n\n[data]\n\tpath = /new\n\tread only = No\n\n[other]\n\tpath = /o\n"
    )


def test_krb5_overlay_names_the_lab_kdc() -> None:
    text = krb5_overlay_text(LabConfig(state_dir=Path("/lab")))
    assert text == "[realms]\n\tGROUP.EXAMPLE.COM = {\n\t\tkdc = 127.0.0.1\n\t}\n"


def test_generated_password_has_all_four_complexity_classes() -> None:
    for _ in range(200):
        password = generate_password()
        assert len(password) == 24
        assert any(c in string.ascii_lowercase for c in password)
        assert any(c in string.ascii_uppercase for c in password)
        assert any(c in string.digits for c in password)
        assert any(not c.isalnum() for c in password)
        assert not set(password) & set(" \t\"'\\%=#;")


def test_generated_passwords_differ() -> None:
    assert len({generate_password() for _ in range(50)}) == 50


def test_secret_file_is_created_mode_0600_and_read_back(tmp_path: Path) -> None:
    secret = tmp_path / "private" / "admin.secret"
    write_secret(secret, "Pa55-word")
    assert secret.stat().st_mode & 0o777 == 0o600
    assert read_secret(secret) == "Pa55-word"


def test_missing_secret_is_a_lab_error_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(LabError) as caught:
        read_secret(tmp_path / "nope.secret")
    assert caught.value.hint is not None and "lab up" in caught.value.hint


def test_port_check_names_the_port_another_socket_holds() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(LabError) as caught:
            check_ports_free("127.0.0.1", [port])
    assert f"port {port} on 127.0.0.1" in str(caught.value)


def test_port_check_passes_on_a_free_port() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as finder:
        finder.bind(("127.0.0.1", 0))
        port = finder.getsockname()[1]
    check_ports_free("127.0.0.1", [port])


def test_status_derives_every_path_from_the_state_folder(tmp_path: Path) -> None:
    status = make_status(LabConfig(state_dir=tmp_path), running=False, pid=None)
    assert status.base_dn == "DC=group,DC=example,DC=com"
    assert status.ldap_url == "ldaps://127.0.0.1:636"
    assert status.tls_name == "dc1.group.example.com"
    assert status.admin_username == "Administrator@GROUP.EXAMPLE.COM"
    assert status.ca_file == tmp_path / "private" / "tls" / "ca.pem"
    assert status.secret_file == tmp_path / "private" / "adsuite-lab-admin.secret"
    assert status.sysvol_path == tmp_path / "state" / "sysvol"
    assert status.data_path == tmp_path / "data"
    assert status.provisioned is False
    assert json.loads(json.dumps(status.to_dict()))["state_dir"] == str(tmp_path)


def test_samba_tool_error_line_is_preferred_over_the_traceback() -> None:
    output = (
        "INFO something\n"
        "ERROR(<class 'samba.provision.ProvisioningError'>): Provision failed - boom\n"
        '  File "/usr/lib/python3/dist-packages/samba/netcmd/domain.py", line 493, in run\n'
    )
    assert last_meaningful_line(output) == "ERROR: Provision failed - boom"
    assert last_meaningful_line("a\n\nlast words\n\n") == "last words"
