"""The PowerShell syntax gate: every script adsuite ships (and every test script) parses.

tree-sitter with the tree-sitter-powershell grammar parses each .ps1. Beyond parse
errors the gate refuses what Windows PowerShell 5.1 cannot run although the grammar
accepts it (``&&``/``||`` pipeline chains), a ``try`` without ``catch`` or ``finally``
(which the grammar accepts), and commands built from strings (Invoke-Expression, or
``[scriptblock]::Create`` outside the pywinrm runner). The known broken snippets below
prove the gate can fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tree_sitter
import tree_sitter_powershell

from adsuite.errors import InputError
from adsuite.templates import powershell_script, shipped_folder

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((shipped_folder() / "powershell").glob("*.ps1")) + sorted(
    (ROOT / "tests" / "winrm" / "powershell").glob("*.ps1")
)
RUNNER = "winrs_runner.ps1"
_PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
_STRING_BUILT = {"invoke-expression", "iex"}
_SCRIPTBLOCK_CREATE = re.compile(r"\[scriptblock\]::create", re.IGNORECASE)


def problems(source: str, *, runner: bool = False) -> list[str]:
    """What keeps ``source`` from running on Windows PowerShell 5.1, one line each."""
    tree = _PARSER.parse(source.encode("utf-8"))
    found: list[str] = []
    for node in _walk(tree.root_node):
        where = f"line {node.start_point[0] + 1}"
        text = (node.text or b"").decode("utf-8", errors="replace")
        if node.is_error or node.is_missing:
            found.append(f"{where}: syntax error near {text[:30]!r}")
        elif node.type == "pipeline_chain_tail":
            found.append(f"{where}: && or || needs PowerShell 7")
        elif node.type == "try_statement" and not any(
            child.type in ("catch_clauses", "finally_clause") for child in node.children
        ):
            found.append(f"{where}: try without catch or finally")
        elif node.type == "command_name" and text.lower() in _STRING_BUILT:
            found.append(f"{where}: {text} runs a string as code")
    if tree.root_node.has_error and not found:
        found.append("syntax error")
    if not runner and _SCRIPTBLOCK_CREATE.search(source):
        found.append("[scriptblock]::Create runs a string as code")
    return found


def _walk(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    nodes = [node]
    for child in node.children:
        nodes.extend(_walk(child))
    return nodes


def test_there_are_shipped_scripts_to_check() -> None:
    names = {path.name for path in SCRIPTS}
    assert {"winrs_runner.ps1", "get_logon_events.ps1", "get_group_members.ps1"} <= names
    assert {"get_folder_security.ps1", "new_folder.ps1", "set_folder_security.ps1"} <= names


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: path.name)
def test_script_parses_for_windows_powershell_5_1(path: Path) -> None:
    assert problems(path.read_text(encoding="utf-8-sig"), runner=path.name == RUNNER) == []


@pytest.mark.parametrize(
    "path", [p for p in SCRIPTS if p.name != RUNNER], ids=lambda path: path.name
)
def test_script_takes_its_values_through_a_param_block(path: Path) -> None:
    tree = _PARSER.parse(path.read_bytes())
    assert any(node.type == "param_block" for node in _walk(tree.root_node))


BROKEN = {
    "unclosed block": "if ($a) { 'x' ",
    "pipeline chain": "Get-Item a && Get-Item b",
    "null coalescing": "$x = $a ?? 1",
    "ternary": "$x = $a ? 1 : 2",
    "try alone": "try { 1 }",
    "invoke-expression": "Invoke-Expression $text",
    "iex": "iex 'Get-Item a'",
    "scriptblock from text": "& ([scriptblock]::Create($text))",
    "unterminated string": "$x = 'abc",
    "bad param block": "param([string]$a,, [int]$b)",
}


@pytest.mark.parametrize("source", BROKEN.values(), ids=BROKEN.keys())
def test_gate_refuses_broken_or_unsafe_scripts(source: str) -> None:
    assert problems(source) != []


FINE = {
    "try catch": "try { 1 } catch { 2 }",
    "try finally": "try { 1 } finally { 2 }",
    "splatting": "$p = @{ Name = 'a' }\nGet-Item @p",
    "here-string": "$x = @'\nit's fine\n'@",
}


@pytest.mark.parametrize("source", FINE.values(), ids=FINE.keys())
def test_gate_accepts_valid_scripts(source: str) -> None:
    assert problems(source) == []


def test_script_in_the_override_folder_wins_over_the_shipped_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "powershell").mkdir()
    (tmp_path / "powershell" / "get_group_members.ps1").write_text("\ufeffparam($Groups)\n'mine'\n")
    monkeypatch.setenv("ADSUITE_TEMPLATES", str(tmp_path))
    assert powershell_script("get_group_members") == "param($Groups)\n'mine'\n"
    assert powershell_script("winrs_runner").startswith("# The fixed runner")  # shipped still found


@pytest.mark.parametrize("name", ["../etc/passwd", "Get-Thing", "a/b", "", "x.ps1"])
def test_script_names_that_could_leave_the_folder_are_refused(name: str) -> None:
    with pytest.raises(InputError, match="bad PowerShell script name"):
        powershell_script(name)


def test_missing_script_names_the_folders_searched() -> None:
    with pytest.raises(InputError, match=r"no PowerShell script nothing_here\.ps1 in .*powershell"):
        powershell_script("nothing_here")
