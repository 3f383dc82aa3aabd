"""Fixtures for tests against the real lab DC: an inventory pointing at it, a bound
directory connection, and a playbook writer. Each test works under its own top OU."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from helpers import lab_inventory_text
from labkit import Cli, Lab

from adsuite.connectors.credentials import Secret
from adsuite.connectors.ldap import Directory, Endpoint
from adsuite.lab.samba import LabStatus


@pytest.fixture(scope="session")
def lab_env(lab: LabStatus, tmp_path_factory: pytest.TempPathFactory) -> Lab:
    folder = tmp_path_factory.mktemp("lab-inventory")
    inventory = folder / "lab.yml"
    inventory.write_text(lab_inventory_text(lab), encoding="utf-8")
    return Lab(lab, inventory, folder / "journal.sqlite")


@pytest.fixture()
def directory(lab_env: Lab) -> Iterator[Directory]:
    status = lab_env.status
    endpoint = Endpoint(
        status.ldap_url, str(status.ca_file), status.tls_name, status.admin_username
    )
    password = Path(status.secret_file).read_text(encoding="utf-8").strip()
    with Directory.connect(endpoint, Secret(password)) as conn:
        yield conn


@pytest.fixture()
def top(request: pytest.FixtureRequest) -> str:
    """A top-level OU name of this test's own, so tests never see each other's objects."""
    return f"T{uuid.uuid4().hex[:8]}"


@pytest.fixture()
def write_playbook(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "playbook.yml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture()
def repo_site(tmp_path: Path) -> Callable[[Sequence[str]], Path]:
    """A playbook importing some of the shipped playbooks, from a copy of their folder:
    imports stay inside the importing playbook's folder tree (docs/playbook-input.md)."""

    def write(names: Sequence[str], name: str = "test-site.yml") -> Path:
        folder = tmp_path / "playbooks"
        if not folder.exists():
            shutil.copytree(Path(__file__).resolve().parents[2] / "playbooks", folder)
        site = folder / name
        site.write_text("".join(f"- import_playbook: {n}\n" for n in names), encoding="utf-8")
        return site

    return write


@pytest.fixture()
def cli(lab_env: Lab) -> Callable[..., Cli]:
    """Run the real `adsuite` command line in a subprocess."""

    def run(*args: str, env: dict[str, str] | None = None) -> Cli:
        full_env = {**os.environ, "ADSUITE_JOURNAL": str(lab_env.journal), **(env or {})}
        done = subprocess.run(
            [sys.executable, "-m", "adsuite", *args],
            capture_output=True,
            text=True,
            env=full_env,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
        return Cli(done.returncode, done.stdout, done.stderr)

    return run
