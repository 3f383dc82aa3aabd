"""permission_change tickets without a directory: the folder must be one the file-server
playbook manages, only the head of its data owner approves, the rule is in words, and
what a ticket granted stays granted until revoked, rolled back or expired (journal).

Every refusal is one `file:line: message`; the clock is fixed.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from adsuite.engine.loader import load_playbook
from adsuite.errors import InputError
from adsuite.journal.store import Journal
from adsuite.resources import registry
from adsuite.resources.base import Action, Change
from adsuite.resources.file_acl import file_acl
from adsuite.resources.file_acl.grants import fold, folder_key
from adsuite.resources.file_acl.grants_io import grants_by_folder
from adsuite.runtime.inventory import load_inventory
from adsuite.tickets.runner import Checked, check_offline

RULES = Path(__file__).resolve().parents[2] / "playbooks" / "approvals.yml"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
INVENTORY = """\
domains:
  group:
    realm: GROUP.EXAMPLE.COM
    base_dn: DC=group,DC=example,DC=com
    netbios: GROUP
    credential: admin
    dcs: {dc1: {ldap_url: "ldaps://127.0.0.1:636"}}
credentials:
  admin: {username: Administrator@GROUP.EXAMPLE.COM}
"""
PLAYBOOK = """\
name: File server
tasks:
  - file_acl:
      host: fs1
      share: data
      path: HQ/Finance
      data_owner: {department: HQ Finance, head: li.hua}
      access:
        - {who: Administrators, rights: full}
        - {who: HQ-Finance-RW, rights: modify}
  - file_acl:
      host: fs1
      share: data
      path: HQ/HR
      data_owner: {department: HQ HR, head: wang.fang}
      access:
        - {who: Administrators, rights: full}
  - file_acl:
      host: fs1
      share: data
      path: HQ/Archive
      data_owner: {department: HQ IT, head: hq.it.head}
"""
GRANT = """
id: PC-2026-0001
type: permission_change
requester: zhang.wei
approvals:
  - {name: li.hua, role: data_owner_head, time: "2026-11-27T09:30:00+08:00"}
parameters:
  host: fs1
  share: data
  path: HQ/Finance
  grant: {who: HQ-Audit, rights: read_execute}
  expires: 2027-03-31
