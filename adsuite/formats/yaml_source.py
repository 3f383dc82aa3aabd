"""YAML text to plain Python data plus the line of every value, for `file:line` errors.

PyYAML's ``compose`` gives a node tree with marks; this module builds plain data
(dict, list, str, int, float, bool, None) from it with SafeLoader semantics and keeps
a map from each value's path (a tuple of keys and indexes) to its 1-based line.
Duplicate keys, non-text keys and tags a playbook has no use for are errors.

It also turns a pydantic ``ValidationError`` into one :class:`InputError` in words an
AD administrator understands, pointing at the line the bad value came from.
"""

from __future__ import annotations

import difflib
import logging
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from adsuite.errors import InputError

log = logging.getLogger(__name__)

YamlPath = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null")}
MAX_FILE_BYTES = 4 * 2**20  # a playbook or inventory; the largest shipped is 18 KB
_MAX_VALUES = 1_000_000  # aliases can expand exponentially ("billion laughs")


class LocatedValueError(ValueError):
    """A ValueError a model validator raises about a value at a path below the model.

    pydantic reports model-level validator errors at the model itself; this carries the
    path (relative to the validated data) so the error points at the offending line.
    """

    def __init__(self, message: str, path: YamlPath) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class SourceDoc:
    """A parsed YAML file: its name as shown to the user, its data and its lines.

    A scalar's line is its own; a mapping or list under a key has the key's line, so
    an error about a whole block (``ou task needs 'path'``) points at ``ou:``.
    """

    file: str
    data: Any
    lines: dict[YamlPath, int]

    def line_for(self, path: Sequence[str | int]) -> int:
        """The line of the longest prefix of ``path`` that exists in the document."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), 1)

    def error(self, path: Sequence[str | int], message: str) -> InputError:
        """An InputError pointing at the line of ``path``."""
        return InputError(message, file=self.file, line=self.line_for(path))

    def check_keys(
        self, path: YamlPath, data: Mapping[str, Any], known: Sequence[str], what: str
    ) -> None:
        """Reject a key of ``data`` not in ``known``, suggesting the closest one."""
        for key in data:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(known)}"
                raise self.error((*path, key), f"unknown {what} key '{key}' ({hint})")

    def refuse_control_characters(self, base: YamlPath = (), value: Any = None) -> None:
        """One error for the first control character in any key or text of ``value``
        (default: the whole document). A NUL, tab or newline has no place in an AD name
        or description, and a newline would forge lines of adsuite's own output."""
        found = find_control_character(self.data if value is None else value)
        if found is not None:
            where, code = found
            subject = f"'{dotted((*base, *where))}'" if (*base, *where) else "a value"
            message = f"{subject} contains a control character (U+{code:04X}); remove it"
            raise self.error((*base, *where), message)

    def text(self, path: YamlPath, value: Any, what: str) -> str:
        """``value`` if it is non-empty text, else an error naming ``what``."""
        if not isinstance(value, str) or not value:
            raise self.error(path, f"'{what}' must be text, not {short_repr(value)}")
        return value


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def find_control_character(value: Any, path: YamlPath = ()) -> tuple[YamlPath, int] | None:
    """The path and code point of the first control character in ``value``'s text."""
    if isinstance(value, str):
        match = _CONTROL.search(value)
        return (path, ord(match[0])) if match else None
    items: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list | tuple):
        items = list(enumerate(value))
    for key, item in items:
        if isinstance(key, str) and (match := _CONTROL.search(key)):
            return (path, ord(match[0]))
        if (found := find_control_character(item, (*path, key))) is not None:
            return found
    return None


# libyaml's composer is several times faster on large playbooks and keeps the marks;
# the pure-Python one is the fallback where PyYAML was built without it
_COMPOSER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str, file: str) -> SourceDoc:
    """Parse YAML ``text``; ``file`` is the name shown in error messages."""
    try:
        root = yaml.compose(text, Loader=_COMPOSER)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, file) from None
    except yaml.YAMLError as exc:
        line = _reader_error_line(exc, text)
        first = (str(exc).splitlines() or ["unreadable"])[0]  # the rest is PyYAML's position
        raise InputError(f"not valid YAML: {first}", file=file, line=line) from None
    if root is None:
        return SourceDoc(file, None, {(): 1})
    builder = _Builder(file)
    data = builder.value(root, ())
    builder.lines.setdefault((), root.start_mark.line + 1)
    return SourceDoc(file, data, builder.lines)


