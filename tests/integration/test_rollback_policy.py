"""Rollback of password policy, Default Domain Policy, PSO, site and subnet runs on the
lab DC: the before state comes back (read with ldap3, and Samba's own GptTmpl.inf
parser for the Default Domain Policy), a second rollback plans nothing, an object edited
since the run is left alone, and a rollback never goes below the 二.2.c floor by itself.

The domain policy and the Default Domain Policy are shared by the whole session: the
``policies`` fixture starts each test from Samba's provisioning defaults and puts back
what it found afterwards, pass or fail. The values set here never lock anyone out and
accept the 24-character passwords other tests generate.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fileshare import write_authfile
from helpers import run_id_of
from labkit import Cli, Lab
from samba_gp_oracle import samba_read
from sysvol import gpc, gpt_file

from adsuite.connectors.ldap import Directory

pytestmark = pytest.mark.lab

BASE = "DC=group,DC=example,DC=com"
SITES = f"CN=Sites,CN=Configuration,{BASE}"
PSOS = f"CN=Password Settings Container,CN=System,{BASE}"
DDP = "{31B2F340-016D-11D2-945F-00C04FB984F9}"
GPTTMPL = "Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf"
EXTENSIONS = "gPCMachineExtensionNames"
SAMBA_DEFAULTS = {  # what `samba-tool domain provision` sets on the domain object
    "minPwdLength": "7", "pwdHistoryLength": "24", "minPwdAge": "-864000000000",
    "maxPwdAge": "-36288000000000", "pwdProperties": "1", "lockoutThreshold": "0",
    "lockOutObservationWindow": "-18000000000", "lockoutDuration": "-18000000000",
}  # fmt: skip
POLICY = {"min_length": 10, "history": 5, "max_age": 150, "lockout_window": 20}


def apply(cli: Callable[..., Cli], playbook: Path, inv: str) -> str:
    """Apply *playbook*; its journal run."""
    applied = cli("apply", str(playbook), "-i", inv, "--yes", "--format", "json")
    assert applied.code == 0, applied.err + applied.out
    return run_id_of(applied.out)


def rollback_twice(cli: Callable[..., Cli], run: str, inv: str) -> Cli:
    """Roll *run* back completely; a second rollback of it plans nothing."""
    undone = cli("rollback", run, "-i", inv, "--yes")
    assert undone.code == 0, undone.err + undone.out
    again = cli("rollback", run, "-i", inv, "--yes")
    assert again.code == 0 and "No changes" in again.out, again.err + again.out
    return undone


def attributes(directory: Directory, dn: str, names: list[str]) -> dict[str, list[str]] | None:
    entry = directory.read(dn, names)
    return None if entry is None else {n: sorted(entry.texts(n)) for n in names}


def domain_policy(directory: Directory) -> dict[str, str | None]:
    entry = directory.read(BASE, list(SAMBA_DEFAULTS))
    assert entry is not None
    return {name: entry.text(name) for name in SAMBA_DEFAULTS}


class DefaultDomainPolicy:
    """The lab's Default Domain Policy: its GptTmpl.inf as Samba stores and parses it,
    replaced or removed over SMB with smbclient as an administrator would."""

    def __init__(self, lab: Lab, directory: Directory, folder: Path) -> None:
        self.lab, self.directory = lab, directory
        password = Path(lab.status.secret_file).read_text(encoding="utf-8").strip()
        self.authfile = write_authfile(folder / "admin.auth", "Administrator", password)
        self.local = folder / "GptTmpl.inf"
        self.dn = f"CN={DDP},CN=Policies,CN=System,{BASE}"
        windows_path = GPTTMPL.replace("/", "\\")
        self.remote = f"{lab.status.realm.lower()}\\Policies\\{DDP}\\{windows_path}"

    def template(self) -> bytes | None:
        path = gpt_file(self.lab, DDP, GPTTMPL)
        return path.read_bytes() if path.exists() else None

    def sections(self) -> dict[str, dict[str, str]] | None:
        data = self.template()
        if data is None:
            return None
        found = samba_read("inf", data)["sections"]
        return {name: dict(pairs) for name, pairs in found.items()}

    def put(self, data: bytes | None) -> None:
        """Replace the template's bytes, or remove it. It is never created this way: a
        file smbclient creates there inherits the GPT folder's object ACE, which Samba
        then serves in a form adsuite's descriptor parser refuses."""
        if data is not None:
            assert self.template() is not None, "create the template with adsuite first"
            self.local.write_bytes(data)
            self.smbclient(f'put "{self.local}" "{self.remote}"')
        elif self.template() is not None:
            self.smbclient(f'del "{self.remote}"')

    def smbclient(self, command: str) -> None:
        done = subprocess.run(
            ["smbclient", "//127.0.0.1/sysvol", "-A", str(self.authfile), "-c", command],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr

    def put_lines(self, *lines: str) -> None:
        text = '[Unicode]\r\nUnicode=yes\r\n[Version]\r\nsignature="$CHICAGO$"\r\nRevision=1\r\n'
        text += "".join(f"{line}\r\n" for line in lines)
        self.put(b"\xff\xfe" + text.encode("utf-16-le"))

    def extensions(self) -> str | None:
        entry = self.directory.read(self.dn, [EXTENSIONS])
        return None if entry is None else entry.text(EXTENSIONS)


@pytest.fixture()
def policies(
    lab_env: Lab,
    directory: Directory,
    tmp_path: Path,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> Iterator[DefaultDomainPolicy]:
    """Samba's default domain policy and a Default Domain Policy without GptTmpl.inf,
    as provisioned; whatever was there before is put back afterwards, pass or fail."""
    ddp = DefaultDomainPolicy(lab_env, directory, tmp_path)
    found, template, extensions = domain_policy(directory), ddp.template(), ddp.extensions()
    directory.modify(BASE, {k: ("replace", [v]) for k, v in SAMBA_DEFAULTS.items()})
    ddp.put(None)
    try:
        yield ddp
    finally:
        directory.modify(BASE, {k: ("replace", [v] if v else []) for k, v in found.items()})
        if template is not None and ddp.template() is None:
            create_template(lab_env, write_playbook, cli)
        ddp.put(template)
        directory.modify(ddp.dn, {EXTENSIONS: ("replace", [extensions] if extensions else [])})


def create_template(lab: Lab, write_playbook: Callable[..., Path], cli: Callable[..., Cli]) -> None:
    """A GptTmpl.inf adsuite writes, with the GPT folder's permissions (not inherited)."""
    playbook = write_playbook("tasks:\n  - default_domain_policy: {min_length: 7}\n", "ddp.yml")
    apply(cli, playbook, str(lab.inventory))


def policy_playbook(**changed: object) -> str:
    values = ", ".join(f"{k}: {v}" for k, v in {**POLICY, **changed}.items())
    return f"tasks:\n  - password_policy: {{{values}}}\n  - default_domain_policy: {{{values}}}\n"


def test_a_password_policy_run_and_its_default_domain_policy_are_rolled_back_exactly(
    lab_env: Lab,
    directory: Directory,
    policies: DefaultDomainPolicy,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    inv = str(lab_env.inventory)
    extensions = policies.extensions()
    run = apply(cli, write_playbook(policy_playbook()), inv)
    assert domain_policy(directory)["minPwdLength"] == "10"
    assert (policies.sections() or {})["System Access"]["MinimumPasswordLength"] == "10"
    version = gpc(directory, "Default Domain Policy").version

    undone = rollback_twice(cli, run, inv)
    assert "MinimumPasswordLength: 10 → not set" in undone.out
    assert domain_policy(directory) == SAMBA_DEFAULTS
    assert policies.template() is None  # Samba provisions the policy without one
    assert policies.extensions() == extensions
    assert gpc(directory, "Default Domain Policy").version > version  # clients re-read it


def test_default_domain_policy_values_go_back_and_other_sections_are_kept(
    lab_env: Lab,
    directory: Directory,
    policies: DefaultDomainPolicy,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    inv = str(lab_env.inventory)
    create_template(lab_env, write_playbook, cli)
    policies.put_lines(
        "[System Access]", "MinimumPasswordLength = 7", "LockoutDuration = 30",
        "[Kerberos Policy]", "MaxTicketAge = 10",
    )  # fmt: skip
    before = policies.sections()
    task = "{min_length: 9, history: 6, lockout_duration: never}"
    run = apply(cli, write_playbook(f"tasks:\n  - default_domain_policy: {task}\n"), inv)

    rollback_twice(cli, run, inv)
    assert policies.sections() == before
    assert before == {
        "System Access": {"MinimumPasswordLength": "7", "LockoutDuration": "30"},
        "Kerberos Policy": {"MaxTicketAge": "10"},
    }


def test_policies_edited_after_the_run_are_left_alone_and_reported(
    lab_env: Lab,
    directory: Directory,
    policies: DefaultDomainPolicy,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    inv = str(lab_env.inventory)
    run = apply(cli, write_playbook(policy_playbook()), inv)
    directory.modify(BASE, {"minPwdLength": ("replace", ["11"])})
    policies.put_lines("[System Access]", "MinimumPasswordLength = 11")

    undone = cli("rollback", run, "-i", inv, "--yes")
    assert undone.code == 1
    assert f"LEFT ALONE: {BASE} changed since run" in undone.err
    assert 'LEFT ALONE: "Default Domain Policy" changed since run' in undone.err
    assert domain_policy(directory)["minPwdLength"] == "11"
    assert domain_policy(directory)["pwdHistoryLength"] == "5"
    assert policies.sections() == {"System Access": {"MinimumPasswordLength": "11"}}


def test_a_rollback_to_a_policy_below_the_floor_is_refused_with_the_clause(
    lab_env: Lab,
    directory: Directory,
    policies: DefaultDomainPolicy,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    inv = str(lab_env.inventory)
    directory.modify(BASE, {"minPwdLength": ("replace", ["5"])})  # set by hand, below 6
    playbook = "tasks:\n  - password_policy: {min_length: 8, lockout_window: 20}\n"
    run = apply(cli, write_playbook(playbook), inv)

    undone = cli("rollback", run, "-i", inv, "--yes")
    assert undone.code == 1
    assert (
        f"NOT ROLLED BACK: password_policy {BASE}: cannot roll back: minimum password "
        "length 5 is below the floor of 6 (regulation 二.2.c"
    ) in undone.err
    assert "floor_override: {reason: ...}" in undone.err
    assert domain_policy(directory)["minPwdLength"] == "8"
    assert domain_policy(directory)["lockOutObservationWindow"] == "-12000000000"


# --- PSOs ---------------------------------------------------------------------------

PSO_ATTRIBUTES = [
    "msDS-PasswordSettingsPrecedence", "msDS-MinimumPasswordLength",
    "msDS-PasswordHistoryLength", "msDS-PasswordComplexityEnabled",
    "msDS-PasswordReversibleEncryptionEnabled", "msDS-MinimumPasswordAge",
    "msDS-MaximumPasswordAge", "msDS-LockoutThreshold", "msDS-LockoutObservationWindow",
    "msDS-LockoutDuration", "msDS-PSOAppliesTo", "description",
]  # fmt: skip


@pytest.fixture()
def psos(directory: Directory, top: str) -> Iterator[tuple[str, str]]:
    """Two PSO DNs of this test's own; whatever is left of them is removed after it."""
    names = (f"CN={top}-strict,{PSOS}", f"CN={top}-new,{PSOS}")
    yield names
    for dn in names:
        if directory.read(dn, ["cn"]) is not None:
            directory.delete(dn)


def pso_task(name: str, group: str, **changed: object) -> str:
    values = {
        "name": name, "precedence": 20, "description": "测试 PSO", "min_length": 12,
        "history": 24, "complexity": "true", "reversible_encryption": "false", "min_age": 1,
        "max_age": 90, "lockout_threshold": 0, "lockout_window": 30, "lockout_duration": 30,
        "applies_to": f"[{group}]", **changed,
    }  # fmt: skip
    return "  - pso: {" + ", ".join(f"{k}: {v}" for k, v in values.items()) + "}\n"


def pso_setup(top: str) -> str:
    groups = "".join(f"  - group: {{name: {top}-{g}, ou: {top}}}\n" for g in "ab")
    pso = pso_task(f"{top}-strict", f"{top}-a")
    return f"tasks:\n  - ou: {{path: {top}, protected: false}}\n{groups}{pso}"


def test_a_pso_update_deletion_and_creation_are_each_rolled_back(
    lab_env: Lab,
    directory: Directory,
    top: str,
    psos: tuple[str, str],
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    inv, (pso, new) = str(lab_env.inventory), psos
    apply(cli, write_playbook(pso_setup(top), "setup.yml"), inv)
    before = attributes(directory, pso, PSO_ATTRIBUTES)
    assert before is not None and before["msDS-PSOAppliesTo"] == [f"CN={top}-a,OU={top},{BASE}"]

    update = pso_task(f"{top}-strict", f"{top}-b", precedence=15, min_length=14, description='""')
    create = pso_task(f"{top}-new", f"{top}-a", precedence=30)
    delete = f"  - pso: {{name: {top}-strict, state: absent}}\n"
    for playbook in (f"tasks:\n{update}{create}", f"tasks:\n{delete}"):
        run = apply(cli, write_playbook(playbook, "run.yml"), inv)
        assert attributes(directory, pso, PSO_ATTRIBUTES) != before

        rollback_twice(cli, run, inv)
        assert attributes(directory, pso, PSO_ATTRIBUTES) == before
        assert directory.read(new, ["cn"]) is None


def test_a_pso_edited_after_the_run_is_left_alone(
    lab_env: Lab,
    directory: Directory,
    top: str,
    psos: tuple[str, str],
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    inv, (pso, _) = str(lab_env.inventory), psos
    apply(cli, write_playbook(pso_setup(top), "setup.yml"), inv)
    task = pso_task(f"{top}-strict", f"{top}-a", min_length=14)
    run = apply(cli, write_playbook(f"tasks:\n{task}", "run.yml"), inv)
    directory.modify(pso, {"msDS-LockoutThreshold": ("replace", ["9"])})

    undone = cli("rollback", run, "-i", inv, "--yes")
    assert undone.code == 1
    assert f"LEFT ALONE: {pso} changed since run" in undone.err
    after = attributes(directory, pso, ["msDS-MinimumPasswordLength", "msDS-LockoutThreshold"])
    assert after == {"msDS-MinimumPasswordLength": ["14"], "msDS-LockoutThreshold": ["9"]}


# --- sites and subnets -------------------------------------------------------------

SITE_ATTRIBUTES = ["description", "location"]
SUBNET_ATTRIBUTES = ["siteObject", "description", "location"]


@pytest.fixture()
def places(directory: Directory, top: str) -> Iterator[dict[str, str]]:
    """Site names and /24 prefixes of this test's own; all of it is removed after."""
    octets = uuid.uuid4().bytes
    names = {"a": f"{top}-A", "b": f"{top}-B", "c": f"{top}-C"}
    names |= {f"net{i}": f"10.{octets[0]}.{octets[1] ^ i}.0/24" for i in (1, 2, 3)}
    yield names
    leftovers = [f"CN={names[net]},CN=Subnets,{SITES}" for net in ("net1", "net2", "net3")]
    for site in (f"CN={names[key]},{SITES}" for key in "abc"):
        leftovers += [f"CN=NTDS Site Settings,{site}", f"CN=Servers,{site}", site]
    for dn in leftovers:
        if directory.read(dn, ["cn"]) is not None:
            directory.delete(dn)


def state_of(directory: Directory, names: dict[str, str]) -> dict[str, object]:
    found: dict[str, object] = {}
    for key in ("a", "b", "c"):
        dn = f"CN={names[key]},{SITES}"
        found[key] = attributes(directory, dn, SITE_ATTRIBUTES)
        found[f"{key} children"] = [
            directory.read(f"CN={child},{dn}", ["cn"]) is not None
            for child in ("NTDS Site Settings", "Servers")
        ]
    for key in ("net1", "net2", "net3"):
        dn = f"CN={names[key]},CN=Subnets,{SITES}"
        found[key] = attributes(directory, dn, SUBNET_ATTRIBUTES)
    return found


def test_sites_and_subnets_a_run_created_changed_and_deleted_come_back(
    lab_env: Lab,
    directory: Directory,
    places: dict[str, str],
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    inv, n = str(lab_env.inventory), places
    setup = f"""tasks:
  - site: {{name: {n["a"]}, description: 站点 A, location: Nantong}}
  - site: {{name: {n["b"]}}}
  - subnet: {{prefix: "{n["net1"]}", site: {n["a"]}, description: one}}
  - subnet: {{prefix: "{n["net2"]}", site: {n["b"]}, location: Shanghai}}
"""
    apply(cli, write_playbook(setup, "setup.yml"), inv)
    before = state_of(directory, n)
    change = f"""tasks:
  - site: {{name: {n["a"]}, description: 站点 A (changed), location: ""}}
  - site: {{name: {n["c"]}, description: new}}
  - subnet: {{prefix: "{n["net1"]}", site: {n["b"]}, description: moved, location: Nantong}}
  - subnet: {{prefix: "{n["net2"]}", state: absent}}
  - subnet: {{prefix: "{n["net3"]}", site: {n["c"]}}}
"""
    run = apply(cli, write_playbook(change, "change.yml"), inv)
    assert state_of(directory, n) != before

    rollback_twice(cli, run, inv)
    assert state_of(directory, n) == before
    assert before["c"] is None and before["net3"] is None
    assert before["net1"] == {
        "siteObject": [f"CN={n['a']},{SITES}"], "description": ["one"], "location": [],
    }  # fmt: skip


def test_a_subnet_edited_after_the_run_is_left_alone(
    lab_env: Lab,
    directory: Directory,
    places: dict[str, str],
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    inv, n = str(lab_env.inventory), places
    subnet = f"CN={n['net1']},CN=Subnets,{SITES}"
    setup = f'tasks:\n  - site: {{name: {n["a"]}}}\n  - subnet: {{prefix: "{n["net1"]}", site: {n["a"]}, description: one}}\n'
    apply(cli, write_playbook(setup, "setup.yml"), inv)
    task = f'{{prefix: "{n["net1"]}", description: two}}'
    run = apply(cli, write_playbook(f"tasks:\n  - subnet: {task}\n", "run.yml"), inv)
    directory.modify(subnet, {"description": ("replace", ["someone else's edit"])})

    undone = cli("rollback", run, "-i", inv, "--yes")
    assert undone.code == 1
    assert f"LEFT ALONE: {subnet} changed since run" in undone.err
    assert attributes(directory, subnet, ["description"]) == {
        "description": ["someone else's edit"]
    }
