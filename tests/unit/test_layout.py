"""The project's shape, checked: imports point one way (docs/architecture.md), only the
CLI prints, and test modules have unique names (pytest's import mode needs that)."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "adsuite"

# layer -> the adsuite layers it must not import
FORBIDDEN = {
    "formats": {
        "connectors",
        "resources",
        "engine",
        "cli",
        "journal",
        "tickets",
        "serve",
        "lab",
        "admin",
        "health",
        "recovery",
    },
    "connectors": {"resources", "engine", "cli", "tickets", "serve", "admin", "health", "recovery"},
    # resources build queries and read entries as plain data (formats/ldap_query.py);
    # only the engine's readers and writers talk to a DC
    "resources": {"connectors", "engine", "cli", "tickets", "serve", "admin", "health", "recovery"},
    "journal": {"engine", "cli", "resources", "tickets", "serve", "admin", "health", "recovery"},
    "engine": {"cli", "serve", "tickets", "admin", "health", "recovery"},
    "health": {"cli", "serve", "tickets", "admin", "recovery"},
    "tickets": {"cli", "serve", "admin"},
    "admin": {"cli", "serve"},
    "recovery": {"cli", "serve", "tickets", "admin"},
    "serve": {"cli"},
    "lab": {"engine", "cli", "resources", "tickets", "serve", "admin"},
}


def imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("adsuite."):
            names.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[1] for a in node.names if a.name.startswith("adsuite."))
    return names


def test_imports_point_one_way() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports adsuite.{used}"
        for layer, banned in FORBIDDEN.items()
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for used in sorted(imported_layers(path) & banned)
    ]
    assert wrong == []


def test_only_the_cli_prints() -> None:
    printing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "cli" in path.relative_to(PACKAGE).parts[:1]:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "print"
            ):
                printing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert printing == []


def test_test_modules_have_unique_names() -> None:
    names = Counter(p.name for p in (ROOT / "tests").rglob("test_*.py"))
    assert [name for name, n in names.items() if n > 1] == []
