"""Ticket validation without a directory: every refusal is one `file:line: message`.

The rules are the shipped playbooks/approvals.yml unless a test writes its own; the
clock is fixed, so "in the future" is exact.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adsuite.errors import InputError
from adsuite.journal.store import Journal
from adsuite.tickets import registry
from adsuite.tickets.model import read_ticket
from adsuite.tickets.rules import Binding, check_ticket, load_rules
from adsuite.tickets.runner import Checked, check_offline

SHIPPED_RULES = Path(__file__).resolve().parents[2] / "playbooks" / "approvals.yml"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
INVENTORY = """\
domains:
  group:
    realm: GROUP.EXAMPLE.COM
    base_dn: DC=group,DC=example,DC=com
    netbios: GROUP
    credential: admin
    dcs: {dc1: {ldap_url: "ldaps://127.0.0.1:636"}}
companies:
  - {code: HQ, name: 集团总部 Group headquarters, ip_range: 172.16.0.0/16}
  - {code: HANTONG, name: 韩通船舶 Hantong Shipbuilding, ip_range: 172.17.0.0/16}
credentials:
  admin: {username: Administrator@GROUP.EXAMPLE.COM}
"""

NEW_EMPLOYEE = """
id: IT-2026-0042
type: new_employee
requester: hq.hr.head
approvals:
  - {name: hq.hr, role: hr, time: "2026-11-27T09:30:00+08:00"}
