"""Helpers the tests share instead of copying them: a run's id from the CLI's JSON, an
account's SID, the lab inventory (whole or for one company), and data-case loaders."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from adsuite.connectors.ldap import Directory
from adsuite.formats.ldap_query import Query
from adsuite.formats.sid import sid_from_bytes
from adsuite.lab.config import LabStatus

BASE = "DC=group,DC=example,DC=com"  # the lab domain's
JSON = ("--yes", "--format", "json")  # apply, rollback, ticket apply: no question, one object
LAB_COMPANIES = (
    ("HQ", "集团总部 Group headquarters", "172.16.0.0/16"),
    ("HANTONG", "韩通船舶 Hantong Shipbuilding", "172.17.0.0/16"),
)


def run_id_of(output: str) -> str:
    """The journal run a command started, from its ``--format json`` output."""
    run_id = json.loads(output)["run_id"]
    assert isinstance(run_id, str) and run_id, output
    return run_id


def sid_of(directory: Directory, name: str) -> str:
    """The objectSid of account *name* (sAMAccountName), or of the domain for ''."""
    query = Query(BASE, f"(sAMAccountName={name})", ("objectSid",))
    if not name:
        query = Query(BASE, "(objectClass=*)", ("objectSid",), "base")
    (entry,) = list(directory.search(query))
    return sid_from_bytes(entry.raw("objectSid")[0])


def sid_at(directory: Directory, dn: str) -> str:
    """The objectSid of the object at *dn*."""
    entry = directory.read(dn, ["objectSid"])
    assert entry is not None, dn
    return sid_from_bytes(entry.raw("objectSid")[0])


def lab_inventory_text(
    status: LabStatus, companies: Iterable[tuple[str, str, str]] = LAB_COMPANIES
) -> str:
    """An inventory for the lab DC *status* describes, with *companies* (code, name, range)."""
    listed = "".join(
        f"  - {{code: {code}, name: {name}, ip_range: {ip_range}}}\n"
        for code, name, ip_range in companies
    )
    return f"""lab: true
domains:
  group:
    realm: {status.realm}
    base_dn: {status.base_dn}
    netbios: GROUP
    credential: lab-admin
    dcs:
      dc1: {{ldap_url: "{status.ldap_url}", ca_file: "{status.ca_file}", tls_name: {status.tls_name}, samba_audit_dir: "{status.dsdb_audit_log.parent}"}}
companies:
{listed}credentials:
  lab-admin:
    username: {status.admin_username}
    secret_file: {status.secret_file}
"""


def company_inventory(
    inventory: Path,
    folder: Path,
    code: str,
    *,
    ip_range: str = "10.99.0.0/16",
    name: str = "company.yml",
) -> Path:
    """*inventory* with one company of the test's own, so playbooks that loop over the
    companies touch nothing of other tests'."""
    data = yaml.safe_load(inventory.read_text(encoding="utf-8"))
    data["companies"] = [{"code": code, "name": f"{code} 测试公司", "ip_range": ip_range}]
    path = folder / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _by_file_and_name(path: Path, case: dict[str, Any]) -> str:
    return f"{path.stem}: {case['name']}"


def load_cases(
    where: Path,
    *,
    label: Callable[[Path, dict[str, Any]], str] = _by_file_and_name,
    keep: Callable[[dict[str, Any]], bool] = lambda case: True,
) -> list[Any]:
    """The cases in one YAML file, or in every ``*.yml`` of a folder (sorted), as pytest
    params named by *label*; only those *keep* accepts."""
    files = sorted(where.glob("*.yml")) if where.is_dir() else [where]
    return [
        pytest.param(case, id=label(path, case))
        for path in files
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))
        if keep(case)
    ]
