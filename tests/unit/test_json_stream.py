"""The streamed JSON is json.dumps(indent=2, ensure_ascii=False) to the byte."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest

from adsuite.cli import json_stream


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


VALUES: list[Any] = [
    {},
    [],
    "",
    'text with "quotes", \\ and ünïcode ☃ \u2028',
    0,
    -12,
    10**30,
    1.5,
    float("nan"),
    float("inf"),
    -float("inf"),
    True,
    None,
    Colour.RED,
    Level.HIGH,
    {"a": {}, "b": [], "c": [1, [2, []], {"d": None}], "e": (1, "x")},
    {7: "int key", 2.5: "float key", True: "bool key", False: "no", None: "none key"},
    [{"kind": "user", "action": Colour.RED, "before": None, "after": {"ou": "HQ"}}] * 3,
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_same_text_as_json_dumps(value: Any) -> None:
    written: list[str] = []
    json_stream.write(value, written.append)
    assert "".join(written) == json.dumps(value, ensure_ascii=False, indent=2)


def test_an_iterator_is_an_array_written_in_batches() -> None:
    rows = [{"n": n, "name": f"row{n}"} for n in range(json_stream.BATCH // 4)]
    written: list[str] = []
    json_stream.write({"rows": iter(rows), "empty": iter(())}, written.append)
    assert "".join(written) == json.dumps({"rows": rows, "empty": []}, indent=2)
    assert len(written) > 1  # not held whole


def test_unknown_types_are_refused() -> None:
    with pytest.raises(TypeError):
        json_stream.write({"x": object()}, lambda text: None)
    with pytest.raises(TypeError):
        json_stream.write({(1, 2): "tuple key"}, lambda text: None)
