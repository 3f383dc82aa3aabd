"""What a rollback refuses as a whole, or step by step, with its reason — never a crash;
and how a run's changes become rollback steps."""

from __future__ import annotations

from dataclasses import replace

from adsuite.engine import rollback
from adsuite.engine.loader import Playbook
from adsuite.engine.planner import Plan
from adsuite.journal.records import ChangeRecord

BASE = "DC=group,DC=example,DC=com"
GROUP = f"CN=HQ-Admins-Elevated,OU=Groups,OU=HQ,{BASE}"


def record(resource: str, before: object, after: object, number: int = 1) -> ChangeRecord:
    at = "2026-11-27T12:00:00+00:00"
    return ChangeRecord(
        "run1", number, resource, GROUP, "update", before, after, "applied", None, at, at, number
    )


class Planner:
    """Stands in for planning against the directory: records the playbooks it is given."""

    def __init__(self) -> None:
        self.tasks: list[int] = []

    def __call__(self, playbook: Playbook) -> Plan:
        self.tasks.append(sum(len(play.tasks) for play in playbook.plays))
        return Plan("group", BASE, (), 0, 0)


def test_a_permission_change_tickets_run_is_refused_naming_the_ticket_to_file() -> None:
    reason = rollback.ticket_refusal("permission_change")
    assert reason is not None and "五.5" in reason and "permission_change ticket" in reason
    assert rollback.ticket_refusal("elevation_revoke") is not None
    assert rollback.ticket_refusal("new_employee") is None
    assert rollback.ticket_refusal(None) is None


def test_a_refused_run_plans_nothing_and_names_every_change_it_leaves() -> None:
    planner = Planner()
    records = [record("membership", {"removed": ["CN=li.hua,CN=Users," + BASE]}, {})]
    refused = rollback.ticket_refusal("elevation_revoke")
    result = rollback.build("run1", records, "group", BASE, planner, refused)
    assert planner.tasks == [0]  # nothing undone, so nothing to check for moving on
    assert result.unsupported == (f"membership {GROUP}: {refused}",)


def test_the_same_run_without_a_refusal_is_undone() -> None:
    planner = Planner()
    records = [record("membership", {"removed": ["CN=li.hua,CN=Users," + BASE]}, {})]
    result = rollback.build("run1", records, "group", BASE, planner)
    assert result.unsupported == ()
    assert planner.tasks == [1]


def test_arguments_a_kind_refuses_are_reported_instead_of_crashing_the_rollback() -> None:
    planner = Planner()
    bad = record("membership", {"removed": [""]}, {"added": [42]})  # not names a task takes
    result = rollback.build("run1", [bad], "group", BASE, planner)
    assert len(result.unsupported) == 1 and result.unsupported[0].startswith(f"membership {GROUP}")
    assert planner.tasks == [0]


def test_each_change_of_a_kind_that_journals_deltas_is_its_own_step() -> None:
    ou = f"OU=HQ,{BASE}"
    first = record("delegation", {"aces": ["a"]}, {"aces": ["b"]}, 1)
    second = record("delegation", {"aces": ["c"]}, {"aces": ["d"]}, 2)
    steps = rollback.steps_of([replace(first, target=ou), replace(second, target=ou)])
    assert [(s.before, s.after) for s in steps] == [
        ({"aces": ["a"]}, {"aces": ["b"]}),
        ({"aces": ["c"]}, {"aces": ["d"]}),
    ]


def test_changes_of_a_kind_that_journals_whole_images_merge_into_one_step() -> None:
    first = record("group", {"description": "a"}, {"description": "b"}, 1)
    second = record("group", {"description": "b", "scope": "global"}, {"scope": "universal"}, 2)
    (step,) = rollback.steps_of([first, second])
    assert step.before == {"description": "a", "scope": "global"}
    assert step.after == {"description": "b", "scope": "universal"}