def read_yaml(path: Path, shown: str) -> tuple[SourceDoc, bytes]:
    """Read and parse the file at ``path``; returns the document and the raw bytes."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", file=shown) from None
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(f"file is over {MAX_FILE_BYTES // 2**20} MiB", file=shown)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError("not UTF-8 text", file=shown, line=line) from None
    return parse_yaml(text, shown), raw


def _syntax_error(exc: yaml.MarkedYAMLError, file: str) -> InputError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "syntax error"
    detail = f" ({exc.context})" if exc.context else ""
    line = mark.line + 1 if mark is not None else None
    return InputError(f"YAML syntax error: {problem}{detail}", file=file, line=line)


def _reader_error_line(exc: yaml.YAMLError, text: str) -> int | None:
    position = getattr(exc, "position", None)
    return text[:position].count("\n") + 1 if isinstance(position, int) else None


class _Builder:
    """Walks a composed node tree, building plain data and recording lines."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[YamlPath, int] = {}
        self._constructor = yaml.SafeLoader("")
        self._active: set[int] = set()
        self._count = 0

    def fail(self, node: yaml.Node, message: str) -> InputError:
        return InputError(message, file=self.file, line=node.start_mark.line + 1)

    def value(self, node: yaml.Node, path: YamlPath) -> Any:
        self._count += 1
        if self._count > _MAX_VALUES:
            raise self.fail(node, "document too large (aliases expand too far)")
        if isinstance(node, yaml.ScalarNode):
            self.lines[path] = node.start_mark.line + 1
            return self.scalar(node)
        self.lines.setdefault(path, node.start_mark.line + 1)
        if id(node) in self._active:
            raise self.fail(node, "an alias refers to the collection that contains it")
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return self.sequence(node, path)
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, path)
        finally:
            self._active.discard(id(node))
        raise self.fail(node, "unsupported YAML node")

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == f"{_TAG}timestamp":
            return node.value  # dates stay text; AD attributes are not YAML dates
        if node.tag not in _PLAIN_TAGS:
            raise self.fail(node, f"unsupported YAML tag {node.tag}")
        return self._constructor.construct_object(node, deep=True)

    def sequence(self, node: yaml.SequenceNode, path: YamlPath) -> list[Any]:
        if node.tag != f"{_TAG}seq":
            raise self.fail(node, f"unsupported YAML tag {node.tag}")
        return [self.value(item, (*path, index)) for index, item in enumerate(node.value)]

    def mapping(self, node: yaml.MappingNode, path: YamlPath) -> dict[str, Any]:
        if node.tag != f"{_TAG}map":
            raise self.fail(node, f"unsupported YAML tag {node.tag}")
        merges = [value for key, value in node.value if key.tag == f"{_TAG}merge"]
        result = self.merged(merges, path)
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == f"{_TAG}merge":
                continue
            key = self.key(key_node)
            if key in key_lines:
                raise self.fail(key_node, f"duplicate key '{key}' (first at line {key_lines[key]})")
            key_lines[key] = key_node.start_mark.line + 1
            if not isinstance(value_node, yaml.ScalarNode):
                self.lines[(*path, key)] = key_lines[key]  # a nested block points at its key
            result[key] = self.value(value_node, (*path, key))
        return result

    def merged(self, nodes: list[yaml.Node], path: YamlPath) -> dict[str, Any]:
        """YAML merge keys (``<<: *defaults``): explicit keys win, earlier sources win."""
        sources = [s for n in nodes for s in (n.value if isinstance(n, yaml.SequenceNode) else [n])]
        result: dict[str, Any] = {}
        for source in reversed(sources):  # earlier sources last, so they overwrite
            if not isinstance(source, yaml.MappingNode):
                raise self.fail(source, "a merge key (<<) needs a mapping or a list of them")
            result.update(self.value(source, path))
        return result

    def key(self, node: yaml.Node) -> str:
        if isinstance(node, yaml.ScalarNode) and node.tag == f"{_TAG}str":
            return str(node.value)
        if isinstance(node, yaml.ScalarNode):
            shown = node.value
            raise self.fail(node, f"key {shown} is not text; quote it: '{shown}'")
        raise self.fail(node, "a mapping key must be text, not a list or mapping")


