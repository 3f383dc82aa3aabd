"""Kerberos with a keytab against the lab DC, which requires strong authentication
(Samba's default ``ldap server require strong auth = yes``): a service account whose
inventory credential names only a keytab reads the directory over a sealed GSSAPI bind
and SYSVOL over SMB; no password is anywhere, the default ticket cache is untouched,
and a wrong keytab is one line and exit 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import ldap3
import pytest
from labkit import Cli, Lab

from adsuite.connectors import credentials, kerberos
from adsuite.connectors import ldap as ldap_module
from adsuite.connectors.ldap import Directory, Endpoint
from adsuite.connectors.ldap_gssapi import SealedSocket
from adsuite.errors import CredentialError
from adsuite.formats.ldap_query import Query
from adsuite.journal.store import Journal
from adsuite.lab.keytab import kerberos_config, service_keytab

pytestmark = pytest.mark.lab

# Only the Default Domain Policy: its reader reads the GPT from SYSVOL over SMB.
PLAYBOOK = """name: Kerberos read of SYSVOL
domain: group
tasks:
  - name: The Default Domain Policy states the password policy
    default_domain_policy: {min_length: 8, max_age: 180, min_age: 1, history: 5}
"""


def strong_auth(lab_env: Lab) -> str:
    done = subprocess.run(
        [
            "testparm",
            "-s",
            "--parameter-name=ldap server require strong auth",
            str(lab_env.status.smb_conf),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().lower()


@pytest.fixture(scope="module")
def account(lab_env: Lab, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A service account of this module's own and its keytab."""
    name = f"svc-kt-{uuid.uuid4().hex[:6]}"
    folder = tmp_path_factory.mktemp("keytab")
    keytab = service_keytab(
        lab_env.status.state_dir, name, folder / "svc.keytab", lab_env.status.realm
    )
    return f"{name}@{lab_env.status.realm}", keytab


def kerberos_inventory(lab_env: Lab, folder: Path, principal: str, keytab: Path) -> Path:
    status = lab_env.status
    config = ", ".join(f'"{p}"' for p in kerberos_config(status.state_dir))
    (folder / "ddp.yml").write_text(PLAYBOOK, encoding="utf-8")
    path = folder / "kerberos.yml"
    path.write_text(
        f"""domains:
  group:
    realm: {status.realm}
    base_dn: {status.base_dn}
    netbios: GROUP
    credential: svc
    dcs:
      dc1: {{ldap_url: "{status.ldap_url}", ca_file: "{status.ca_file}", tls_name: {status.tls_name}}}
credentials:
  svc:
    kerberos:
      keytab: {keytab}
      principal: {principal}
      config: [{config}]
""",
        encoding="utf-8",
    )
    return path


def test_the_lab_dc_requires_strong_authentication(lab_env: Lab) -> None:
    assert strong_auth(lab_env) == "yes"


def test_a_keytab_binds_to_ldap_sealed_on_389(lab_env: Lab, account: tuple[str, Path]) -> None:
    principal, keytab = account
    status = lab_env.status
    ticket = kerberos.login(
        keytab=keytab, principal=principal, config=kerberos_config(status.state_dir)
    )
    assert ticket.ccache.startswith("MEMORY:")
    endpoint = Endpoint(status.ldap_url, str(status.ca_file), status.tls_name, principal)
    with Directory.connect(endpoint, ticket) as directory:
        sock = directory._conn.socket
        assert isinstance(sock, SealedSocket)
        assert sock.getpeername()[1] == 389
        name = principal.split("@")[0]
        found = directory.read(f"CN={name},CN=Users,{status.base_dn}", ["sAMAccountName"])
        assert found is not None and found.text("samaccountname") == name


def test_a_pipelined_batch_over_the_sealed_socket_is_the_sequential_read(
    lab_env: Lab, account: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ldap_module, "PAGE_SIZE", 100)  # every query spans several pages
    principal, keytab = account
    status = lab_env.status
    ticket = kerberos.login(
        keytab=keytab, principal=principal, config=kerberos_config(status.state_dir)
    )
    endpoint = Endpoint(status.ldap_url, str(status.ca_file), status.tls_name, principal)
    schema = f"CN=Schema,CN=Configuration,{status.base_dn}"
    queries = [
        Query(schema, "(objectClass=attributeSchema)", ("lDAPDisplayName", "linkID"), "one"),
        Query(schema, "(objectClass=classSchema)", ("lDAPDisplayName",), "one"),
        Query(status.base_dn, "(objectClass=*)", ("objectGUID",), extended_dn=True),
        Query(f"OU=gone,{status.base_dn}", "(objectClass=*)", ("name",)),
    ]
    with Directory.connect(endpoint, ticket) as directory:
        assert isinstance(directory._conn.socket, SealedSocket)
        sequential = {q: list(directory.search_wire(q)) for q in queries}
        before = directory.round_trips
        assert directory.search_many_wire(queries) == sequential
        assert directory.round_trips - before > len(queries)  # paged, several in flight
    assert all(len(sequential[q]) > 100 for q in queries[:3])


