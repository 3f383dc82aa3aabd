"""elevation and elevation_revoke tickets without a directory: the approvals of 二.1.b
refused as one `file:line: message` each, and what a checked ticket builds from facts
given as data (the accounts and groups the directory would return)."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adsuite.errors import InputError
from adsuite.journal.store import Journal
from adsuite.resources.membership import tickets as member_tickets
from adsuite.tickets.base import Account, Found, Group
from adsuite.tickets.runner import Checked, check_offline

RULES = Path(__file__).resolve().parents[2] / "playbooks" / "approvals.yml"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BASE = "DC=group,DC=example,DC=com"
INVENTORY = f"""\
domains:
  group:
    realm: GROUP.EXAMPLE.COM
    base_dn: {BASE}
    netbios: GROUP
    credential: admin
    dcs: {{dc1: {{ldap_url: "ldaps://127.0.0.1:636"}}}}
companies:
  - {{code: HQ, name: 集团总部 Group headquarters, ip_range: 172.16.0.0/16}}
  - {{code: HANTONG, name: 韩通船舶 Hantong Shipbuilding, ip_range: 172.17.0.0/16}}
credentials:
  admin: {{username: Administrator@GROUP.EXAMPLE.COM}}
"""
ELEVATION = """
id: EL-2026-0001
type: elevation
requester: zhang.wei
approvals:
  - {name: hq.fin.head, role: department_head, time: "2026-11-27T09:30:00+08:00"}
  - {name: hq.gm, role: general_manager, time: "2026-11-27T11:00:00+08:00"}
parameters:
  company: HQ
  user: zhang.wei
  workstation: HQ-PC-0153
  reason: installs the CAD plug-ins of his project
"""
REVOKE = """
id: EL-2026-0002
type: elevation_revoke
requester: it.ops
approvals:
  - {name: it.head, role: it_head, time: "2026-11-27T10:00:00+08:00"}
parameters:
  company: HQ
  user: zhang.wei
"""
USER_DN = f"CN=zhang.wei,OU=Users,OU=HQ,{BASE}"
ELEVATED_DN = f"CN=HQ-Elevated,OU=Groups,OU=HQ,{BASE}"
RESTRICTED_DN = f"CN=HQ-Restricted,OU=Groups,OU=HQ,{BASE}"
LOCAL_DN = f"CN=HQ-LA-HQ-PC-0153,OU=Groups,OU=HQ,{BASE}"
PC_DN = f"CN=HQ-PC-0153,OU=Workstations,OU=HQ,{BASE}"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory, so file names in errors are short."""
    monkeypatch.chdir(tmp_path)
    Path("inventory.yml").write_text(INVENTORY, encoding="utf-8")
    return tmp_path


def check(text: str) -> Checked:
    path = Path("ticket.yml")
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return check_offline(
        path, Path("inventory.yml"), RULES, now=NOW, journal_path=Path("journal.sqlite")
    )


def refusal(text: str) -> str:
    with pytest.raises(InputError) as caught:
        check(text)
    return str(caught.value)


def edit(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


def test_both_approvals_by_two_other_people_pass(workdir: Path) -> None:
    checked = check(ELEVATION)
    assert checked.rule.clause == "二.1.b"
    assert [(s.needs, s.approval.name) for s in checked.satisfied] == [
        ("department_head", "hq.fin.head"),
        ("general_manager", "hq.gm"),
    ]
    assert set(checked.needs.names) == {
        "zhang.wei",
        "HQ-Elevated",
        "HQ-Restricted",
        "HQ-LA-HQ-PC-0153",  # the workstation's own administrators group
        "HQ-PC-0153$",
        "hq.fin.head",  # the approvers, read in the same search (approvers.with_people)
        "hq.gm",
    }


GM_LINE = '  - {name: hq.gm, role: general_manager, time: "2026-11-27T11:00:00+08:00"}\n'
RULE_WORDS = (
    "(二.1.b: local administrator rights: the user applies, their department head agrees "
    "and the company's general manager approves)"
)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            GM_LINE,
            "",
            "ticket.yml:4: ticket type elevation needs an approval by general_manager "
            f"{RULE_WORDS}; no other approver has that role",
            id="one approval only",
        ),
        pytest.param(
            "name: hq.gm,",
            "name: hq.fin.head,",
            "ticket.yml:6: hq.fin.head approves twice (first at line 5); one person's approval "
            "counts once",
            id="the same person twice",
        ),
        pytest.param(
            "name: hq.gm,",
            "name: zhang.wei,",
            "ticket.yml:6: zhang.wei requested this ticket and cannot approve it "
            "(segregation of duties)",
            id="the requester approving",
        ),
        pytest.param(
            "role: general_manager,",
            "role: top_manager,",
            "ticket.yml:6: approval by hq.gm as top_manager does not count for ticket type "
            "elevation, which needs department_head and general_manager (二.1.b)",
            id="a role the rule does not take",
        ),
        pytest.param(
            "role: general_manager,",
            "role: department_head,",
            "ticket.yml:4: ticket type elevation needs an approval by general_manager "
            f"{RULE_WORDS}; no other approver has that role",
            id="two department heads and no general manager",
        ),
        pytest.param(
            "  reason: installs the CAD plug-ins of his project\n",
            "",
            "ticket.yml:7: parameters needs 'reason'",
            id="no reason",
        ),
        pytest.param(
            "  workstation: HQ-PC-0153\n",
            "  workstation: HQ-PC-0153$\n",
            "ticket.yml:10: bad computer name 'HQ-PC-0153$': give it without the trailing '$'",
            id="a workstation named with its dollar",
        ),
        pytest.param(
            "  workstation: HQ-PC-0153\n",
            "",
            "ticket.yml:7: parameters needs 'workstation'",
            id="no workstation: rights hold on one computer (本机)",
        ),
    ],
)
def test_an_elevation_is_refused_at_its_cause(
    workdir: Path, old: str, new: str, expected: str
) -> None:
    assert refusal(edit(ELEVATION, old, new)) == expected


