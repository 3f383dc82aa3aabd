"""The PowerShell behind `audit changes`: it passes the syntax gate for Windows
PowerShell 5.1, takes exactly the parameters adsuite sends, and never lets a 5136
AttributeValue leave the host."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import tree_sitter
import tree_sitter_powershell
from test_powershell_syntax import SCRIPTS, problems

from adsuite.audit import collect as audit_collect
from adsuite.connectors.winrm import ScriptResult, WinRmSessions
from adsuite.templates import powershell_script

AUDIT_SCRIPTS = (audit_collect.SCRIPT, audit_collect.SHARES_SCRIPT)
_PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def parameters_of(name: str) -> set[str]:
    tree = _PARSER.parse(powershell_script(name).encode("utf-8"))
    found, stack = set(), [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "script_parameter":
            variable = next(c for c in node.children if c.type == "variable")
            found.add((variable.text or b"").decode().lstrip("$"))
        stack.extend(node.children)
    return found


@pytest.mark.parametrize("name", AUDIT_SCRIPTS)
def test_audit_script_is_shipped_and_passes_the_syntax_gate(name: str) -> None:
    assert f"{name}.ps1" in {path.name for path in SCRIPTS}
    assert problems(powershell_script(name)) == []


class Recorder(WinRmSessions):
    """Records what would be sent; runs nothing."""

    def __init__(self) -> None:
        super().__init__(lambda host: None)  # type: ignore[arg-type,return-value]
        self.sent: dict[str, dict[str, Any]] = {}

    def run_on_hosts(self, hosts: Any, script: str, parameters: Any = None, **_: Any) -> Any:
        for host in hosts:
            self.sent[script] = dict(parameters(host) if callable(parameters) else parameters)
        return {host: ScriptResult(host, script, []) for host in hosts}


def test_the_parameters_adsuite_sends_are_the_ones_the_scripts_declare() -> None:
    recorder = Recorder()
    moment = datetime(2026, 11, 27, tzinfo=UTC)
    audit_collect.collect(recorder, {"dc2": "dc2"}, (5136,), moment, moment, ("File",))
    audit_collect.share_roots(recorder, {"fs2": ["data"]})
    for script in AUDIT_SCRIPTS:
        assert set(recorder.sent[script]) <= parameters_of(script), script


def test_attribute_values_are_dropped_on_the_host() -> None:
    text = powershell_script(audit_collect.SCRIPT)
    assert "$Dropped = @('AttributeValue')" in text
    assert "if ($Dropped -notcontains $name)" in text
