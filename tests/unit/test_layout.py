"""The project's shape, checked: imports point one way (docs/architecture.md), only the
CLI prints, and test modules have unique names (pytest's import mode needs that)."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "adsuite"

# The floors, bottom up (docs/architecture.md): a layer imports only layers on floors
# below its own, never one beside it or above. The modules at the package root
# (errors, source, templates, private_files) may be imported from anywhere.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("formats",),  # pure codecs, LDAP queries as data
    ("connectors",),  # LDAP, SMB, WinRM, credentials, probes
    ("journal", "lab"),  # the journal; the lab DC
    ("runtime",),  # what a run works with: inventory, typed connections, progress, lease
    ("resources",),  # one package per kind family: pure planning, and its io beside it
    ("engine",),  # the pipeline: load, facts, plan, apply, drift, rollback
    ("audit", "tickets", "health", "recovery", "schedule"),  # jobs built on the pipeline
    ("admin",),  # super-administrator check-out, logon usage (uses tickets)
    ("compliance",),  # the report over all of the above
    ("serve",),  # the service-desk endpoint
    ("cli",),  # the only place that prints
)
ROOT_MODULES = {p.stem for p in PACKAGE.glob("*.py")}  # errors, source, templates, ...
SHARED_RESOURCE_MODULES = {
    "__init__",
    "base",  # Kind, Desired, Change, PlanContext
    "attributes",  # attribute tables as data
    "naming",  # names AD accepts
    "regulations",  # the regulation floors
    "schema_limits",  # rangeUpper of what adsuite writes
    "registry",  # every kind, by its task key
}
FLOOR = {layer: level for level, layers in enumerate(FLOORS) for layer in layers}
FORBIDDEN = {layer: {other for other in FLOOR if FLOOR[other] >= FLOOR[layer] and other != layer}
             for layer in FLOOR}  # fmt: skip


def imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("adsuite."):
            names.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[1] for a in node.names if a.name.startswith("adsuite."))
    return names


def test_every_package_has_a_floor() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(FLOOR)


def test_imports_point_one_way() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports adsuite.{used}"
        for layer, banned in FORBIDDEN.items()
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for used in sorted(imported_layers(path) & banned)
    ]
    assert wrong == []


# Inside a kind's package only its io modules (io.py, *_io.py) talk to the world; every
# other module is pure: it imports formats, other resources and the root modules only.
PURE_MAY_IMPORT = {"formats", "resources"}


def is_io(path: Path) -> bool:
    return path.stem == "io" or path.stem.endswith("_io")


def test_kinds_are_pure_outside_their_io_modules() -> None:
    impure = [
        f"{path.relative_to(ROOT)} imports adsuite.{used}"
        for path in sorted((PACKAGE / "resources").rglob("*.py"))
        if not is_io(path)
        for used in sorted(imported_layers(path) - PURE_MAY_IMPORT - ROOT_MODULES)
    ]
    assert impure == []


def test_every_kind_lives_in_a_package() -> None:
    """A kind is one folder: resources/ holds packages, and only the shared modules."""
    loose = {p.stem for p in (PACKAGE / "resources").glob("*.py")} - SHARED_RESOURCE_MODULES
    assert loose == set()


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