parameters:
  company: HQ
  name: zhang.wei
  display_name: 张伟
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory, so file names in errors are short."""
    monkeypatch.chdir(tmp_path)
    # the CLI's subprocesses must never read or create the host's default journal
    monkeypatch.setenv("ADSUITE_JOURNAL", str(tmp_path / "journal.sqlite"))
    Path("inventory.yml").write_text(INVENTORY, encoding="utf-8")
    return tmp_path


def write(text: str, name: str = "ticket.yml") -> Path:
    path = Path(name)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def check(text: str, name: str = "ticket.yml", rules: Path = SHIPPED_RULES) -> Checked:
    return check_offline(
        write(text, name),
        Path("inventory.yml"),
        rules,
        now=NOW,
        journal_path=Path("journal.sqlite"),
    )


def refusal(text: str, name: str = "ticket.yml", rules: Path = SHIPPED_RULES) -> str:
    with pytest.raises(InputError) as caught:
        check(text, name, rules)
    return str(caught.value)


def edit(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


def test_a_valid_ticket_names_the_approval_that_met_each_requirement(workdir: Path) -> None:
    checked = check(NEW_EMPLOYEE)
    assert checked.kind.name == "new_employee"
    assert checked.rule.clause == "五.11"
    assert [s.record() for s in checked.satisfied] == [
        {
            "needs": "hr or department_head",
            "name": "hq.hr",
            "role": "hr",
            "time": "2026-11-27T09:30:00+08:00",
        }
    ]
    assert checked.needs.ous == ("OU=Users,OU=HQ,DC=group,DC=example,DC=com",)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            '  - {name: hq.hr, role: hr, time: "2026-11-27T09:30:00+08:00"}\n',
            "  []\n",
            "ticket.yml:4: ticket type new_employee needs an approval by hr or department_head "
            "(五.11: a new account is asked for by HR or the employee's department head; it "
            "starts in the restricted class with an initial password changed at first logon); "
            "none given",
        ),
        (
            "role: hr,",
            "role: it_head,",
            "ticket.yml:5: approval by hq.hr as it_head does not count for ticket type "
            "new_employee, which needs hr or department_head (五.11)",
        ),
        (
            "role: hr,",
            "role: h_r,",
            "ticket.yml:5: unknown role 'h_r' (did you mean 'hr'?)",
        ),
        (
            "name: hq.hr,",
            "name: HQ.HR.Head,",
            "ticket.yml:5: HQ.HR.Head requested this ticket and cannot approve it (segregation of duties)",
        ),
        (
            "2026-11-27T09:30:00+08:00",
            "2026-11-27T20:30:00+08:00",
            "ticket.yml:5: approval by hq.hr is dated 2026-11-27T20:30:00+08:00, in the future "
            "(now 2026-11-27T20:00:00+08:00)",
        ),
        (
            "2026-11-27T09:30:00+08:00",
            "2026-11-27 09:30",
            "ticket.yml:5: time '2026-11-27 09:30' needs a UTC offset, like "
            "2026-11-27T09:30:00+08:00 or …Z",
        ),
        (
            "type: new_employee",
            "type: new_employe",
            "ticket.yml:2: unknown ticket type 'new_employe' (did you mean 'new_employee'?)",
        ),
        (
            "type: new_employee",
            "type: admin_checkout",
            "ticket.yml:2: ticket type 'admin_checkout' has an approval rule "
            f"({SHIPPED_RULES}) but adsuite does not carry it out yet",
        ),
        (
            "company: HQ",
            "company: HQX",
            "ticket.yml:7: unknown company 'HQX' (did you mean 'HQ'?)",
        ),
        (
            "name: zhang.wei",
            "name: zhang/wei",
            "ticket.yml:8: bad account name 'zhang/wei': '/' is not allowed",
        ),
        (
            "  display_name: 张伟\n",
            "  display_name: 张伟\n  displayname: x\n",
            "ticket.yml:10: unknown key 'displayname' in parameters (did you mean 'display_name'?)",
        ),
        (
            "id: IT-2026-0042",
            "id: IT 2026 0042",
            "ticket.yml:1: ticket id 'IT 2026 0042' must be 1 to 64 letters, digits and "
            ". _ : / # - (like IT-2026-0042)",
        ),
        (
            "requester: hq.hr.head\n",
            "",
            "ticket.yml:1: ticket needs 'requester'",
        ),
    ],
    ids=[
        "missing approval",
        "wrong role",
        "unknown role",
        "self-approval",
        "approval in the future",
        "time without offset",
        "unknown type",
        "type with a rule but no code",
        "unknown company",
        "bad parameter",
        "unknown parameter",
        "bad id",
        "no requester",
    ],
)
def test_each_refusal_is_one_line_at_its_cause(
    workdir: Path, old: str, new: str, expected: str
) -> None:
    assert refusal(edit(NEW_EMPLOYEE, old, new)) == expected


def test_one_persons_approval_counts_once(workdir: Path) -> None:
    twice = edit(
        NEW_EMPLOYEE,
        "parameters:",
        '  - {name: hq.hr, role: department_head, time: "2026-11-27T10:00:00+08:00"}\nparameters:',
    )
    assert refusal(twice) == (
        "ticket.yml:6: hq.hr approves twice (first at line 5); one person's approval counts once"
    )


TRANSFER = """
id: IT-2026-0043
type: transfer
requester: hq.hr.head
approvals:
  - {name: hq.hr, role: hr, time: "2026-11-27T09:30:00Z"}
confirmations:
  asset_return: {confirmed_by: li.assets, reference: FA-2026-0301}
