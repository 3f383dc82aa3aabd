"""Password policy and PSOs against the real lab DC: the full cycle, Samba enforcing
what was set, msDS-ResultantPSO, and the regulation floor (二.2.c) through the CLI.

The domain policy is domain-wide and the lab DC is shared by the whole session, so
every test that changes it starts from Samba's provisioning defaults and puts the
values it found back afterwards (the ``domain_policy`` fixture). The values set here
never lock anyone out and accept the 24-character passwords other tests generate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import run_id_of
from labkit import Cli, Lab

from adsuite.connectors.ldap import Directory
from adsuite.errors import DirectoryError
from adsuite.journal.store import Journal

pytestmark = pytest.mark.lab

BASE = "DC=group,DC=example,DC=com"
POLICY_ATTRIBUTES = (
    "minPwdLength",
    "pwdHistoryLength",
    "minPwdAge",
    "maxPwdAge",
    "pwdProperties",
    "lockoutThreshold",
    "lockOutObservationWindow",
    "lockoutDuration",
)
SAMBA_DEFAULTS = {  # what `samba-tool domain provision` sets
    "minPwdLength": "7",
    "pwdHistoryLength": "24",
    "minPwdAge": "-864000000000",
    "maxPwdAge": "-36288000000000",
    "pwdProperties": "1",
    "lockoutThreshold": "0",
    "lockOutObservationWindow": "-18000000000",
    "lockoutDuration": "-18000000000",
}
POLICY = """
tasks:
  - name: test domain policy
    password_policy:
      min_length: 12
      history: 3
      min_age: 0
      max_age: 120
      complexity: true
      reversible_encryption: false
      lockout_threshold: 0
      lockout_window: 20
      lockout_duration: 20
"""


def policy_values(directory: Directory) -> dict[str, str | None]:
    entry = directory.read(BASE, list(POLICY_ATTRIBUTES))
    assert entry is not None
    return {name: entry.text(name) for name in POLICY_ATTRIBUTES}


def set_policy(directory: Directory, values: dict[str, str | None]) -> None:
    changes = {name: ("replace", [value] if value else []) for name, value in values.items()}
    directory.modify(BASE, changes)


@pytest.fixture()
def domain_policy(directory: Directory) -> Iterator[dict[str, str | None]]:
    """Samba's default policy for the test; the policy found is restored after it."""
    found = policy_values(directory)
    set_policy(directory, dict(SAMBA_DEFAULTS))
    try:
        yield found
    finally:
        set_policy(directory, found)


def unicode_pwd(password: str) -> list[bytes]:
    return [f'"{password}"'.encode("utf-16-le")]


def make_user(directory: Directory, top: str, name: str) -> str:
    if directory.read(f"OU={top},{BASE}", ["ou"]) is None:
        directory.add(f"OU={top},{BASE}", {"objectClass": ["organizationalUnit"]})
    dn = f"CN={name},OU={top},{BASE}"
    directory.add(dn, {"objectClass": ["user"], "sAMAccountName": [name]})
    return dn