# --- pydantic errors in words ------------------------------------------------------

_TYPE_WORDS = {
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "text",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "frozen_set_type": "a list",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "path_type": "a file path",
}


def validation_error(
    doc: SourceDoc,
    exc: ValidationError,
    *,
    base: YamlPath,
    what: str,
    model: type[BaseModel],
    suffix: str = "",
) -> InputError:
    """The one InputError for ``exc``, raised validating ``doc`` data at ``base``.

    ``what`` names the validated thing in messages ("ou task", "inventory"); ``suffix``
    is appended (e.g. which loop item). The reported error is the one on the earliest
    line, so fixing errors top to bottom works; a key both unknown and missing from the
    same mapping (a typo) is reported as the unknown key.
    """
    located = [(_error_path(error), error) for error in exc.errors()]
    # a misspelt key is both unknown and missing; the unknown one explains it better
    misspelt = {p[:-1] for p, e in located if e["type"] == "extra_forbidden"}
    located = [(p, e) for p, e in located if e["type"] != "missing" or p[:-1] not in misspelt]
    path, error = min(located, key=lambda pair: doc.line_for((*base, *pair[0])))
    message = describe_error(error, path, what=what, model=model)
    return doc.error((*base, *path), message + suffix)


def _error_path(error: ErrorDetails) -> YamlPath:
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, LocatedValueError):
        return (*error["loc"], *cause.path)
    return tuple(error["loc"])


def describe_error(
    error: ErrorDetails, path: YamlPath, *, what: str, model: type[BaseModel]
) -> str:
    """One pydantic error as a sentence: unknown key, missing key, wrong type, bad value."""
    kind = error["type"]
    parent = dotted(path[:-1]) if len(path) > 1 else what
    name = str(path[-1]) if path else what
    if kind == "extra_forbidden":
        known = _field_names(model, path[:-1])
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown key '{name}' in {parent}{hint}"
    if kind == "missing":
        return f"{parent} needs '{name}'"
    if kind in ("value_error", "assertion_error"):
        cause = error.get("ctx", {}).get("error")
        return str(cause) if cause is not None else error["msg"].removeprefix("Value error, ")
    subject = f"'{dotted(path)}'" if path else what
    shown = short_repr(error.get("input"))
    if kind in _TYPE_WORDS:
        return f"{subject} must be {_TYPE_WORDS[kind]}, not {shown}"
    if kind == "literal_error":
        return f"{subject} must be {error.get('ctx', {}).get('expected')}, not {shown}"
    message = error["msg"]
    if message.startswith("Input should be "):
        return f"{subject} must be {message.removeprefix('Input should be ')}, not {shown}"
    return f"{subject}: {message[:1].lower()}{message[1:]}"


def dotted(path: Sequence[str | int]) -> str:
    """``('hosts', 'fs1', 'smb')`` as ``hosts.fs1.smb``; indexes as ``[2]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def short_repr(value: Any, limit: int = 40) -> str:
    """A value as an admin would write it in YAML, cut to ``limit`` characters."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _field_names(model: type[BaseModel], path: YamlPath) -> list[str]:
    target = _type_at(model, path)
    if not (isinstance(target, type) and issubclass(target, BaseModel)):
        return []
    return [field.alias or name for name, field in target.model_fields.items()]


def _type_at(model: type[BaseModel], path: YamlPath) -> Any:
    current: Any = model
    for part in path:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = current.model_fields
            field = fields.get(str(part)) or next(
                (f for f in fields.values() if f.alias == part), None
            )
            current = field.annotation if field is not None else None
        elif typing.get_origin(current) in (dict, Mapping):
            current = typing.get_args(current)[1]
        elif typing.get_origin(current) in (list, tuple, set, frozenset, Sequence):
            current = typing.get_args(current)[0]
        else:
            return None
    return _unwrap(current)


def _unwrap(annotation: Any) -> Any:
    """The model or container inside ``Annotated[...]`` and ``X | None``."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        structured = [m for m in members if typing.get_origin(m) or isinstance(m, type)]
        return _unwrap(structured[0]) if structured else None
    return annotation
