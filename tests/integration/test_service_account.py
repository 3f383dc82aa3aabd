"""playbooks/service-account.yml on the lab DC: the account it creates runs the OU
structure (group_domain.yml) and drifts clean without being a Domain Admin; a kind
that needs a Domain Admin fails with one line; binding as the built-in Administrator
from an inventory not marked ``lab: true`` is warned in one line.

The account is named after the test (``svc-<top>``: the playbook's only variable), and
its rights and the account itself are taken away again afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from labkit import Cli, Lab

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
BASE = "DC=group,DC=example,DC=com"
CONTAINERS = [
    f"CN=Password Settings Container,CN=System,{BASE}",
    f"CN=Sites,CN=Configuration,{BASE}",
]
RID_500_WARNING = "the built-in Administrator (RID 500); bind as a service account"


def inventory_as(lab_env: Lab, folder: Path, account: str | None) -> Path:
    """The lab inventory, not marked as the lab, binding as *account* (None: as is)."""
    data = yaml.safe_load(lab_env.inventory.read_text(encoding="utf-8"))
    data.pop("lab", None)
    if account is not None:
        data["domains"]["group"]["credential"] = "svc"
        data["credentials"]["svc"] = {"username": f"{account}@GROUP.EXAMPLE.COM"}
    path = folder / f"inventory-{account or 'admin'}.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def domain_admin_part() -> str:
    """group_domain.yml's tasks a Domain Admin applies: the Role Groups OU, the IT
    administrators' groups in it and the company roots (the rest is the service account's)."""
    data = yaml.safe_load((REPO / "playbooks/group_domain.yml").read_text(encoding="utf-8"))
    keep = ("Role groups", "IT administrators group", "Company root OU")
    data["tasks"] = [t for t in data["tasks"] if str(t["name"]).startswith(keep)]
    assert len(data["tasks"]) == len(keep)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def teardown_playbook(account: str, companies: list[str]) -> str:
    lines = ["tasks:"]
    for target in [*companies, *CONTAINERS]:
        lines.append(
            f'  - delegation: {{ou: "{target}", trustee: {account}, '
            "rights: [full_control], state: absent}"
        )
    lines += [
        f'  - delegation: {{ou: "CN=Policies,CN=System,{BASE}", trustee: {account}, '
        "rights: [create_delete_gpos], state: absent}",
        f"  - membership: {{group: Group Policy Creator Owners, members: [{account}], "
        "mode: remove}",
        f"  - user: {{name: {account}, ou: Service Accounts, state: absent}}",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture()
def service_account(
    lab_env: Lab,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> Iterator[tuple[str, dict[str, str]]]:
    """service-account.yml applied as the lab's Administrator for an account of the test's."""
    account = f"svc-{top}".lower()
    env = {"ADSUITE_CRED_SVC_ADSUITE": f"Svc-{uuid.uuid4().hex[:12]}-Aa1!"}
    text = (REPO / "playbooks/service-account.yml").read_text(encoding="utf-8")
    assert "  account: svc-adsuite\n" in text
    playbook = write_playbook(text.replace("  account: svc-adsuite\n", f"  account: {account}\n"))
    applied = cli("apply", str(playbook), "-i", str(lab_env.inventory), "--yes", env=env)
    assert applied.code == 0, applied.err + applied.out
    # what only a Domain Admin creates (service-account.yml says so): the role groups and
    # the company roots at the domain root — made here, not left to an earlier test
    admin_part = write_playbook(domain_admin_part(), "domain-admin-part.yml")
    made = cli("apply", str(admin_part), "-i", str(lab_env.inventory), "--yes")
    assert made.code == 0, made.err + made.out
    env["ADSUITE_CRED_SVC"] = env["ADSUITE_CRED_SVC_ADSUITE"]  # the bind credential "svc"
    try:
        yield account, env
    finally:
        data = yaml.safe_load(lab_env.inventory.read_text(encoding="utf-8"))
        companies = [c["code"] for c in data["companies"]]
        undo = write_playbook(teardown_playbook(account, companies), "teardown.yml")
        undone = cli("apply", str(undo), "-i", str(lab_env.inventory), "--yes")
        assert undone.code == 0, undone.err + undone.out


def test_the_service_account_applies_the_ou_structure_and_drifts_clean(
    lab_env: Lab,
    service_account: tuple[str, dict[str, str]],
    tmp_path: Path,
    cli: Callable[..., Cli],
) -> None:
    account, env = service_account
    inventory = str(inventory_as(lab_env, tmp_path, account))
    structure = str(REPO / "playbooks/group_domain.yml")

    applied = cli("apply", structure, "-i", inventory, "--yes", env=env)
    assert applied.code == 0, applied.err + applied.out
    assert "failed 0, conflict 0" in applied.out
    assert applied.err == ""  # no warning: the account is no Domain Admin
    drift = cli("drift", structure, "-i", inventory, env=env)
    assert drift.code == 0, drift.err + drift.out
    assert "Clean: no drift." in drift.out


def test_the_domain_password_policy_still_needs_a_domain_admin_one_line(
    lab_env: Lab,
    service_account: tuple[str, dict[str, str]],
    tmp_path: Path,
    cli: Callable[..., Cli],
) -> None:
    account, env = service_account
    inventory = str(inventory_as(lab_env, tmp_path, account))
    # a history length nobody else declares, so there is always a change to refuse
    # whatever earlier tests left as the domain's policy
    policy = tmp_path / "policy.yml"
    policy.write_text("tasks:\n  - password_policy: {history: 23}\n", encoding="utf-8")
    done = cli("apply", str(policy), "-i", inventory, "--yes", env=env)
    assert done.code == 1, done.out + done.err
    assert "Traceback" not in done.err
    (line,) = [x for x in done.err.splitlines() if x.startswith("FAILED: ")]
    assert line.startswith(f"FAILED: password_policy {BASE}: modify {BASE}: insufficient access")


def test_binding_as_rid_500_outside_the_lab_is_one_warning_line(
    lab_env: Lab,
    top: str,
    write_playbook: Callable[..., Path],
    tmp_path: Path,
    cli: Callable[..., Cli],
) -> None:
    playbook = str(write_playbook(f"tasks:\n  - ou: {{path: {top}}}\n"))
    warned = cli("plan", playbook, "-i", str(inventory_as(lab_env, tmp_path, None)))
    assert warned.code == 0, warned.err
    (line,) = warned.err.splitlines()
    assert RID_500_WARNING in line and "Administrator@GROUP.EXAMPLE.COM" in line
    quiet = cli("plan", playbook, "-i", str(lab_env.inventory))  # marked lab: true
    assert quiet.code == 0 and quiet.err == ""
