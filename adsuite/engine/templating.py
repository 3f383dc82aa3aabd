"""The Jinja2 environment playbook templates run in: sandboxed, bounded, native types.

A playbook is input, not code: a template can read what it is given but not reach
Python (``cycler.__init__.__globals__`` is refused by jinja2's immutable sandbox), and
every way a short template could make something huge or run for long is bounded:
``range()`` and ``product`` are counted against a per-template step budget, so is
every ``{% for %}`` iteration; ``* ** % +`` and ``~`` refuse results over
:data:`MAX_VALUE_CHARS`; filters that multiply their input (``center``, ``indent``,
``format``, ``wordwrap``) are not offered, and string methods that do are refused.
"""

from __future__ import annotations

import contextvars
import functools
import itertools
import logging
import operator
import re
from collections.abc import Iterable, Iterator, Mapping, Sized
from typing import Any

from jinja2 import StrictUndefined, Template, nodes
from jinja2.exceptions import SecurityError
from jinja2.nativetypes import NativeCodeGenerator, NativeTemplate
from jinja2.runtime import new_context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from adsuite.engine import templating_direct

log = logging.getLogger(__name__)

MAX_RANGE = 10_000  # items one range() may give
MAX_TEMPLATE_STEPS = 100_000  # loop iterations, range and product items in one template
MAX_VALUE_CHARS = 100_000  # length of any text or list a template builds
_UNSAFE_METHODS = frozenset(
    ("center", "ljust", "rjust", "zfill", "expandtabs", "format", "format_map", "translate")
)
_MULTIPLYING_FILTERS = ("center", "indent", "format", "wordwrap", "xmlattr", "urlize")
_BOUNDED_OPS = {"*": operator.mul, "**": operator.pow, "%": operator.mod, "+": operator.add}
_steps: contextvars.ContextVar[list[int]] = contextvars.ContextVar("template_steps")


class TemplateLimit(SecurityError):
    """A template went over one of the bounds above."""


def _sized(value: Any) -> Any:
    if type(value) is str and len(value) <= MAX_VALUE_CHARS:
        return value  # most values: checked at once
    if isinstance(value, str | bytes | list | tuple | dict) and len(value) > MAX_VALUE_CHARS:
        raise TemplateLimit(f"a value of over {MAX_VALUE_CHARS} characters or items")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        raise TemplateLimit("a number of over 256 bits")
    return value


def _count(items: Iterable[Any]) -> Iterator[Any]:
    budget = _steps.get(None)
    for item in items:
        if budget is not None:
            budget[0] += 1
            if budget[0] > MAX_TEMPLATE_STEPS:
                raise TemplateLimit(f"over {MAX_TEMPLATE_STEPS} loop steps")
        yield item


def _range(*args: int) -> Iterator[int]:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise TemplateLimit(f"range() of over {MAX_RANGE} items")
    return _count(numbers)