parameters: {user: zhang.wei, to_company: HANTONG}
"""


def test_a_transfer_is_refused_without_the_asset_return_confirmation(workdir: Path) -> None:
    check(TRANSFER)
    without = edit(
        TRANSFER,
        "confirmations:\n  asset_return: {confirmed_by: li.assets, reference: FA-2026-0301}\n",
        "",
    )
    assert refusal(without) == (
        "ticket.yml:1: ticket type transfer needs confirmation 'asset_return': who confirmed "
        "that the old company's fixed assets were returned, and the record of it (一.1)"
    )
    half = edit(TRANSFER, "{confirmed_by: li.assets, reference: FA-2026-0301}", "{reference: X}")
    assert refusal(half) == (
        "ticket.yml:7: confirmation 'asset_return' needs 'confirmed_by': who confirmed that "
        "the old company's fixed assets were returned, and the record of it (一.1)"
    )
    typo = edit(TRANSFER, "asset_return:", "asset_retrun:")
    assert refusal(typo) == (
        "ticket.yml:7: unknown confirmation 'asset_retrun' for ticket type transfer "
        "(did you mean 'asset_return'?)"
    )


PASSWORD_RESET = """
{
\t"id": "IT-2026-0044",
\t"type": "password_reset",
\t"requester": "zhang.wei",
\t"confirmations": {
\t\t"written_request": "OA-2026-1127-003",
\t\t"identity_verification": {
\t\t\t"method": "in person with a staff card",
\t\t\t"verified_by": "hq.it.head"
\t\t}
\t},
\t"parameters": {"user": "zhang.wei"}
}
"""


def test_a_json_ticket_is_read_with_its_lines(workdir: Path) -> None:
    checked = check(PASSWORD_RESET, "reset.json")
    assert checked.satisfied == ()
    assert checked.file.ticket.confirmations["written_request"] == "OA-2026-1127-003"
    no_verifier = edit(PASSWORD_RESET, ',\n\t\t\t"verified_by": "hq.it.head"', "")
    assert refusal(no_verifier, "reset.json") == (
        "reset.json:7: confirmation 'identity_verification' needs 'verified_by': how, and by "
        "whom, the requester's identity was verified (五.9)"
    )
    no_request = edit(PASSWORD_RESET, '\t\t"written_request": "OA-2026-1127-003",\n', "")
    assert refusal(no_request, "reset.json") == (
        "reset.json:5: ticket type password_reset needs confirmation 'written_request': the "
        "reference of the written request (form number or mail) (五.9)"
    )
    by_phone = edit(PASSWORD_RESET, "in person with a staff card", "Phone call")
    assert refusal(by_phone, "reset.json") == (
        "reset.json:8: confirmation 'identity_verification': method 'Phone call' is not "
        "accepted (五.9: a password is reset only on a written request and a verified "
        "identity; a phone call is never enough; the user changes it at next logon (五.11)); "
        "accepted: in person with an ID card; in person with a staff card; video call "
        "showing the ID card; written confirmation by the manager"
    )
    unlisted = edit(PASSWORD_RESET, "in person with a staff card", "asked the colleague")
    assert "method 'asked the colleague' is not accepted (五.9" in refusal(unlisted, "reset.json")
    spaced = edit(PASSWORD_RESET, "in person with a staff card", "In person  with a Staff card")
    assert check(spaced, "reset.json").file.ticket.id == "IT-2026-0044"
    broken = edit(PASSWORD_RESET, '"user": "zhang.wei"}', '"user": "zhang.wei",}')
    assert refusal(broken, "reset.json") == (
        "reset.json:12: not valid JSON: Expecting property name enclosed in double quotes"
    )
    duplicate = edit(PASSWORD_RESET, '{"user": "zhang.wei"}', '{"user": "a", "user": "b"}')
    assert refusal(duplicate, "reset.json").startswith("reset.json:12: duplicate key 'user'")


PERSONAL_DEVICE = """
id: IT-2026-0045
type: personal_device
requester: zhang.wei
approvals:
  - {name: hq.gm, role: top_manager, time: "2026-11-26T16:00:00+08:00"}
confirmations:
  it_security_check: {checked_by: hq.it.head, reference: SEC-2026-017}
parameters: {company: HQ, name: PD-HQ-0042, asset: HQ-PD-0042, owner: zhang.wei}
"""


def test_a_personal_device_needs_the_top_manager_and_the_security_check(workdir: Path) -> None:
    check(PERSONAL_DEVICE)
    assert refusal(edit(PERSONAL_DEVICE, "top_manager", "general_manager")) == (
        "ticket.yml:5: approval by hq.gm as general_manager does not count for ticket type "
        "personal_device, which needs top_manager (一.3)"
    )
    unchecked = edit(
        PERSONAL_DEVICE,
        "confirmations:\n  it_security_check: {checked_by: hq.it.head, reference: SEC-2026-017}\n",
        "",
    )
    assert refusal(unchecked).startswith(
        "ticket.yml:1: ticket type personal_device needs confirmation 'it_security_check'"
    )
    assert refusal(edit(PERSONAL_DEVICE, "PD-HQ-0042,", "PD-HQ-0042-LAPTOP,")) == (
        "ticket.yml:8: bad computer name 'PD-HQ-0042-LAPTOP': over 15 characters"
    )


RULES_TWO_APPROVERS = """\
roles:
  hr: {what: human resources, held_by: [{group: "{company}-HR"}]}
  department_head: {what: the department head, held_by: [{manager_of: subject}]}
  general_manager: {what: the general manager, held_by: [{group: "{company}-GM"}]}
