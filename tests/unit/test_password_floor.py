"""The regulation floor (二.2.c) is enforced when a playbook is LOADED: a setting below
it is one `file:line` error naming the clause, unless an override gives a reason."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from one_company import INVENTORY

from adsuite.engine.loader import Playbook, load_playbook
from adsuite.errors import InputError
from adsuite.resources import registry, regulations
from adsuite.resources.password import password_policy, pso
from adsuite.runtime.inventory import Inventory, load_inventory

PSO_SETTINGS = """\
      name: Strict
      precedence: 1
      min_length: 12
      history: 24
      complexity: true
      reversible_encryption: false
      min_age: 1
      lockout_threshold: 5
      lockout_window: 30
      lockout_duration: 30
"""


@pytest.fixture
def inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Inventory:
    monkeypatch.chdir(tmp_path)
    Path("inv.yml").write_text(INVENTORY, encoding="utf-8")
    return load_inventory(Path("inv.yml"))


def load(text: str, inventory: Inventory) -> Playbook:
    Path("pb.yml").write_text(textwrap.dedent(text), encoding="utf-8")
    return load_playbook(Path("pb.yml"), inventory, registry.specs())


def policy(settings: str) -> str:
    body = textwrap.indent(textwrap.dedent(settings), "      ")
    return f"tasks:\n  - name: policy\n    password_policy:\n{body}"


@pytest.mark.parametrize(
    ("settings", "line", "message"),
    [
        (
            "min_length: 5\n",
            4,
            "minimum password length 5 is below the floor of 6 "
            "(regulation 二.2.c: passwords of 6 characters or more)",
        ),
        (
            "min_length: 8\nmax_age: 184\n",
            5,
            "maximum password age 184 days is above the floor of 183 days "
            "(regulation 二.2.c: passwords change at least every half year)",
        ),
        (
            "max_age: never\n",
            4,
            "maximum password age never is above the floor of 183 days (regulation 二.2.c",
        ),
        (
            "min_length: 8\nhistory: 0\n",
            5,
            "password history 0 is below the floor of 1 "
            "(regulation 二.2.c: a new password must differ from the previous one)",
        ),
    ],
    ids=["length 5", "max age 184 days", "max age never", "history 0"],
)
def test_a_policy_below_the_floor_is_refused_at_load_naming_line_and_clause(
    inventory: Inventory, settings: str, line: int, message: str
) -> None:
    with pytest.raises(InputError) as raised:
        load(policy(settings), inventory)
    shown = str(raised.value)
    assert shown.startswith(f"pb.yml:{line}: "), shown
    assert message in shown
    assert shown.endswith("to go below it, give floor_override: {reason: ...}")


def test_values_at_the_floor_itself_are_allowed(inventory: Inventory) -> None:
    book = load(policy("min_length: 6\nmax_age: 183\nhistory: 1\n"), inventory)
    spec = book.plays[0].tasks[0].spec
    assert isinstance(spec, password_policy.Spec)
    assert (spec.min_length, spec.max_age, spec.history) == (6, 183, 1)


def test_an_override_with_a_written_reason_allows_going_below_the_floor(
    inventory: Inventory,
) -> None:
    settings = 'floor_override: {reason: "kiosk accounts, approved by IT head, ticket 42"}\n'
    book = load(policy(settings + "min_length: 4\nmax_age: never\nhistory: 0\n"), inventory)
    spec = book.plays[0].tasks[0].spec
    assert isinstance(spec, password_policy.Spec)
    assert spec.floor_override is not None
    assert spec.floor_override.reason == "kiosk accounts, approved by IT head, ticket 42"


@pytest.mark.parametrize("override", ['{reason: "   "}', "{}", '"because"'])
def test_an_override_without_a_written_reason_is_refused(
    inventory: Inventory, override: str
) -> None:
    with pytest.raises(InputError) as raised:
        load(policy(f"floor_override: {override}\nmin_length: 4\n"), inventory)
    assert str(raised.value).startswith("pb.yml:4: ")


def test_a_pso_below_the_floor_is_refused_at_the_setting_line(inventory: Inventory) -> None:
    text = "tasks:\n  - pso:\n" + PSO_SETTINGS + "      max_age: 365\n"
    with pytest.raises(InputError) as raised:
        load(text, inventory)
    assert str(raised.value).startswith("pb.yml:13: maximum password age 365 days")
    assert "regulation 二.2.c" in str(raised.value)


def test_a_pso_must_declare_every_setting(inventory: Inventory) -> None:
    with pytest.raises(InputError, match="a pso declares every setting; missing: max_age"):
        load("tasks:\n  - pso:\n" + PSO_SETTINGS, inventory)
    book = load("tasks:\n  - pso:\n" + PSO_SETTINGS + "      max_age: 90\n", inventory)
    assert isinstance(book.plays[0].tasks[0].spec, pso.Spec)


def test_maximum_age_must_be_longer_than_minimum_age(inventory: Inventory) -> None:
    with pytest.raises(InputError) as raised:
        load(policy("min_age: 30\nmax_age: 30\n"), inventory)
    assert str(raised.value) == "pb.yml:5: max_age (30 days) must be longer than min_age (30 days)"


def test_lockout_window_must_not_outlast_the_lockout(inventory: Inventory) -> None:
    with pytest.raises(InputError, match=r"pb.yml:5: lockout_duration \(10 minutes\)"):
        load(policy("lockout_window: 30\nlockout_duration: 10\n"), inventory)
    load(policy("lockout_window: 30\nlockout_duration: never\n"), inventory)


def test_the_floor_values_live_in_one_place_for_tickets_and_reports() -> None:
    floor = regulations.PASSWORD_FLOOR
    assert (floor.min_length, floor.max_age_days, floor.history, floor.clause) == (
        6,
        183,
        1,
        "二.2.c",
    )
    assert regulations.min_length_violation(6) is None
    assert regulations.max_age_violation(183) is None
    assert regulations.history_violation(1) is None
    assert regulations.max_age_violation("never") is not None


def test_the_floor_checks_every_setting_at_once_for_tickets() -> None:
    found = regulations.password_violations(min_length=4, max_age="never", history=0)
    assert [m.split(" is ")[0] for m in found] == [
        "minimum password length 4",
        "maximum password age never",
        "password history 0",
    ]
    assert regulations.password_violations(min_length=6, max_age=183, history=1) == []


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("max_age: 0", "max_age must be a whole number of days (1 or more) or never, not 0"),
        ("lockout_duration: 0", "lockout_duration must be a whole number of minutes (1 or more)"),
    ],
)
def test_zero_max_age_or_lockout_duration_is_refused_because_ad_reads_it_as_never(
    inventory: Inventory, setting: str, message: str
) -> None:
    with pytest.raises(InputError) as raised:
        load(policy(setting + "\n"), inventory)
    assert str(raised.value).startswith(f"pb.yml:4: {message}")


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("min_age: never", "min_age must be a whole number of days (0 or more), not 'never'"),
        ("max_age: 5 days", "max_age must be a whole number of days (1 or more) or never"),
        ("max_age: 99999999", "max_age: 99999999 days is too long for an AD interval"),
        ("lockout_window: -1", "lockout_window must be a whole number of minutes (0 or more)"),
    ],
)
def test_a_bad_interval_is_one_line_naming_the_setting(
    inventory: Inventory, setting: str, message: str
) -> None:
    with pytest.raises(InputError) as raised:
        load(policy(setting + "\n"), inventory)
    assert str(raised.value).startswith(f"pb.yml:4: {message}")


def test_a_lockout_window_of_never_needs_a_lockout_that_never_ends(inventory: Inventory) -> None:
    with pytest.raises(InputError) as raised:
        load(policy("lockout_window: never\nlockout_duration: 30\n"), inventory)
    assert str(raised.value) == (
        "pb.yml:5: lockout_duration (30 minutes) must not be shorter than lockout_window (never)"
    )
    load(policy("lockout_window: never\nlockout_duration: never\n"), inventory)


def test_the_groups_password_playbook_is_above_the_floor(inventory: Inventory) -> None:
    path = Path(__file__).parents[2] / "playbooks" / "password_policy.yml"
    book = load_playbook(path, inventory, registry.specs())
    specs = [task.spec for task in book.plays[0].tasks]
    assert all(getattr(s, "floor_override", None) is None for s in specs)
    strict = next(s for s in specs if isinstance(s, pso.Spec))
    assert strict.applies_to == ["HQ-IT-Admins"]
