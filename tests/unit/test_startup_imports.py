"""A drift or plan of a directory-only playbook imports only what it needs (issue #16).

Run in a fresh interpreter, as `adsuite drift` and `adsuite plan` run: the command's
module, the session's load (the playbook from the cache, as on every run after the
first), the plan with the readers the LDAP requests route to, and the text and JSON
reports. Neither the SMB, Kerberos or WinRM libraries nor jinja2 nor the kinds the
playbook does not name may be in ``sys.modules`` afterwards: behaviour, not time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = """
name: directory only
tasks:
  - ou: {path: "{{ item.code }}", description: "{{ item.name }}"}
    loop: "{{ companies }}"
  - group: {name: staff, ou: HQ}
  - user: {name: alice, ou: HQ, given_name: Alice, surname: Smith}
  - membership: {group: staff, members: [alice]}
"""
# the command's path, in a fresh interpreter; prints the modules loaded, as JSON
PROBE = """
import json, sys
from pathlib import Path
import click
from adsuite.cli.main import cli
command = cli.get_command(click.Context(cli), sys.argv[1])  # imports adsuite.cli.run
from adsuite.cli import render
from adsuite.engine import drift, planner, protocols
from adsuite.engine.playbook import desired_by_kind
from adsuite.engine.session import Session

session = Session.from_files(Path("site.yml"), Path("inventory.yml"))

def read(requests):
    for request in requests:
        protocols.READERS[type(request)]  # the reader the live run would call
    return {}

plan = planner.build_plan(
    session.domain_key, session.domain, desired_by_kind(session.playbook), read
)
assert plan.changes, "a plan against no facts creates everything"
render.plan_text(plan, "site.yml")
outcome = drift.outcome(plan)
render.drift_text(outcome, "site.yml", None, {})
render.drift_json(outcome, "site.yml", None, "run", {})
print(json.dumps(sorted(sys.modules)))
"""
NOT_FOR_DIRECTORY_ONLY = (
    "smbprotocol",  # SMB: file_acl, GPO SYSVOL
    "spnego",
    "gssapi",  # Kerberos: only for a kerberos: login
    "krb5",
    "pypsrp",  # WinRM
    "winrm",
    "jinja2",  # templates: rendered on a cache miss only
    "adsuite.resources.gpo",  # kinds the playbook does not name
    "adsuite.resources.file_acl",
    "adsuite.resources.delegation",
    "adsuite.resources.privileged",
    "adsuite.resources.check",
    "adsuite.resources.password",
    "adsuite.tickets",  # the ticket machinery
    "adsuite.engine.drift_page",  # the HTML report's
    "xml.sax",  # JUnit's (it imports urllib and http)
    "rich.progress",  # the progress bar: on a terminal only
)


def loaded_after(command: str, work: Path, env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, command],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    inventory = (REPO / "inventory" / "lab.yml").read_text(encoding="utf-8")
    (folder / "inventory.yml").write_text(inventory, encoding="utf-8")
    (folder / "site.yml").write_text(textwrap.dedent(PLAYBOOK).lstrip(), encoding="utf-8")
    return folder


@pytest.mark.parametrize("command", ["drift", "plan"])
def test_a_directory_only_run_from_the_cache_imports_no_other_protocol_kind_or_jinja2(
    command: str, work: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "ADSUITE_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("ADSUITE_NO_CACHE", None)
    first = loaded_after(command, work, env)  # a miss: expands the playbook, stores it
    assert "jinja2" in first  # the probe does render templates when it has to
    assert list((tmp_path / "cache" / "playbooks").glob("*.json")), "the load was not cached"
    loaded = loaded_after(command, work, env)
    unwanted = [
        m
        for m in loaded
        if any(m == top or m.startswith(f"{top}.") for top in NOT_FOR_DIRECTORY_ONLY)
    ]
    assert unwanted == []
    for kind in ("directory.ou", "accounts.group", "accounts.user", "membership.membership"):
        assert f"adsuite.resources.{kind}" in loaded  # the kinds it names are there
    assert "adsuite.resources.directory.io" in loaded  # and the LDAP protocol
