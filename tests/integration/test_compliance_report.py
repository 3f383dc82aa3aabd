"""`adsuite report compliance` against the lab DC through the real CLI: a clause whose
playbook was applied is compliant with the apply run as evidence, an out-of-band change
turns it into drift with the finding, and a playbook not written yet is not enforced.

The test's inventory has one company of its own (the test's top OU name as its code),
so the company OUs group_domain.yml creates are the test's; a rollback of the apply
run removes them at the end.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from helpers import company_inventory, run_id_of
from labkit import Cli, Lab

from adsuite.connectors.ldap import Directory
from adsuite.journal.store import Journal

REPO = Path(__file__).resolve().parents[2]
BASE = "DC=group,DC=example,DC=com"


def compliance_map_file(folder: Path) -> Path:
    """The shipped map's 三.4 and 三.2.b, both on group_domain.yml only, and a clause
    whose playbook does not exist."""
    shipped = yaml.safe_load((REPO / "playbooks" / "compliance.yml").read_text(encoding="utf-8"))
    clauses = [dict(c) for c in shipped["clauses"] if c["id"] in ("三.4", "三.2.b")]
    for clause in clauses:
        clause["playbooks"] = [str(REPO / "playbooks" / "group_domain.yml")]
    clauses.append(
        {
            "id": "二.1.a",
            "title": "Workstations are strictly controlled by default",
            "requirement": "Users cannot install software.",
            "enforced_by": "A playbook nobody has written.",
            "playbooks": ["lockdown_not_written.yml"],
        }
    )
    doc = {"approvals": str(REPO / "playbooks" / "approvals.yml"), "clauses": clauses}
    path = folder / "compliance.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def report(cli: Callable[..., Cli], inventory: Path, map_file: Path) -> tuple[int, Any]:
    done = cli("report", "compliance", "-i", str(inventory), "--map", str(map_file),
               "--format", "json")  # fmt: skip
    assert done.code in (0, 2), done.err
    return done.code, {c["id"]: c for c in json.loads(done.out)["clauses"]}


def test_compliance_report_shows_applied_clauses_compliant_then_drift_after_a_hand_edit(
    lab_env: Lab, directory: Directory, top: str, tmp_path: Path, cli: Callable[..., Cli]
) -> None:
    code = top.upper()
    inventory = company_inventory(lab_env.inventory, tmp_path, code, ip_range="10.98.0.0/16")
    map_file = compliance_map_file(tmp_path)
    applied = cli("apply", str(REPO / "playbooks" / "group_domain.yml"), "-i", str(inventory),
                  "--yes", "--format", "json")  # fmt: skip
    assert applied.code == 0, applied.out + applied.err
    apply_run = run_id_of(applied.out)

    exit_code, clauses = report(cli, inventory, map_file)
    assert exit_code == 2  # 二.1.a's playbook is not written: not every clause is compliant
    for clause_id in ("三.4", "三.2.b"):
        clause = clauses[clause_id]
        assert (clause["state"], clause["reasons"]) == ("compliant", []), clause
        (part,) = clause["playbooks"]
        assert part["check"]["findings"] == []
        applies = {line["run"]: line["text"] for line in part["applied"]["lines"]}
        assert applies[apply_run].startswith("applied group_domain.yml as it reads now (ok;")
    assert clauses["二.1.a"]["state"] == "not_enforced"
    assert clauses["二.1.a"]["reasons"] == ["lockdown_not_written.yml does not exist yet"]

    users = f"OU=Users,OU={code},{BASE}"
    directory.modify(users, {"description": ("replace", ["changed by hand"])})
    exit_code, clauses = report(cli, inventory, map_file)
    assert exit_code == 2, "a clause in drift"
    clause = clauses["三.4"]
    assert (clause["state"], clause["state_text"]) == ("drift", "drift (1 finding)")
    (finding,) = clause["playbooks"][0]["check"]["findings"]
    assert finding["text"] == (
        f'ou {users}: differs: description is "changed by hand", want "{code} Users"'
    )
    assert clauses["三.2.b"]["state"] == "drift"
    check_run = clause["playbooks"][0]["check"]["drift_run"]
    with Journal.open(lab_env.journal) as journal:
        run = journal.run(check_run)
    assert (run.mode, run.status) == ("drift", "drift"), "the check itself is evidence"
    assert [f["id"] for f in run.extra["findings"]] == [finding["id"]]

    directory.modify(users, {"description": ("replace", [f"{code} Users"])})
    # clean up: the rollback deletes the company's OUs and group (delegation ACEs go
    # with the OU, though rollback reports it cannot undo delegation itself, exit 1)
    undone = cli("rollback", apply_run, "-i", str(inventory), "--yes")
    assert "failed 0, conflict 0, skipped 0" in undone.out, undone.out + undone.err
    assert directory.read(f"OU={code},{BASE}", ["ou"]) is None


def test_compliance_report_output_file_is_owner_only(
    lab_env: Lab, tmp_path: Path, cli: Callable[..., Cli]
) -> None:
    doc = {
        "approvals": str(REPO / "playbooks" / "approvals.yml"),
        "clauses": [
            {
                "id": "二.1.a",
                "title": "Workstations are strictly controlled by default",
                "requirement": "Users cannot install software.",
                "enforced_by": "A playbook nobody has written.",
                "playbooks": ["lockdown_not_written.yml"],
            }
        ],
    }
    map_file = tmp_path / "compliance.yml"
    map_file.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    target = tmp_path / "compliance.json"
    target.write_text("stale\n", encoding="utf-8")
    target.chmod(0o644)
    done = cli("report", "compliance", "-i", str(lab_env.inventory), "--map", str(map_file),
               "--format", "json", "-o", str(target))  # fmt: skip
    assert done.code == 2, done.err  # the one clause rests on a playbook nobody wrote
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [c["id"] for c in json.loads(target.read_text(encoding="utf-8"))["clauses"]] == [
        "二.1.a"
    ]
