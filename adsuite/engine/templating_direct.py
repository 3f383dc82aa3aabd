"""Templates simple enough to evaluate without jinja2's runtime, and how.

Most playbook values are text around a few ``{{ expression }}`` parts: ``"b0u{{ item }}"``,
``"{{ item.code }}"``, ``"Unit{{ item % 20 }}"``. jinja2 spends 8–17 µs making a context
and running the generated code for each; a 200,000-task playbook renders about a million
of them. A template whose body is one output of text and expressions made only of
variables, constants, attribute and item lookups and arithmetic is compiled here into a
plain function that does what jinja2's generated code does, through the same sandboxed
environment (its ``getattr``, ``getitem`` and ``call_binop``). Anything else — a filter,
a call, a test, ``{% %}`` — is not compiled, and a compiled template that meets anything
unusual (an undefined name, an error) raises :class:`Fallback`, so the caller renders it
through jinja2 and gets jinja2's own value or error.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Environment, nodes
from jinja2.exceptions import TemplateSyntaxError
from jinja2.runtime import Undefined

Values = Mapping[str, Any]
Evaluator = Callable[[Values], Any]
Direct = Callable[[Values], list[Any]]  # the output's parts, as jinja2 would yield them

_PLAIN_BINOPS: dict[type[nodes.BinExpr], Callable[[Any, Any], Any]] = {
    nodes.Sub: operator.sub,
    nodes.Div: operator.truediv,
    nodes.FloorDiv: operator.floordiv,
}
_INTERCEPTED = {nodes.Add: "+", nodes.Mul: "*", nodes.Mod: "%", nodes.Pow: "**"}


class Fallback(Exception):
    """This value needs jinja2 itself (an undefined name, an error to word)."""


class _Unsupported(Exception):
    """A node this module does not compile."""


def compile_direct(env: Environment, text: str) -> Direct | None:
    """A function giving ``text``'s output parts from the variables, or None when the
    template is not one this module evaluates exactly as jinja2 does."""
    try:
        tree = env.parse(text)
    except TemplateSyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    parts: list[Evaluator] = []
    for child in tree.body[0].nodes:
        if isinstance(child, nodes.TemplateData):
            parts.append(_constant(child.data))
            continue
        if not isinstance(child, nodes.Expr) or _folds_to_constant(env, child):
            return None  # jinja2 folds it into text at compile time
        try:
            parts.append(_compile(env, child))
        except _Unsupported:
            return None
    return lambda values: [part(values) for part in parts]


def _folds_to_constant(env: Environment, node: nodes.Expr) -> bool:
    try:
        node.as_const(nodes.EvalContext(env))
    except Exception:  # nodes.Impossible, or an error jinja2 would raise at run time
        return False
    return True


def _constant(value: Any) -> Evaluator:
    return lambda values: value


def _compile(env: Environment, node: nodes.Node) -> Evaluator:
    if isinstance(node, nodes.Name) and node.ctx == "load":
        return _name(node.name)
    if isinstance(node, nodes.Const):
        return _constant(node.value)
    if isinstance(node, nodes.Getattr) and node.ctx == "load":
        return _getattr(env, _compile(env, node.node), node.attr)
    if isinstance(node, nodes.Getitem) and node.ctx == "load":
        if isinstance(node.arg, nodes.Slice):
            raise _Unsupported
        return _getitem(env, _compile(env, node.node), _compile(env, node.arg))
    if isinstance(node, nodes.BinExpr):
        left, right = _compile(env, node.left), _compile(env, node.right)
        if type(node) in _INTERCEPTED:  # what the sandbox's generated code calls
            return _binop(env, _INTERCEPTED[type(node)], left, right)
        if type(node) in _PLAIN_BINOPS:
            return _plain(_PLAIN_BINOPS[type(node)], left, right)
    raise _Unsupported


def _defined(value: Any) -> Any:
    if isinstance(value, Undefined):
        raise Fallback
    return value


def _name(name: str) -> Evaluator:
    def evaluate(values: Values) -> Any:
        if name not in values:
            raise Fallback
        return _defined(values[name])

    return evaluate


def _getattr(env: Environment, obj: Evaluator, attr: str) -> Evaluator:
    return lambda values: _defined(env.getattr(obj(values), attr))


def _getitem(env: Environment, obj: Evaluator, arg: Evaluator) -> Evaluator:
    return lambda values: _defined(env.getitem(obj(values), arg(values)))


def _binop(env: Environment, op: str, left: Evaluator, right: Evaluator) -> Evaluator:
    call: Callable[..., Any] = env.call_binop  # type: ignore[attr-defined]
    return lambda values: call(None, op, left(values), right(values))


def _plain(op: Callable[[Any, Any], Any], left: Evaluator, right: Evaluator) -> Evaluator:
    return lambda values: op(left(values), right(values))