def test_a_revoke_takes_one_approval_but_never_the_requesters(workdir: Path) -> None:
    assert [s.needs for s in check(REVOKE).satisfied] == [
        "department_head or general_manager or it_head"
    ]
    assert refusal(edit(REVOKE, "name: it.head,", "name: it.ops,")) == (
        "ticket.yml:5: it.ops requested this ticket and cannot approve it (segregation of duties)"
    )
    assert refusal(edit(REVOKE, "role: it_head,", "role: hr,")) == (
        "ticket.yml:5: approval by it.head as hr does not count for ticket type "
        "elevation_revoke, which needs department_head or general_manager or it_head (二.1.b)"
    )


def found(
    *, member_of: tuple[str, ...] = ("HQ-Restricted",), missing: str = "", **accounts: Account
) -> Found:
    """The facts the directory would give: the user, both groups, the user's groups."""
    known = {
        "zhang.wei": Account("zhang.wei", USER_DN, "user", True),
        "hq-elevated": Account("HQ-Elevated", ELEVATED_DN, "group"),
        "hq-restricted": Account("HQ-Restricted", RESTRICTED_DN, "group"),
        "hq-la-hq-pc-0153": Account("HQ-LA-HQ-PC-0153", LOCAL_DN, "group"),
        "hq-pc-0153$": Account("HQ-PC-0153$", PC_DN, "computer", True),
        **{k.lower(): v for k, v in accounts.items()},
    }
    known.pop(missing.lower(), None)
    dns = {
        "HQ-Elevated": ELEVATED_DN,
        "HQ-Restricted": RESTRICTED_DN,
        "HQ-LA-HQ-PC-0153": LOCAL_DN,
        "HQ-LA-HQ-PC-0200": LOCAL_DN.replace("0153", "0200"),
    }
    groups = tuple(Group(g, dns[g]) for g in member_of)
    return Found(known, frozenset(), {"zhang.wei": groups})


def build_error(checked: Checked, facts: Found) -> str:
    with pytest.raises(InputError) as caught:
        checked.kind.build(checked.env, checked.params, facts)
    return str(caught.value)


def test_an_elevation_joins_its_workstations_group_leaves_the_restricted_one_and_records_both(
    workdir: Path,
) -> None:
    checked = check(ELEVATION)
    build = checked.kind.build(checked.env, checked.params, found())
    tasks = [(t.kind, t.spec.model_dump()) for t in build.tasks]
    assert tasks == [
        ("membership", {"group": "HQ-Elevated", "members": [USER_DN], "mode": "add"}),
        ("membership", {"group": "HQ-LA-HQ-PC-0153", "members": [USER_DN], "mode": "add"}),
        ("membership", {"group": "HQ-Restricted", "members": [USER_DN], "mode": "remove"}),
    ]
    assert build.record[member_tickets.RECORD_KEY] == [
        {"action": "grant", "group": "HQ-Elevated", "member": "zhang.wei"},
        {"action": "grant", "group": "HQ-LA-HQ-PC-0153", "member": "zhang.wei"},
    ]
    assert build.record["elevation"]["reason"] == "installs the CAD plug-ins of his project"