def test_policy_cycle_plan_apply_noop_drift_repair(
    lab_env: Lab,
    directory: Directory,
    domain_policy: dict[str, str | None],
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    playbook, inv = str(write_playbook(POLICY)), str(lab_env.inventory)

    planned = cli("plan", playbook, "-i", inv)
    assert planned.code == 0, planned.err
    assert 'max_age: "42 days" → "120 days"' in planned.out
    assert "Plan: 0 to create, 1 to update, 0 to delete" in planned.out
    assert policy_values(directory) == SAMBA_DEFAULTS, "plan must change nothing"

    applied = cli("apply", playbook, "-i", inv, "--yes")
    assert applied.code == 0, applied.err + applied.out
    assert policy_values(directory) == {
        **SAMBA_DEFAULTS,
        "minPwdLength": "12",
        "pwdHistoryLength": "3",
        "minPwdAge": "0",
        "maxPwdAge": str(-120 * 864000000000),
        "lockOutObservationWindow": "-12000000000",
        "lockoutDuration": "-12000000000",
    }
    assert "No changes" in cli("plan", playbook, "-i", inv).out

    directory.modify(BASE, {"maxPwdAge": ("replace", ["-9223372036854775808"])})
    directory.modify(BASE, {"pwdProperties": ("replace", ["16"])})
    drift = cli("drift", playbook, "-i", inv)
    assert drift.code == 2, drift.err
    assert (
        f"password_policy {BASE}: differs: max_age is "
        '"never", want "120 days"; complexity is false, want true; '
        "reversible_encryption is true, want false"
    ) in drift.out

    repaired = cli("apply", playbook, "-i", inv, "--yes")
    assert "Applied 1, failed 0" in repaired.out
    assert policy_values(directory)["pwdProperties"] == "1"
    assert cli("drift", playbook, "-i", inv).code == 0


def test_samba_refuses_a_too_short_password_after_apply_and_accepted_it_before(
    lab_env: Lab,
    directory: Directory,
    domain_policy: dict[str, str | None],
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    user = make_user(directory, top, f"{top}-pw")
    # 9 characters: Samba's default minimum of 7 accepts it
    directory.modify(user, {"unicodePwd": ("replace", unicode_pwd("Short-9a1"))})

    applied = cli("apply", str(write_playbook(POLICY)), "-i", str(lab_env.inventory), "--yes")
    assert applied.code == 0, applied.err + applied.out

    with pytest.raises(DirectoryError, match="constraint violation"):
        directory.modify(user, {"unicodePwd": ("replace", unicode_pwd("Other-9b2"))})
    directory.modify(user, {"unicodePwd": ("replace", unicode_pwd("Long-enough-12c3"))})


def test_a_floor_violation_fails_at_load_with_the_clause_and_changes_nothing(
    lab_env: Lab,
    directory: Directory,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    before = policy_values(directory)
    playbook = write_playbook(
        "tasks:\n  - password_policy:\n      min_length: 8\n      max_age: 365\n"
    )
    with Journal.open(lab_env.journal) as journal:
        runs_before = len(journal.runs())

    result = cli("apply", str(playbook), "-i", str(lab_env.inventory), "--yes")

    assert result.code == 1
    assert result.err.strip() == (
        f"adsuite: {playbook}:4: maximum password age 365 days is above the floor of "
        "183 days (regulation 二.2.c: passwords change at least every half year); "
        "to go below it, give floor_override: {reason: ...}"
    )
    assert result.out == ""
    assert policy_values(directory) == before
    with Journal.open(lab_env.journal) as journal:
        assert len(journal.runs()) == runs_before


def test_an_override_applies_below_the_floor_and_the_journal_keeps_its_reason(
    lab_env: Lab,
    directory: Directory,
    domain_policy: dict[str, str | None],
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    reason = "kiosk pilot, approved by the IT head, ticket IT-2031"
    playbook = write_playbook(
        f'tasks:\n  - password_policy:\n      floor_override: {{reason: "{reason}"}}\n'
        "      min_length: 5\n"
    )
    result = cli("apply", str(playbook), "-i", str(lab_env.inventory), "--yes", "--format", "json")
    assert result.code == 0, result.err + result.out
    assert policy_values(directory)["minPwdLength"] == "5"

    with Journal.open(lab_env.journal) as journal:
        (change,) = journal.changes(run_id_of(result.out))
    assert change.resource == "password_policy"
    assert change.after == {"min_length": 5, "floor_override": reason}
    assert change.outcome == "applied"


def pso_playbook(top: str, lockout_duration: str = "30") -> str:
    return f"""
tasks:
  - ou: {{path: {top}, protected: false}}
  - group: {{name: {top}-admins, ou: {top}}}
  - group: {{name: {top}-other, ou: {top}}}
  - user: {{name: {top}-admin1, ou: {top}}}
  - membership: {{group: {top}-admins, members: [{top}-admin1]}}
  - name: strict passwords for the test admins
    pso:
      name: {top}-strict
      precedence: 10
      description: 测试 PSO
      min_length: 14
      history: 24
      complexity: true
      reversible_encryption: false
      min_age: 1
      max_age: 90
      lockout_threshold: 0
      lockout_window: 30
      lockout_duration: {lockout_duration}
      applies_to: [{top}-admins]
"""


@pytest.fixture()
def pso_cleanup(directory: Directory, top: str) -> Iterator[str]:
    dn = f"CN={top}-strict,CN=Password Settings Container,CN=System,{BASE}"
    yield dn
    if directory.read(dn, ["cn"]) is not None:
        directory.delete(dn)


def test_pso_cycle_resultant_pso_and_enforcement(
    lab_env: Lab,
    directory: Directory,
    top: str,
    pso_cleanup: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    pso_dn, inv = pso_cleanup, str(lab_env.inventory)
    playbook = str(write_playbook(pso_playbook(top)))

    planned = cli("plan", playbook, "-i", inv)
    assert planned.code == 0, planned.err
    assert f"+ pso        {pso_dn}" in planned.out
    assert directory.read(pso_dn, ["cn"]) is None

    applied = cli("apply", playbook, "-i", inv, "--yes")
    assert applied.code == 0, applied.err + applied.out
    assert "No changes" in cli("plan", playbook, "-i", inv).out

    member = f"CN={top}-admin1,OU={top},{BASE}"
    resultant = directory.read(member, ["msDS-ResultantPSO"])
    assert resultant is not None and resultant.text("msDS-ResultantPSO") == pso_dn
    outsider = make_user(directory, top, f"{top}-user")
    unaffected = directory.read(outsider, ["msDS-ResultantPSO"])
    assert unaffected is not None and unaffected.text("msDS-ResultantPSO") is None
    with pytest.raises(DirectoryError, match="constraint violation"):  # 13 < the PSO's 14
        directory.modify(member, {"unicodePwd": ("replace", unicode_pwd("Thirteen-ch1!"))})
    directory.modify(outsider, {"unicodePwd": ("replace", unicode_pwd("Thirteen-ch1!"))})

    other = f"CN={top}-other,OU={top},{BASE}"
    directory.modify(pso_dn, {"msDS-LockoutDuration": ("replace", ["0"])})
    directory.modify(pso_dn, {"msDS-PSOAppliesTo": ("add", [other])})
    drift = cli("drift", playbook, "-i", inv)
    assert drift.code == 2, drift.err
    assert f'pso {pso_dn}: differs: lockout_duration is "never", want "30 minutes"' in drift.out
    assert f"applies to CN={top}-other,OU={top},{BASE} is true, want false" in drift.out

    repaired = cli("apply", playbook, "-i", inv, "--yes")
    assert "Applied 1, failed 0" in repaired.out, repaired.out + repaired.err
    entry = directory.read(pso_dn, ["msDS-PSOAppliesTo", "msDS-LockoutDuration"])
    assert entry is not None
    assert entry.texts("msDS-PSOAppliesTo") == [f"CN={top}-admins,OU={top},{BASE}"]
    assert entry.text("msDS-LockoutDuration") == "-18000000000"
    assert cli("drift", playbook, "-i", inv).code == 0


def test_a_pso_below_the_floor_fails_at_load_through_the_cli(
    lab_env: Lab,
    directory: Directory,
    top: str,
    pso_cleanup: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    text = pso_playbook(top).replace("min_length: 14", "min_length: 4")
    playbook = write_playbook(text)
    result = cli("apply", str(playbook), "-i", str(lab_env.inventory), "--yes")
    assert result.code == 1
    assert result.err.startswith(f"adsuite: {playbook}:13: minimum password length 4")
    assert "(regulation 二.2.c: passwords of 6 characters or more)" in result.err
    assert directory.read(f"OU={top},{BASE}", ["ou"]) is None
    assert directory.read(pso_cleanup, ["cn"]) is None