def test_ldap3s_own_gssapi_bind_without_a_layer_is_refused(
    lab_env: Lab, account: tuple[str, Path]
) -> None:
    """Why adsuite seals itself: stock ldap3 2.9.1 negotiates no security layer."""
    principal, keytab = account
    status = lab_env.status
    ticket = kerberos.login(
        keytab=keytab, principal=principal, config=kerberos_config(status.state_dir)
    )
    host = status.ldap_url.split("//")[1].split(":")[0]
    with kerberos.environment(ticket):
        conn = ldap3.Connection(
            ldap3.Server(host, port=389, get_info=ldap3.NONE),
            authentication=ldap3.SASL,
            sasl_mechanism=ldap3.KERBEROS,
            sasl_credentials=(status.tls_name,),
            cred_store=dict(ticket.store),
            user=principal,
        )
        conn.open()
        assert not conn.bind()
        conn.unbind()
    assert "Sign or Seal are required" in conn.result["message"]


def test_drift_with_only_a_keytab_reads_ldap_and_sysvol(
    lab_env: Lab, account: tuple[str, Path], tmp_path: Path, cli
) -> None:
    principal, keytab = account
    inventory = kerberos_inventory(lab_env, tmp_path, principal, keytab)
    text = inventory.read_text(encoding="utf-8")
    assert "secret_file" not in text and "username" not in text
    with pytest.raises(CredentialError):
        credentials.resolve("svc")  # nothing in the environment or the keyring
    default_cache = tmp_path / "krb5cc_default"
    result: Cli = cli(
        "drift",
        str(tmp_path / "ddp.yml"),
        "-i",
        str(inventory),
        "--format",
        "json",
        env={"KRB5CCNAME": f"FILE:{default_cache}"},
    )
    assert result.code in (0, 2), result.err
    doc = json.loads(result.out)
    # its reader signed in to SYSVOL over SMB (a failed sign-in is exit 1)
    assert [f["kind"] for f in doc["findings"]] == ["default_domain_policy"]
    assert not default_cache.exists()
    with Journal.open(lab_env.journal) as journal:
        assert journal.run(doc["run_id"]).operator["bind_identity"] == principal


def test_a_keytab_without_the_principal_is_one_line(
    lab_env: Lab, account: tuple[str, Path], tmp_path: Path, cli
) -> None:
    _, keytab = account
    wrong = f"nobody-{uuid.uuid4().hex[:4]}@{lab_env.status.realm}"
    inventory = kerberos_inventory(lab_env, tmp_path, wrong, keytab)
    result = cli("drift", str(tmp_path / "ddp.yml"), "-i", str(inventory))
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert lines[0].startswith(
        f"adsuite: credential 'svc': no Kerberos ticket from keytab {keytab}"
    )
    assert "Traceback" not in result.err


def test_a_keytab_others_can_read_is_refused_at_load(
    lab_env: Lab, account: tuple[str, Path], tmp_path: Path, cli
) -> None:
    principal, keytab = account
    shared = tmp_path / "shared.keytab"
    shared.write_bytes(keytab.read_bytes())
    shared.chmod(0o644)
    inventory = kerberos_inventory(lab_env, tmp_path, principal, shared)
    result = cli("drift", str(tmp_path / "ddp.yml"), "-i", str(inventory))
    assert result.code == 1
    assert result.err.strip().splitlines()[0] == (
        f"adsuite: {inventory}:12: {shared} is readable by others (mode 644); chmod 600 it"
    ), result.err


def kdc_logons(lab_env: Lab, principal: str) -> int:
    """Successful Kerberos AS exchanges (4624, "Kerberos KDC") of *principal* in the DC's
    auth audit log: each account below is this module's own and made for one test."""
    log = lab_env.status.state_dir / "log" / "auth_audit.log"
    count = 0
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if "{" not in line:
            continue
        event = json.loads(line[line.index("{") :]).get("Authentication") or {}
        if event.get("clientAccount") == principal and event.get("serviceDescription") == (
            "Kerberos KDC"
        ):
            count += 1
    return count


def own_account(lab_env: Lab, folder: Path, admin: bool = False) -> tuple[str, Path]:
    """A fresh service account (its AS exchanges are this test's only) and its keytab."""
    name = f"svc-k2-{uuid.uuid4().hex[:6]}"
    keytab = service_keytab(
        lab_env.status.state_dir, name, folder / "own.keytab", lab_env.status.realm
    )
    if admin:  # an online backup replicates every secret: Domain Admins only
        subprocess.run(
            ["samba-tool", "group", "addmembers", "Domain Admins", name,
             "-s", str(lab_env.status.smb_conf), "-H", str(lab_env.status.state_dir / "private" / "sam.ldb")],
            capture_output=True, check=True,
        )  # fmt: skip
    return f"{name}@{lab_env.status.realm}", keytab


