"""The compliance map (playbooks/compliance.yml): the shipped map covers every clause of
the regulations, and a wrong map is one `file:line` error."""

from __future__ import annotations

from pathlib import Path

import pytest

from adsuite.compliance.clause_map import load_map, umbrella_imports
from adsuite.compliance.report import check_ticket_types
from adsuite.compliance.ticket_rules import ticket_rules
from adsuite.errors import InputError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "playbooks" / "compliance.yml"

# REQUIREMENTS.md: every clause it lists as enforceable, and its out-of-scope list.
ENFORCEABLE = {
    "三.2.b", "三.4", "二.2.c", "五.9", "五.11", "二.1.a", "二.1.b", "一.3", "一.1",
    "五.6", "五.5", "五.7", "五.8", "四.1", "四.5", "数据.3",
}  # fmt: skip
OUT_OF_SCOPE = {"三.2.c", "三.2.d", "一.3.c", "四.2", "四.4", "二.2.d", "二.2.f", "机房", "岗位"}

CLAUSE = "clauses:\n  - id: 五.9\n    title: t\n    requirement: r\n    enforced_by: e\n"
CASES = {
    "unknown key, with the close one": (
        CLAUSE + "    playbook: [a.yml]\n",
        "6: unknown key 'playbook' in clauses[0] (did you mean 'playbooks'?)",
    ),
    "evidence from runs names modes": (
        CLAUSE + "    evidence:\n      - source: runs\n        what: w\n",
        "7: evidence from runs needs 'modes' (e.g. [drift])",
    ),
    "modes only for runs": (
        CLAUSE + "    evidence:\n      - source: access\n        what: w\n        modes: [drift]\n",
        "9: 'modes' is for runs, not access",
    ),
    "an unknown source": (
        CLAUSE + "    evidence:\n      - source: rumours\n        what: w\n",
        "7: 'clauses[0].evidence[0].source' must be 'runs', 'access', 'before_images', "
        "'chain', 'privileged_use', 'audit_trail', 'restore_drill', 'backups' or 'health', "
        "not 'rumours'",
    ),
    "within_hours only for runs": (
        CLAUSE + "    evidence:\n      - source: chain\n        what: w\n        within_hours: 3\n",
        "9: 'within_hours' is for runs, health, restore_drill and backups, not chain",
    ),
    "health evidence says how recent": (
        CLAUSE + "    evidence:\n      - source: health\n        what: w\n",
        "7: evidence from health needs 'within_hours' (e.g. 24)",
    ),
    "a restore drill needs its target time": (
        CLAUSE + "    evidence:\n      - source: restore_drill\n        what: w\n"
        "        within_hours: 720\n",
        "7: 'target_hours' is for restore_drill, which needs it",
    ),
    "target_hours only for restore drills": (
        CLAUSE
        + "    evidence:\n      - source: backups\n        what: w\n        target_hours: 4\n",
        "9: 'target_hours' is for restore_drill, which needs it",
    ),
    "a clause nothing proves": (
        CLAUSE,
        "2: clause 五.9 names no playbooks, tickets or evidence and the map lists no checks; "
        "list it under out_of_scope if adsuite does not enforce it",
    ),
    "a playbook named twice": (
        CLAUSE + "    playbooks: [a.yml, b.yml, a.yml]\n",
        "6: a.yml is listed twice",
    ),
    "a clause both in scope and out": (
        CLAUSE + "    tickets: [x]\nout_of_scope:\n  - {id: 五.9, title: t, reason: r}\n",
        "8: clause 五.9 is listed twice",
    ),
    "not a mapping": ("- a\n", "1: the compliance map must be a mapping with 'clauses'"),
    "no clauses": ("approvals: a.yml\n", "1: compliance map needs 'clauses'"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_wrong_compliance_map_is_one_line_pointing_at_the_mistake(
    case: str, tmp_path: Path
) -> None:
    text, expected = CASES[case]
    path = tmp_path / "compliance.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as raised:
        load_map(path)
    assert str(raised.value) == f"{path}:{expected}"


def test_the_shipped_map_names_every_clause_of_the_regulations() -> None:
    loaded = load_map(SHIPPED)
    assert {c.id for c in loaded.map.clauses} == ENFORCEABLE
    assert {c.id for c in loaded.map.out_of_scope} == OUT_OF_SCOPE
    for clause in loaded.map.clauses:
        assert clause.text_zh, f"{clause.id} quotes the regulations' own words"


def test_the_shipped_map_names_playbooks_still_being_written() -> None:
    names = set(load_map(SHIPPED).playbook_names())
    assert {"workstation_lockdown.yml", "audit_policy.yml", "superadmin.yml"} <= names
    assert {"group_domain.yml", "sites.yml", "password_policy.yml"} <= names


def test_every_ticket_type_of_the_shipped_map_has_a_rule_in_the_approvals_file() -> None:
    loaded = load_map(SHIPPED)
    rules = ticket_rules(loaded.resolve(loaded.map.approvals))
    assert rules.error is None
    check_ticket_types(loaded, rules)
    named = {t for c in loaded.map.clauses for t in c.tickets}
    assert named <= set(rules.rules)


def test_a_ticket_type_adsuite_does_not_know_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "compliance.yml"
    path.write_text(CLAUSE + "    tickets: [password_reset, pasword_reset]\n", encoding="utf-8")
    loaded = load_map(path)
    rules = ticket_rules(SHIPPED.parent / "approvals.yml")
    with pytest.raises(InputError, match=r"compliance.yml:6: unknown ticket type 'pasword_reset'"):
        check_ticket_types(loaded, rules)


def test_an_umbrella_counts_every_playbook_it_imports_however_deep(tmp_path: Path) -> None:
    (tmp_path / "site.yml").write_text(
        "- import_playbook: a.yml\n- import_playbook: more.yml\n", encoding="utf-8"
    )
    (tmp_path / "more.yml").write_text("- import_playbook: b.yml\n", encoding="utf-8")
    (tmp_path / "compliance.yml").write_text(
        "umbrellas: [site.yml, gone.yml]\n" + CLAUSE + "    tickets: [x]\n", encoding="utf-8"
    )
    found = umbrella_imports(load_map(tmp_path / "compliance.yml"))
    assert found == {"site.yml": {"a.yml", "more.yml", "b.yml"}, "gone.yml": frozenset()}
