"""Simple templates evaluated without jinja2's runtime give exactly jinja2's value (and type)."""

from __future__ import annotations

from typing import Any

import pytest

from adsuite.engine import templating, templating_direct

CONTEXT: dict[str, Any] = {
    "item": 7,
    "name": "HQ",
    "code": "007",
    "company": {"code": "007", "name": "Head office", "units": ["Sales", "IT"], "n": 3},
    "pair": ["HQ", "Users"],
    "items": ["a", "b"],
    "flag": True,
    "nothing": None,
}

DIRECT = [
    "{{ item }}",
    "{{ code }}",
    "{{ company }}",
    "{{ items }}",
    "{{ flag }}",
    "{{ nothing }}",
    "b0u{{ item }}",
    "{{ item }}-{{ name }}",
    "Unit{{ item % 20 }}",
    "{{ item + 1 }}",
    "{{ item - 10 }}",
    "{{ item / 2 }}",
    "{{ item // 2 }}",
    "{{ item * 3 }}",
    "{{ item ** 2 }}",
    "{{ name + '/Users' }}",
    "{{ company.code }}",
    "{{ company['name'] }}",
    "{{ company.units[1] }}",
    "{{ pair[0] }}/{{ pair[1] }}",
    "{{ company.n * item % 5 }}",
    "ou={{ name }} {{ nothing }}",
    "{{ 2 * 3 }}x",  # the sandbox intercepts *: jinja2 does not fold it either
]

VIA_JINJA = [
    "{{ 5 }}",  # jinja2 folds constants into text at compile time
    "{{ none }}",
    "{{ item | string }}",
    "{{ range(3) | list }}",
    "{{ name ~ 'x' }}",
    "{% if flag %}yes{% endif %}",
    "{{ name.upper() }}",
    "{{ items[0:1] }}",
    "{{ -item }}",
]

ERRORS = [  # an error, or an undefined value, exactly as jinja2 gives it
    "{{ missing }}",
    "{{ company.missing }}",
    "{{ items[5] }}",
    "{{ item / 0 }}",
    "{{ name * 100001 }}",
    "{{ name.__class__ }}",
    "{{ name + 1 }}",
]


def _jinja(text: str, context: dict[str, Any]) -> Any:
    """What jinja2's own runtime renders (the path before the direct one existed)."""
    variables = templating.Variables(context)
    return templating._finished(templating._render(templating.compile_template(text), variables))


@pytest.mark.parametrize("text", DIRECT)
def test_direct_templates_give_jinja2s_value(text: str) -> None:
    assert templating_direct.compile_direct(templating.ENV, text) is not None
    got, want = templating.render(text, CONTEXT), _jinja(text, CONTEXT)
    assert (got, type(got)) == (want, type(want))


@pytest.mark.parametrize("text", VIA_JINJA)
def test_other_templates_are_left_to_jinja2(text: str) -> None:
    assert templating_direct.compile_direct(templating.ENV, text) is None
    got, want = templating.render(text, CONTEXT), _jinja(text, CONTEXT)
    assert (got, type(got)) == (want, type(want))


def _outcome(render: Any, text: str) -> tuple[str, str]:
    try:
        result = render(text, CONTEXT)
    except Exception as exc:
        return type(exc).__name__, str(exc)
    return "value", f"{type(result).__name__}"  # an Undefined the loader then refuses


@pytest.mark.parametrize("text", ERRORS)
def test_errors_are_jinja2s_own(text: str) -> None:
    assert _outcome(templating.render, text) == _outcome(_jinja, text)


def test_a_name_the_variables_lack_falls_back() -> None:
    direct = templating_direct.compile_direct(templating.ENV, "{{ other }}")
    assert direct is not None
    with pytest.raises(templating_direct.Fallback):
        direct(CONTEXT)