def _product(*lists: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
    """Ansible's ``product`` filter, counted against the step budget."""
    return _count(itertools.product(*lists))


def _replace(value: Any, old: Any, new: Any, count: int | None = None) -> str:
    text, old, new = str(value), str(old), str(new)
    found = text.count(old) if old else len(text) + 1
    if len(text) + found * max(len(new) - len(old), 0) > MAX_VALUE_CHARS:
        raise TemplateLimit(f"a value of over {MAX_VALUE_CHARS} characters or items")
    return text.replace(old, new) if count is None else text.replace(old, new, count)


def _join(items: Iterable[Any], separator: str = "", attribute: Any = None) -> str:
    parts = [str(item) for item in items] if attribute is None else None
    if parts is None:
        raise TemplateLimit("join(attribute=...) is not offered; use map first")
    if sum(map(len, parts)) + len(separator) * len(parts) > MAX_VALUE_CHARS:
        raise TemplateLimit(f"a value of over {MAX_VALUE_CHARS} characters or items")
    return separator.join(parts)


def _bounded_concat(parts: list[Any]) -> str:
    return str(_sized("".join(map(str, parts))))


def _bounded_iter(items: Any) -> Iterator[Any]:
    return _count(items)


class _Bounds(NodeTransformer):
    """Route ``{% for %}`` and ``~`` through the counted, size-checked helpers."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _filter(node.iter, "_adsuite_iter")  # type: ignore[arg-type]
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _filter(nodes.List(node.nodes, lineno=node.lineno), "_adsuite_concat")


def _filter(node: nodes.Expr, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


def concat(values: Iterable[Any]) -> Any:
    """A whole-value template gives its value unchanged; several parts give text.

    Unlike jinja2's own native concat, text is never re-parsed as a Python literal,
    so ``"{{ item.code }}"`` stays the string ``"007"`` rather than becoming 7.
    """
    parts = list(values)
    if len(parts) == 1:
        return parts[0]
    return _bounded_concat(parts)


class _Template(NativeTemplate):
    pass


class Environment(ImmutableSandboxedEnvironment):
    """jinja2's immutable sandbox, generating native-type code like NativeEnvironment."""

    code_generator_class = NativeCodeGenerator
    concat = staticmethod(concat)  # type: ignore[assignment]
    template_class = _Template
    intercepted_binops = frozenset(_BOUNDED_OPS)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr in _UNSAFE_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> None:
        """``str.format`` is refused (its widths allocate), not wrapped: see is_safe_attribute."""
        return None

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator in ("*", "**"):
            _check_factors(operator, left, right)
        if operator == "%" and isinstance(left, str):
            _check_format(left)
        return _sized(_BOUNDED_OPS[operator](left, right))

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        _Bounds().visit(tree)
        tree.set_environment(self)
        return tree


def _check_factors(operator: str, left: Any, right: Any) -> None:
    """Refuse before computing: ``'x' * 10**9`` must not allocate first."""
    if operator == "**" and isinstance(right, int) and abs(right) > 256:
        raise TemplateLimit("an exponent over 256")
    for value, factor in ((left, right), (right, left)):
        sized = isinstance(value, Sized) and isinstance(factor, int)
        if sized and len(value) * max(factor, 0) > MAX_VALUE_CHARS:
            raise TemplateLimit(f"a value of over {MAX_VALUE_CHARS} characters or items")


_FORMAT_WIDTH = re.compile(r"%[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_format(text: str) -> None:
    for match in _FORMAT_WIDTH.finditer(text):
        for width in match.groups():
            if width == "*" or (width is not None and int(width) > 1000):
                raise TemplateLimit("a %-format width over 1000")


_Template.environment_class = Environment  # type: ignore[assignment]
ENV = Environment(undefined=StrictUndefined)
for _name in _MULTIPLYING_FILTERS:
    ENV.filters.pop(_name, None)
ENV.globals.pop("lipsum", None)
ENV.globals["range"] = _range
ENV.filters.update(
    product=_product,  # Ansible has it; jinja2 does not
    replace=_replace,
    join=_join,
    _adsuite_iter=_bounded_iter,
    _adsuite_concat=_bounded_concat,
)


@functools.lru_cache(maxsize=512)
def compile_template(text: str) -> Template:
    return ENV.from_string(text)


class Variables:
    """What templates see, merged with the environment's globals once for many renders.

    jinja2's ``Template.render`` copies the globals and the variables into a new dict
    for every call; a 200,000-task playbook renders about a million values from a few
    hundred thousand contexts. Each render still gets a context of its own (a
    template's ``{% set %}`` never reaches another); the merged dict is only read.
    """

    __slots__ = ("merged",)

    def __init__(self, context: Mapping[str, Any]) -> None:
        self.merged: dict[str, Any] = {**ENV.globals, **context}


@functools.lru_cache(maxsize=512)
def _direct(text: str) -> templating_direct.Direct | None:
    return templating_direct.compile_direct(ENV, text)


def render(text: str, context: Mapping[str, Any] | Variables) -> Any:
    """Render ``text`` with a fresh step budget; the result's size is checked too.

    A simple template is evaluated directly (engine/templating_direct.py), jinja2's
    runtime only where that cannot give the same value (or to word an error).
    """
    variables = context if isinstance(context, Variables) else Variables(context)
    direct = _direct(text)
    if direct is not None:
        try:
            return _finished(concat(direct(variables.merged)))
        except Exception:  # jinja2 renders it again, and words any error
            pass
    token = _steps.set([0])
    try:
        return _finished(_render(compile_template(text), variables))
    finally:
        _steps.reset(token)


def _finished(result: Any) -> Any:
    if isinstance(result, Iterator):  # e.g. `product(...)` without `| list`
        return _sized(list(itertools.islice(result, MAX_VALUE_CHARS + 1)))
    return _sized(result)


def _render(template: Template, variables: Variables) -> Any:
    """``template.render(...)`` on a context made from the shared, merged variables."""
    # no globals: they name what a template used as a module ({% import %}) exports,
    # and these templates are never imported (no loader); the merged dict holds them
    environment = template.environment
    context = new_context(environment, template.name, template.blocks, variables.merged, True)
    try:
        return concat(template.root_render_func(context))
    except Exception:
        return environment.handle_exception()
