"""Input the directory would take wrongly, against the real lab DC: every case is one
line, exit 1, and nothing written — no object (deleted ones included) changes after the
domain's highestCommittedUSN but the one-writer lease an apply takes and gives back, and
no journal is created — even when a good task comes before the bad one. A legal but
unusual name (a leading space, a leading '#') is created, read back, and plans clean."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from labkit import Cli, Lab

from adsuite.connectors.ldap import Directory
from adsuite.formats.ldap_query import Query
from adsuite.resources.schema_limits import RANGE_UPPER

pytestmark = pytest.mark.lab

BASE = "DC=group,DC=example,DC=com"


def highest_usn(directory: Directory) -> int:
    root = next(directory.search(Query("", "(objectClass=*)", ("highestCommittedUSN",), "base")))
    usn = root.integer("highestCommittedUSN")
    assert usn is not None
    return usn


def changed_since(lab_env: Lab, usn: int) -> list[str]:
    """DNs written after *usn*, deleted ones included (read by ldbsearch, not adsuite),
    but for the one-writer lease every writing run takes and gives back."""
    sam = str(lab_env.status.state_dir / "private" / "sam.ldb")
    found = subprocess.run(
        ["ldbsearch", "-H", sam, "--show-deleted", f"(uSNChanged>={usn + 1})", "dn"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    dns = [line[4:] for line in found.splitlines() if line.startswith("dn: ")]
    return [dn for dn in dns if not dn.startswith("CN=adsuite-lease")]


def bad_tasks(top: str, pwned: Path) -> dict[str, tuple[str, str]]:
    """name -> (the bad task, the start of the one line it must give at line 3)."""
    shell = "{{ cycler.__init__.__globals__.os.popen('id > " + str(pwned) + "').read() }}"
    return {
        "template runs code": (
            f'  - ou: {{path: "{top}/{shell}"}}\n',
            "template refused: access to attribute '__init__'",
        ),
        "unbounded range": (
            '  - loop: "{{ range(100000000) | list }}"\n    ou: {path: "X{{ item }}"}\n',
            "template refused: range() of over 10000 items",
        ),
        "NUL in a name": (
            f'  - ou: {{path: "{top}/a\\0b"}}\n',
            "'tasks[1].ou.path' contains a control character (U+0000)",
        ),
        "a newline forging a plan line": (
            f'  - ou: {{path: "{top}/a\\nNo changes: nothing to do"}}\n',
            "'tasks[1].ou.path' contains a control character (U+000A)",
        ),
        "a tab": (
            f'  - ou: {{path: "{top}/a\\tb"}}\n',
            "'tasks[1].ou.path' contains a control character (U+0009)",
        ),
        "a description over rangeUpper": (
            f'  - ou: {{path: "{top}/d", description: "{"x" * 2000}"}}\n',
            "'description' is 2000 characters; the AD schema allows 1024 (description)",
        ),
        "a path written as a DN": (
            '  - ou: {path: "OU=Evil,DC=other,DC=com"}\n',
            "bad OU path: write it as a path like HQ/Users, not as a DN",
        ),
        "a parent OU that does not exist": (
            f'  - ou: {{path: "{top}Missing/Child"}}\n',
            f"parent OU '{top}Missing' does not exist and is not declared",
        ),
        "an import outside the playbook's folder": (
            "- import_playbook: /etc/shadow\n",
            "import_playbook must name a file in the playbook's folder",
        ),
    }


CASES = sorted(bad_tasks("T", Path("/x")))


@pytest.mark.parametrize("case", CASES)
def test_bad_input_after_a_good_task_is_one_line_and_writes_nothing(
    case: str,
    lab_env: Lab,
    directory: Directory,
    top: str,
    tmp_path: Path,
    cli: Callable[..., Cli],
) -> None:
    pwned = tmp_path / "pwned"
    task, expected = bad_tasks(top, pwned)[case]
    good = f"  - ou: {{path: {top}}}\n"
    importing = task.startswith("- import_playbook")
    text = f"- tasks:\n{good}{task}" if importing else f"tasks:\n{good}{task}"
    playbook = tmp_path / "bad.yml"
    playbook.write_text(text, encoding="utf-8")
    journal = tmp_path / "journal.sqlite"
    before = highest_usn(directory)

    for command in (["plan"], ["apply", "--yes"]):
        result = cli(
            *command,
            str(playbook),
            "-i",
            str(lab_env.inventory),
            env={"ADSUITE_JOURNAL": str(journal)},
        )
        assert result.code == 1, (command, result.out, result.err)
        assert result.err.startswith(f"adsuite: {playbook}:3: {expected}"), result.err
        assert len(result.err.strip().splitlines()) == 1 and result.out == ""
        assert "root:" not in result.err

    assert changed_since(lab_env, before) == [], "nothing may be written to the directory"
    assert directory.read(f"OU={top},{BASE}", ["ou"]) is None
    assert not journal.exists() and not pwned.exists()


def test_plan_names_the_task_whose_parent_ou_is_missing(
    lab_env: Lab, top: str, write_playbook: Callable[..., Path], cli: Callable[..., Cli]
) -> None:
    playbook = write_playbook(f"tasks:\n  - name: child\n    ou: {{path: {top}/Child}}\n")
    planned = cli("plan", str(playbook), "-i", str(lab_env.inventory))
    assert planned.code == 1 and planned.out == ""
    assert planned.err.strip() == (
        f"adsuite: {playbook}:2: parent OU '{top}' does not exist and is not declared"
    )
    declared = write_playbook(
        f"tasks:\n  - ou: {{path: {top}/Child}}\n  - ou: {{path: {top}}}\n", "both.yml"
    )
    assert cli("plan", str(declared), "-i", str(lab_env.inventory)).code == 0


def test_an_ou_with_a_leading_space_or_hash_is_created_read_back_and_plans_clean(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    tasks = f"  - ou: {{path: {top}, protected: false}}\n"
    tasks += f'  - ou: {{path: "{top}/ lead", description: " 前导空格", protected: false}}\n'
    tasks += f'  - ou: {{path: "{top}/#hash", protected: false}}\n'
    playbook = write_playbook("tasks:\n" + tasks)
    inv = str(lab_env.inventory)
    try:
        applied = cli("apply", str(playbook), "-i", inv, "--yes")
        assert applied.code == 0, applied.err
        assert "Applied 3, failed 0" in applied.out
        lead = directory.read(f"OU=\\ lead,OU={top},{BASE}", ["ou", "description"])
        assert lead is not None and lead.text("ou") == " lead"
        assert lead.text("description") == " 前导空格"
        hashed = directory.read(f"OU=\\#hash,OU={top},{BASE}", ["ou"])
        assert hashed is not None and hashed.text("ou") == "#hash"
        again = cli("plan", str(playbook), "-i", inv)
        assert again.code == 0 and "No changes" in again.out, again.out + again.err
    finally:
        gone = [f'"{top}/ lead"', f'"{top}/#hash"', top]
        removal = "tasks:\n" + "".join(
            f"  - ou: {{path: {path}, state: absent, allow_delete: true}}\n" for path in gone
        )
        cli("apply", str(write_playbook(removal, "rm.yml")), "-i", inv, "--yes")
    assert directory.read(f"OU={top},{BASE}", ["ou"]) is None


def test_the_range_upper_table_matches_the_lab_dc_schema(directory: Directory) -> None:
    schema = f"CN=Schema,CN=Configuration,{BASE}"
    wanted = "".join(f"(lDAPDisplayName={name})" for name in RANGE_UPPER)
    query = Query(schema, f"(|{wanted})", ("lDAPDisplayName", "rangeUpper"), "one")
    found = {e.text("lDAPDisplayName"): e.integer("rangeUpper") for e in directory.search(query)}
    assert found == RANGE_UPPER
