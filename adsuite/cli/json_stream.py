"""The JSON every command prints, written piece by piece: ``json.dumps(doc, indent=2,
ensure_ascii=False)`` to the byte, without the standard library's generator per value.

With ``indent`` the standard encoder runs in pure Python, one generator frame per dict
and list; a 200,000-change plan is 10 million pieces that way. Here each value is
appended to one list by a plain recursive function (the C string escaper does the
text), and an iterator given where a list would be (a plan's changes, summarised one
at a time) is written as a JSON array without being held whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

INDENT = 2
BATCH = 65536  # pieces written at once
_INFINITY = float("inf")


class Sink(list[str]):
    """Pieces waiting to be written; long arrays hand them to ``write`` as they go."""

    def __init__(self, write: Callable[[str], None]) -> None:
        super().__init__()
        self.write = write

    def flush(self) -> None:
        self.write("".join(self))
        self.clear()


def write(value: Any, write: Callable[[str], None]) -> None:
    """Write the JSON text of ``value`` through ``write``, a batch of pieces at a time."""
    sink = Sink(write)
    pieces(value, sink)
    sink.flush()


def pieces(value: Any, out: list[str], level: int = 0) -> None:
    """Append the JSON text of ``value`` at nesting ``level`` to ``out``."""
    if isinstance(value, str):
        out.append(encode_basestring(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, list | tuple | Iterator):
        _array(value, out, level)
    elif isinstance(value, dict):
        _object(value, out, level)
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _array(values: Any, out: list[str], level: int) -> None:
    inner = "\n" + " " * (INDENT * (level + 1))
    opened = False
    for item in values:
        out.append("," if opened else "[")
        out.append(inner)
        opened = True
        pieces(item, out, level + 1)
        if len(out) >= BATCH and isinstance(out, Sink):
            out.flush()
    out.append("\n" + " " * (INDENT * level) + "]" if opened else "[]")


def _object(mapping: dict[Any, Any], out: list[str], level: int) -> None:
    if not mapping:
        out.append("{}")
        return
    inner = "\n" + " " * (INDENT * (level + 1))
    first = True
    for key, item in mapping.items():
        out.append("{" if first else ",")
        first = False
        out.append(inner)
        out.append(encode_basestring(_key(key)))
        out.append(": ")
        pieces(item, out, level + 1)
    out.append("\n" + " " * (INDENT * level) + "}")


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, float):
        return _float(key)
    if key is True or key is False or key is None:
        return {True: "true", False: "false", None: "null"}[key]
    if isinstance(key, int):
        return int.__repr__(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return float.__repr__(value)