types:
  new_employee:
    clause: 二.1.b
    rule: two people
    approvals: [department_head, {any_of: [general_manager, hr]}]
"""


def test_changing_the_rules_file_changes_what_a_ticket_needs(workdir: Path) -> None:
    rules = Path("rules.yml")
    rules.write_text(RULES_TWO_APPROVERS, encoding="utf-8")
    assert refusal(NEW_EMPLOYEE, rules=rules) == (
        "ticket.yml:4: ticket type new_employee needs an approval by department_head "
        "(二.1.b: two people); no other approver has that role"
    )
    both = edit(
        NEW_EMPLOYEE,
        "parameters:",
        '  - {name: hq.fin.head, role: department_head, time: "2026-11-27T10:00:00+08:00"}\n'
        "parameters:",
    )
    checked = check(both, rules=rules)
    assert [(s.needs, s.approval.name) for s in checked.satisfied] == [
        ("department_head", "hq.fin.head"),
        ("general_manager or hr", "hq.hr"),
    ]


def test_a_role_bound_by_the_ticket_type_takes_only_the_named_person(workdir: Path) -> None:
    rules = load_rules(SHIPPED_RULES, registry.known())
    ticket = read_ticket(write(NEW_EMPLOYEE))
    bound = {"hr": Binding(frozenset({"wang.hr"}), "the HR officer of HQ (wang.hr)")}
    with pytest.raises(InputError) as caught:
        check_ticket(ticket, rules, now=NOW, bindings=bound)
    assert str(caught.value) == (
        "ticket.yml:5: approval by hq.hr as hr: for this ticket that must be the HR officer "
        "of HQ (wang.hr)"
    )
    allowed = {"hr": Binding(frozenset({"hq.hr"}), "hq.hr")}
    assert check_ticket(ticket, rules, now=NOW, bindings=allowed)[0].approval.name == "hq.hr"


def test_a_ticket_is_carried_out_once(workdir: Path) -> None:
    with Journal.open(Path("journal.sqlite")) as journal:
        run = journal.start_run(mode="apply", operator={"os_user": "it"}, ticket="IT-2026-0042")
        journal.finish_run(run, status="ok", counts={})
    message = refusal(NEW_EMPLOYEE)
    assert message.startswith(
        f"ticket.yml:1: ticket IT-2026-0042 was already carried out (journal run {run}, "
    )
    assert message.endswith("a ticket runs once, so file a new one")


def test_a_failed_run_of_a_ticket_may_be_retried(workdir: Path) -> None:
    with Journal.open(Path("journal.sqlite")) as journal:
        run = journal.start_run(mode="apply", operator={"os_user": "it"}, ticket="IT-2026-0042")
        journal.finish_run(run, status="failed", counts={})
    assert check(NEW_EMPLOYEE).file.ticket.id == "IT-2026-0042"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adsuite", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_ticket_check_offline_exits_0_for_a_valid_ticket_and_1_with_the_line(
    workdir: Path,
) -> None:
    past = NEW_EMPLOYEE.replace("2026-11-27T09:30:00+08:00", "2020-01-02T09:30:00+08:00")
    write(past)
    args = ("ticket", "check", "ticket.yml", "-i", "inventory.yml", "--rules", str(SHIPPED_RULES))
    good = run_cli(*args, "--offline")
    assert good.returncode == 0, good.stderr
    assert "Ticket IT-2026-0042, new_employee (五.11)" in good.stdout
    assert "approved by hq.hr as hr at 2020-01-02T09:30:00+08:00" in good.stdout
    write(edit(past, "role: hr,", "role: it_head,"))
    bad = run_cli(*args, "--offline")
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert bad.stderr == (
        "adsuite: ticket.yml:5: approval by hq.hr as it_head does not count for ticket type "
        "new_employee, which needs hr or department_head (五.11)\n"
    )