def test_an_elevation_is_refused_for_an_account_it_cannot_be_approved_for(workdir: Path) -> None:
    checked = check(ELEVATION)
    elsewhere = Account("zhang.wei", f"CN=zhang.wei,OU=Users,OU=HANTONG,{BASE}", "user", True)
    assert build_error(checked, found(**{"zhang.wei": elsewhere})) == (
        f"ticket.yml:9: user 'zhang.wei' is in company HANTONG's OU ({elsewhere.dn}), not "
        "HQ's; its own company's department head and general manager approve (二.1.b)"
    )
    disabled = Account("zhang.wei", USER_DN, "user", False)
    assert build_error(checked, found(**{"zhang.wei": disabled})) == (
        "ticket.yml:9: user 'zhang.wei' is disabled; a disabled account is not elevated"
    )
    assert build_error(checked, found(missing="HQ-Elevated")) == (
        "ticket.yml:8: elevated group 'HQ-Elevated' does not exist: "
        "playbooks/workstation_lockdown.yml declares each company's elevated group (二.1.b); "
        "apply it first"
    )
    assert build_error(checked, found(missing="HQ-LA-HQ-PC-0153")) == (
        "ticket.yml:10: workstation 'HQ-PC-0153' has no local administrators group "
        "'HQ-LA-HQ-PC-0153': declare it in elevated_workstations of "
        "playbooks/workstation_lockdown.yml (二.1.b) and apply it first"
    )


def journal_grant(
    path: Path, ticket: str, action: str, workstation: str = "HQ-LA-HQ-PC-0153"
) -> str:
    kind = "elevation" if action == "grant" else "elevation_revoke"
    extra = {
        "ticket": {"id": ticket, "type": kind, "parameters": {"user": "zhang.wei"}},
        "record": member_tickets.grants_record(action, ("HQ-Elevated", workstation), "zhang.wei"),
    }
    with Journal.open(path) as journal:
        run = journal.start_run(mode="apply", operator={"os_user": "t"}, ticket=ticket, extra=extra)
        journal.finish_run(run, status="ok", counts={})
    return run


def test_an_elevation_in_force_is_not_approved_twice_and_a_revoke_needs_one(
    workdir: Path,
) -> None:
    run = journal_grant(Path("journal.sqlite"), "EL-2026-0000", "grant")
    checked = check(ELEVATION)
    elevated = found(member_of=("HQ-Elevated", "HQ-LA-HQ-PC-0153"))
    assert build_error(checked, elevated) == (
        f"ticket.yml:9: user 'zhang.wei' is already in HQ-LA-HQ-PC-0153 by ticket "
        f"EL-2026-0000 (run {run}); nothing to approve"
    )
    revoke = check(REVOKE)
    # in one workstation's group by the ticket, in another's by hand: both are left
    by_hand = found(member_of=("HQ-Elevated", "HQ-LA-HQ-PC-0200"))
    build = revoke.kind.build(revoke.env, revoke.params, by_hand)
    assert [(t.spec.model_dump()["group"], t.spec.model_dump()["mode"]) for t in build.tasks] == [
        ("HQ-Elevated", "remove"),
        ("HQ-LA-HQ-PC-0153", "remove"),
        ("HQ-LA-HQ-PC-0200", "remove"),
        ("HQ-Restricted", "add"),
    ]
    assert build.record["elevation_revoke"]["ends"] == "EL-2026-0000"
    journal_grant(Path("journal.sqlite"), "EL-2026-0003", "revoke")
    assert build_error(revoke, found(member_of=("HQ-Restricted",))) == (
        "ticket.yml:8: user 'zhang.wei' is not elevated in HQ: not a member of HQ-Elevated, "
        "and no elevation ticket for it is in force"
    )


def test_a_named_workstation_must_be_a_computer_of_the_company_and_is_recorded(
    workdir: Path,
) -> None:
    checked = check(edit(ELEVATION, "workstation: HQ-PC-0153", "workstation: PC1"))
    assert {"PC1$", "HQ-LA-PC1"} <= set(checked.needs.names)
    ours = Account("PC1$", f"CN=PC1,OU=Workstations,OU=HQ,{BASE}", "computer", True)
    group = Account("HQ-LA-PC1", f"CN=HQ-LA-PC1,OU=Groups,OU=HQ,{BASE}", "group")
    build = checked.kind.build(
        checked.env, checked.params, found(**{"PC1$": ours, "HQ-LA-PC1": group})
    )
    assert build.record["elevation"]["workstation_dn"] == ours.dn
    theirs = Account("PC1$", f"CN=PC1,OU=Workstations,OU=HANTONG,{BASE}", "computer", True)
    assert build_error(checked, found(**{"PC1$": theirs})) == (
        f"ticket.yml:10: computer 'PC1' ({theirs.dn}) is not HQ's"
    )
    assert build_error(checked, found()) == "ticket.yml:10: no computer named 'PC1$' in the domain"