def test_health_with_only_a_keytab_binds_sealed_and_checks_ldaps_without_a_bind(
    lab_env: Lab, tmp_path: Path, cli
) -> None:
    principal, keytab = own_account(lab_env, tmp_path)
    inventory = kerberos_inventory(lab_env, tmp_path, principal, keytab)
    assert strong_auth(lab_env) == "yes"
    result: Cli = cli("health", "-i", str(inventory), "--format", "json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    measured = doc["measured"]["dc1"]
    assert (measured["ldap_bind"], measured["ldaps_tls"], measured["smb_sysvol"]) == (
        True,
        True,
        True,
    )
    assert "ldaps_bind" not in measured  # no bind over TLS is claimed
    with Journal.open(lab_env.journal) as journal:
        run = journal.run(doc["run_id"])
    assert (run.mode, run.status, run.operator["bind_identity"]) == ("health", "healthy", principal)
    assert kdc_logons(lab_env, principal) == 1  # one AS exchange for the whole run


def test_backup_with_only_a_keytab_runs_samba_tool_on_a_private_ccache(
    lab_env: Lab, tmp_path: Path
) -> None:
    principal, keytab = own_account(lab_env, tmp_path, admin=True)
    inventory = kerberos_inventory(lab_env, tmp_path, principal, keytab)
    backups = tmp_path / "backups"
    with inventory.open("a", encoding="utf-8") as handle:
        handle.write(f"backups: {{folder: {backups}, keep: 2}}\n")
    # Kerberos names the DC by its DNS name, which the lab's DNS does not publish for a
    # loopback address: the child process gets a hosts file saying it (as a domain
    # member's resolver would), in a mount namespace of its own.
    hosts = tmp_path / "hosts"
    hosts.write_text(
        Path("/etc/hosts").read_text() + f"127.0.0.1 {lab_env.status.tls_name}\n", "utf-8"
    )
    temp = tmp_path / "tmp"
    temp.mkdir()
    script = 'mount --bind "$0" /etc/hosts && exec "$@"'
    done = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script, str(hosts),
         sys.executable, "-m", "adsuite", "backup", "-i", str(inventory), "--format", "json"],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
        env={**os.environ, "ADSUITE_JOURNAL": str(lab_env.journal), "TMPDIR": str(temp)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert Path(doc["path"]).is_file()
    assert list(temp.iterdir()) == []  # the private ccache and its folder are gone
    with Journal.open(lab_env.journal) as journal:
        run = journal.run(doc["run_id"])
    assert (run.mode, run.status, run.operator["bind_identity"]) == ("backup", "ok", principal)
    assert kdc_logons(lab_env, principal) == 1


def test_a_ccache_credential_journals_the_principal_it_holds(
    lab_env: Lab, account: tuple[str, Path], tmp_path: Path, cli
) -> None:
    principal, keytab = account
    cache = tmp_path / "cc"
    config = ":".join(str(p) for p in kerberos_config(lab_env.status.state_dir))
    subprocess.run(
        ["kinit", "-k", "-t", str(keytab), principal],
        env={**os.environ, "KRB5CCNAME": f"FILE:{cache}", "KRB5_CONFIG": config},
        check=True, capture_output=True,
    )  # fmt: skip
    cache.chmod(0o600)
    inventory = kerberos_inventory(lab_env, tmp_path, principal, keytab)
    text = inventory.read_text(encoding="utf-8")
    keytab_lines = f"      keytab: {keytab}\n      principal: {principal}\n"
    inventory.write_text(text.replace(keytab_lines, f"      ccache: {cache}\n"), "utf-8")
    assert principal not in inventory.read_text(encoding="utf-8")
    result: Cli = cli("drift", str(tmp_path / "ddp.yml"), "-i", str(inventory), "--format", "json")
    assert result.code in (0, 2), result.err
    with Journal.open(lab_env.journal) as journal:
        operator = journal.run(json.loads(result.out)["run_id"]).operator
    assert operator["bind_identity"] == principal


def test_a_drift_run_asks_the_kdc_once(lab_env: Lab, tmp_path: Path, cli) -> None:
    principal, keytab = own_account(lab_env, tmp_path)
    inventory = kerberos_inventory(lab_env, tmp_path, principal, keytab)
    result: Cli = cli("drift", str(tmp_path / "ddp.yml"), "-i", str(inventory))
    assert result.code in (0, 2), result.err
    assert kdc_logons(lab_env, principal) == 1  # LDAP, SYSVOL over SMB: one TGT
