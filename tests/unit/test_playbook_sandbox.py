"""Playbook templates are input, not code: sandboxed, bounded, and their errors short.

Each case is a hostile template that used to run Python, exhaust memory or print tens of
kilobytes; each must now be one ``file:line`` InputError, quickly, touching nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from one_company import load_in

from adsuite.engine import loader, templating
from adsuite.engine.loader import MAX_LOOP_ITEMS, load_playbook
from adsuite.errors import InputError
from adsuite.resources import registry
from adsuite.runtime.inventory import Inventory


@pytest.fixture
def inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Inventory:
    monkeypatch.chdir(tmp_path)
    return load_in(tmp_path)


def error_of(inventory: Inventory, text: str, name: str = "pb.yml") -> str:
    Path(name).write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_playbook(Path(name), inventory, registry.specs())
    message = str(caught.value)
    assert "\n" not in message and len(message) < 300, message
    return message


def ou_task(template: str) -> str:
    return f'tasks:\n  - ou:\n      path: "{template}"\n'


def test_a_template_cannot_reach_python(inventory: Inventory, tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    template = "HQ/{{ cycler.__init__.__globals__.os.popen('id > " + str(pwned) + "').read() }}"
    message = error_of(inventory, ou_task(template))
    assert message.startswith("pb.yml:3: template refused: access to attribute '__init__'")
    assert not pwned.exists()


def test_a_class_walk_is_refused_in_one_short_line(inventory: Inventory) -> None:
    message = error_of(inventory, ou_task("{{ ().__class__.__base__.__subclasses__() }}"))
    assert message.startswith("pb.yml:3: template refused: access to attribute '__class__'")


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{{ range(100000000) | list }}", "range() of over 10000 items"),
        ("{{ 'x' * 10 ** 9 }}", "a value of over 100000 characters"),
        ("{{ 9 ** 9 ** 9 }}", "a number of over 256 bits"),
        ("{{ '%099999999d' % 1 }}", "a %-format width over 1000"),
        ("{{ '{:>999999999}'.format(1) }}", "access to attribute 'format'"),
        ("{{ 'x'.center(999999999) }}", "access to attribute 'center'"),
        ("{{ ('x' * 90000) | replace('x', 'x' * 90000) }}", "a value of over 100000"),
        ("{{ range(9000) | product(range(9000)) | list }}", "over 100000 loop steps"),
        (
            "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
            "over 100000 loop steps",
        ),
        (
            "{% set ns = namespace(s='x') %}{% for i in range(60) %}"
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
            "a value of over 100000 characters",
        ),
    ],
)
def test_templates_that_would_exhaust_memory_or_time_are_refused(
    inventory: Inventory, template: str, words: str
) -> None:
    message = error_of(inventory, ou_task(template))
    assert message.startswith("pb.yml:3: template refused: "), message
    assert words in message


def test_a_multiplying_filter_is_not_offered(inventory: Inventory) -> None:
    message = error_of(inventory, ou_task("{{ 'x' | center(999999999) }}"))
    assert message == "pb.yml:3: template syntax error: No filter named 'center' in ou task"


def test_a_loop_over_the_bound_is_refused(inventory: Inventory) -> None:
    text = (
        'vars:\n  many: "{{ range(5000) | product(range(3)) | list }}"\ntasks:\n'
        '  - loop: "{{ many }}"\n    ou: {path: "X{{ item[0] }}"}\n'
    )
    message = error_of(inventory, text)
    assert message == f"pb.yml:4: loop gives over {MAX_LOOP_ITEMS} items in ou task"


def test_the_total_task_count_is_bounded(
    inventory: Inventory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the real bound (200,000) takes seconds to reach; the check is the same at 25,000
    monkeypatch.setattr(loader, "MAX_TASKS", 25_000)
    task = '  - loop: "{{ range(10000) | list }}"\n    ou: {path: "X{{ item }}"}\n'
    message = error_of(inventory, "tasks:\n" + task * 3)
    assert message == "pb.yml:6: the playbook expands to over 25000 tasks"


def test_an_error_quoting_a_large_value_is_cut_short(inventory: Inventory) -> None:
    text = 'vars:\n  big: "{{ range(9000) | list }}"\ntasks:\n  - ou: {path: "{{ big + 1 }}"}\n'
    message = error_of(inventory, text)
    assert message.startswith("pb.yml:4: template error: TypeError: ")
    assert len(message) < 200


def test_ordinary_templates_keep_native_types() -> None:
    assert templating.render("{{ range(3) | list }}", {}) == [0, 1, 2]
    assert templating.render("{{ x }}", {"x": "007"}) == "007"
    assert templating.render("{{ x }}-{{ y }}", {"x": "a", "y": 1}) == "a-1"
    pairs = templating.render("{{ x | product(['a']) | list }}", {"x": [1, 2]})
    assert pairs == [(1, "a"), (2, "a")]
    assert templating.render("{{ ['a', 'b'] | join('/') }}", {}) == "a/b"
    assert templating.render("{{ 'a-b' | replace('-', '/') }}", {}) == "a/b"