"""
REVOKE = GRANT.replace("PC-2026-0001", "PC-2026-0002").replace(
    "  grant: {who: HQ-Audit, rights: read_execute}\n  expires: 2027-03-31\n",
    "  revoke: {who: HQ-Audit, rights: read_execute}\n",
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory, so file names in errors are short."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ADSUITE_FILESERVER_PLAYBOOK", raising=False)
    Path("inventory.yml").write_text(INVENTORY, encoding="utf-8")
    Path("fileserver.yml").write_text(PLAYBOOK, encoding="utf-8")
    return tmp_path


def check(text: str, playbook: Path | None = Path("fileserver.yml")) -> Checked:
    path = Path("ticket.yml")
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return check_offline(
        path,
        Path("inventory.yml"),
        RULES,
        now=NOW,
        journal_path=Path("journal.sqlite"),
        playbook=playbook,
    )


def refusal(text: str, playbook: Path | None = Path("fileserver.yml")) -> str:
    with pytest.raises(InputError) as caught:
        check(text, playbook)
    return str(caught.value)


def edit(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


def test_a_grant_approved_by_the_data_owners_head_is_valid(workdir: Path) -> None:
    checked = check(GRANT)
    assert checked.kind.name == "permission_change"
    assert [s.record()["name"] for s in checked.satisfied] == ["li.hua"]
    assert checked.needs.names == ("HQ-Audit", "zhang.wei", "li.hua")  # + requester, approver


FINANCE = "\\\\fs1\\data\\HQ\\Finance"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            '  - {name: li.hua, role: data_owner_head, time: "2026-11-27T09:30:00+08:00"}\n',
            "  []\n",
            "ticket.yml:4: ticket type permission_change needs an approval by data_owner_head "
            "(五.5: every permission change on server data needs written confirmation from the "
            "head of the data owner's department before it is made); none given",
        ),
        (
            "name: li.hua,",
            "name: wang.fang,",
            "ticket.yml:5: approval by wang.fang as data_owner_head: for this ticket that must "
            f"be li.hua, the head of HQ Finance, which owns {FINANCE} (data_owner declared at "
            "fileserver.yml:3)",
        ),
        (
            "role: data_owner_head,",
            "role: department_head,",
            "ticket.yml:5: approval by li.hua as department_head does not count for ticket type "
            "permission_change, which needs data_owner_head (五.5)",
        ),
        (
            "rights: read_execute}",
            "rights: raed}",
            "ticket.yml:10: unknown right 'raed' (basic: full, modify, read_execute, read, "
            "write, list; special: list_folder, create_files, create_folders, "
            "read_extended_attributes, write_extended_attributes, traverse, "
            "delete_subfolders_and_files, read_attributes, write_attributes, delete, "
            "read_permissions, change_permissions, take_ownership, synchronize, "
            "access_system_security, generic_all, generic_execute, generic_write, generic_read)",
        ),
        (
            "path: HQ/Finance",
            "path: HQ/Finanse",
            "ticket.yml:9: \\\\fs1\\data\\HQ\\Finanse is not a folder that fileserver.yml "
            f"manages (did you mean {FINANCE}?)",
        ),
        (
            "path: HQ/Finance",
            "path: Projects/2026",
            "ticket.yml:9: \\\\fs1\\data\\Projects\\2026 is not a folder that fileserver.yml "
            "manages (it manages 3 folders)",
        ),
        (
            "grant: {who: HQ-Audit, rights: read_execute}",
            "grant: {who: GROUP\\HQ-Finance-RW, rights: modify}",
            f"ticket.yml:10: 'GROUP\\HQ-Finance-RW: modify' on {FINANCE} is already declared "
            "by the playbook (fileserver.yml:3); nothing to grant",
        ),
        (
            "expires: 2027-03-31",
            "expires: 2026-11-26",
            "ticket.yml:11: expires 2026-11-26 is in the past (today is 2026-11-27, UTC)",
        ),
        (
            "  grant: {who: HQ-Audit, rights: read_execute}\n",
            "",
            "ticket.yml:6: a permission_change ticket needs exactly one of 'grant' and 'revoke'",
        ),
        (
            "  expires: 2027-03-31\n",
            "  revoke: {who: HQ-Audit, rights: read_execute}\n",
            "ticket.yml:6: a permission_change ticket needs exactly one of 'grant' and 'revoke'",
        ),
        (
            "grant: {who: HQ-Audit, rights: read_execute}",
            "grant: {who: HQ-Audit, rights: read_execute, applies_to: everywhere}",
            "ticket.yml:10: 'grant.applies_to' must be 'this_folder_subfolders_files', "
            "'this_folder', 'this_folder_subfolders', 'this_folder_files', 'subfolders_files', "
            "'subfolders' or 'files', not 'everywhere'",
        ),
        (
            "expires: 2027-03-31",
            "expire: 2027-03-31",
            "ticket.yml:11: unknown key 'expire' in parameters (did you mean 'expires'?)",
        ),
    ],
    ids=[
        "missing approval",
        "approval by another department's head",
        "approval in another role",
        "bad rights word",
        "folder not managed (typo)",
        "folder not managed (far off)",
        "grant of a declared rule",
        "expiry in the past",
        "neither grant nor revoke",
        "both grant and revoke",
        "bad applies_to",
        "unknown parameter",
    ],
)
def test_each_refusal_is_one_line_at_its_cause(
    workdir: Path, old: str, new: str, expected: str
) -> None:
    assert refusal(edit(GRANT, old, new)) == expected


def test_a_folder_whose_access_the_playbook_does_not_declare_takes_no_ticket(
    workdir: Path,
) -> None:
    text = edit(
        edit(GRANT, "path: HQ/Finance", "path: HQ/Archive"), "name: li.hua", "name: hq.it.head"
    )
    assert refusal(text) == (
        "ticket.yml:9: fileserver.yml:18 does not declare the access of "
        "\\\\fs1\\data\\HQ\\Archive (no 'access:'), so there is no declared state for a "
        "ticket to change"
    )


def test_a_revoke_takes_no_expiry(workdir: Path) -> None:
    text = edit(REVOKE, "  revoke:", "  expires: 2027-01-01\n  revoke:")
    assert refusal(text) == "ticket.yml:10: a revoke takes effect at once: drop 'expires'"


def test_a_revoke_needs_a_ticket_grant_in_force(workdir: Path) -> None:
    assert refusal(REVOKE) == (
        f"ticket.yml:10: no ticket grant of 'HQ-Audit: read_execute' on {FINANCE} is in "
        "force (grants in force: none)"
    )
    journal_run(
        Path("journal.sqlite"), "PC-2026-0001", "grant", {"who": "HQ-Audit2", "rights": "read"}
    )
    assert refusal(REVOKE).endswith(
        "(grants in force: 'HQ-Audit2: read' (ticket PC-2026-0001, approved by li.hua))"
    )
    journal_run(
        Path("journal.sqlite"),
        "PC-2026-0003",
        "grant",
        {"who": "hq-audit", "rights": ["read_execute"]},
    )
    assert check(REVOKE).kind.name == "permission_change"


def test_a_ticket_cannot_revoke_what_the_playbook_declares(workdir: Path) -> None:
    text = edit(
        REVOKE,
        "revoke: {who: HQ-Audit, rights: read_execute}",
        "revoke: {who: Administrators, rights: full}",
    )
    assert refusal(text) == (
        f"ticket.yml:10: 'Administrators: full' on {FINANCE} is declared by the playbook "
        "(fileserver.yml:3): change the playbook, a ticket only revokes what a ticket granted"
    )


def test_the_playbook_comes_from_the_environment_or_the_default_path(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert refusal(GRANT, playbook=None) == (
        "no file-server playbook to check a permission_change ticket against: pass --playbook, "
        "set ADSUITE_FILESERVER_PLAYBOOK, or run from a folder with playbooks/fileserver_audit.yml"
    )
    monkeypatch.setenv("ADSUITE_FILESERVER_PLAYBOOK", "fileserver.yml")
    assert check(GRANT, playbook=None).satisfied[0].approval.name == "li.hua"
    Path("playbooks").mkdir()
    Path("playbooks/fileserver_audit.yml").write_text(
        PLAYBOOK.replace("head: li.hua", "head: zhao.lei"), encoding="utf-8"
    )
    monkeypatch.delenv("ADSUITE_FILESERVER_PLAYBOOK")
    assert "must be zhao.lei, the head of HQ Finance" in refusal(GRANT, playbook=None)


def test_a_playbook_cannot_carry_a_ticket_change(workdir: Path) -> None:
    Path("p.yml").write_text(
        PLAYBOOK + "      ticket_change: {grant: {who: bob, rights: full}}\n", encoding="utf-8"
    )
    inventory = load_inventory(Path("inventory.yml"))
    with pytest.raises(InputError) as caught:
        load_playbook(Path("p.yml"), inventory, registry.specs())
    assert str(caught.value) == (
        "p.yml:18: ticket_change is made by a permission_change ticket (adsuite ticket apply), "
        "never by a playbook: 五.5 needs the data owner's approval first; declare lasting "
        "access under 'access'"
    )


# --- the grants in force, folded from the journal ------------------------------------


def journal_run(
    path: Path,
    ticket: str,
    action: str,
    rule: dict[str, Any],
    *,
    expires: str | None = None,
    status: str = "ok",
    folder: str = "HQ\\Finance",
) -> str:
    with Journal.open(path) as journal:
        run = journal.start_run(
            mode="apply",
            operator={"os_user": "test"},
            ticket=ticket,
            extra={
                "ticket": {"id": ticket, "type": "permission_change"},
                "approval_rules": {"satisfied": [{"needs": "data_owner_head", "name": "li.hua"}]},
                "record": {
                    "permission_change": {
                        "folder": {"host": "fs1", "share": "data", "path": folder},
                        "action": action,
                        "rule": rule,
                        "expires": expires,
                        "data_owner": {"department": "HQ Finance", "head": "li.hua"},
                    }
                },
            },
        )
        journal.finish_run(run, status=status, counts={})
    return run


def in_force(path: Path, today: date = date(2026, 11, 27)) -> tuple[list[str], list[str]]:
    state = grants_by_folder(path, today).get(folder_key("fs1", "data", "HQ/Finance"))
    if state is None:
        return [], []
    return [g.ticket for g in state.active], [g.ticket for g in state.expired]


def test_grants_stay_in_force_until_revoked_or_expired(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    assert in_force(journal) == ([], [])
    assert not journal.exists(), "reading grants never creates a journal"
    journal_run(journal, "PC-1", "grant", {"who": "HQ-Audit", "rights": "read_execute"})
    journal_run(journal, "PC-2", "grant", {"who": "bob", "rights": "full"}, status="failed")
    journal_run(journal, "PC-3", "grant", {"who": "eve", "rights": "read"}, expires="2026-11-27")
    journal_run(journal, "PC-4", "grant", {"who": "eve", "rights": "read"}, folder="HQ\\HR")
    assert in_force(journal) == (["PC-1", "PC-3"], [])
    assert in_force(journal, date(2026, 11, 28)) == (["PC-1"], ["PC-3"])
    journal_run(journal, "PC-5", "revoke", {"who": "GROUP\\hq-audit", "rights": ["read_execute"]})
    assert in_force(journal) == (["PC-3"], [])
    journal_run(journal, "PC-6", "grant", {"who": "HQ-Audit", "rights": "read_execute"})
    assert in_force(journal) == (["PC-3", "PC-6"], [])
    journal_run(journal, "PC-7", "grant", {"who": "eve", "rights": "read"}, expires="2027-01-31")
    assert in_force(journal, date(2026, 11, 28)) == (["PC-6", "PC-7"], []), "a renewal"


@dataclass(frozen=True)
class Run:
    start_seq: int
    ticket: str | None
    extra: dict[str, Any] = field(default_factory=dict)
    mode: str = "apply"
    status: str = "ok"

    @property
    def id(self) -> str:
        return f"run-{self.start_seq}"


def test_a_run_that_is_not_a_permission_change_grants_nothing() -> None:
    record = {"permission_change": {"folder": {"host": "fs1", "share": "data", "path": "X"}}}
    runs = [
        Run(1, "IT-1", {"ticket": {"type": "new_employee"}, "record": record}),
        Run(2, None, {"ticket": {"type": "permission_change"}, "record": record}),
        Run(3, "PC-3", {"ticket": {"type": "permission_change"}, "record": {"x": 1}}),
    ]
    assert fold(runs, date(2026, 11, 27)) == {}


def test_drift_and_plans_say_which_ticket_grant_expired() -> None:
    owner = {"department": "HQ Finance", "head": "li.hua"}
    expired = "GROUP\\HQ-Audit: read_execute"
    change = Change(
        "file_acl",
        Action.UPDATE,
        FINANCE,
        {"data_owner": owner, "access": ["Administrators: full", expired, "GROUP\\bob: full"]},
        {
            "data_owner": owner,
            "access": ["Administrators: full"],
            "expired_grants": {expired: "ticket PC-1's grant expired on 2026-11-01"},
        },
        None,
        (),
        None,
    )
    assert file_acl.describe(change, drift=True) == [
        f"ticket PC-1's grant expired on 2026-11-01: GROUP\\HQ-Audit still has 'read_execute' "
        f"on {FINANCE}",
        f"added outside adsuite: GROUP\\bob has 'full' on {FINANCE} — would have needed "
        "approval by li.hua (HQ Finance)",
    ]
    assert file_acl.describe(change, drift=False)[:2] == [
        f"- access {expired} (ticket PC-1's grant expired on 2026-11-01)",
        "- access GROUP\\bob: full",
    ]
