"""docs/tickets.md lists every ticket type's parameters exactly as its model takes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from adsuite.tickets import params_doc
from adsuite.tickets.registry import IMPLEMENTED

DOC = Path(__file__).parents[2] / "docs" / "tickets.md"


def test_the_doc_holds_the_tables_the_models_give() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert params_doc.section() in text, "run scripts/ticket-params-doc.py"


@pytest.mark.parametrize("name", list(IMPLEMENTED))
def test_every_type_and_every_parameter_is_listed_and_described(name: str) -> None:
    section = params_doc.section()
    assert f"### `{name}`" in section
    for field, info in IMPLEMENTED[name].params.model_fields.items():
        assert info.description, f"{name}.{field} has no description"
        assert f"| `{field}` | " in section


def test_a_changed_model_makes_the_doc_stale() -> None:
    stale = DOC.read_text(encoding="utf-8").replace("| `unlock` | no (default `true`)", "| x |")
    assert params_doc.section() not in stale
    assert params_doc.section() in params_doc.replaced(stale)
