"""permission_change tickets against the lab's real [data] share, through `adsuite ticket
apply`: smbcacls (Samba's own tool) sees the granted ACE, the file-server playbook's
drift check stays clean, the granted user reads the folder over a real SMB logon; a
ticket without the data owner's approval changes nothing; an ACE added by hand is
still drift; a revoke takes the grant back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fileshare import Share, make_share, write_authfile
from helpers import sid_of
from labkit import Cli, Lab

from adsuite.connectors.ldap import Directory
from adsuite.engine.session import Session
from adsuite.formats.security_descriptor import AceType, SecurityDescriptor
from adsuite.journal.store import Journal

pytestmark = pytest.mark.lab

BASE = "DC=group,DC=example,DC=com"
RULES = Path(__file__).resolve().parents[2] / "playbooks" / "approvals.yml"
OI_CI = 0x03
READ_EXECUTE = 0x1200A9
PASSWORDS = {"alice": "Alice-Pw-5d2e8c!", "bob": "Bob-Pw-9a4f1e!"}


def allowed(sd: SecurityDescriptor) -> set[tuple[int, int, str]]:
    dacl = sd.dacl.aces if sd.dacl else ()
    return {(a.flags, a.mask, a.sid) for a in dacl if a.ace_type == AceType.ACCESS_ALLOWED}


@pytest.fixture()
def share(lab_env: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Share:
    for name, secret in PASSWORDS.items():
        monkeypatch.setenv(f"ADSUITE_CRED_PC_{name.upper()}", secret)
    return make_share(lab_env, tmp_path)


def fileserver_playbook(top: str) -> str:
    """A department folder owned by '<top> Finance' (head <top>.fin.head), and HR's;
    the heads are users of the directory, as every approver must be."""
    users = "\n".join(
        f"  - user: {{name: {top}-{n}, ou: {top}, password: {{credential: pc_{n}}}}}"
        for n in PASSWORDS
    ) + "".join(f"\n  - user: {{name: {top}.{d}.head, ou: {top}}}" for d in ("fin", "hr"))
    return f"""
tasks:
  - ou: {{path: {top}, protected: false}}
  - group: {{name: {top}-Fin-RW, ou: {top}}}
{users}
  - file_acl:
      host: fs1
      share: data
      path: {top}
      data_owner: {{department: IT, head: it.head}}
      inherit: false
      access:
        - {{who: Administrators, rights: full}}
        - {{who: Authenticated Users, rights: traverse, applies_to: this_folder}}
  - file_acl:
      host: fs1
      share: data
      path: {top}/Finance
      data_owner: {{department: {top} Finance, head: {top}.fin.head}}
      owner: Administrators
      inherit: false
      access:
        - {{who: Administrators, rights: full}}
        - {{who: SYSTEM, rights: full}}
        - {{who: {top}-Fin-RW, rights: modify}}
      audit:
        - {{who: Everyone, rights: [change_permissions, take_ownership, delete]}}
  - file_acl:
      host: fs1
      share: data
      path: {top}/HR
      data_owner: {{department: {top} HR, head: {top}.hr.head}}
      inherit: false
      access:
        - {{who: Administrators, rights: full}}
"""


def ticket(top: str, number: int, change: str, approver: str | None) -> str:
    time = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    approvals = (
        f'  - {{name: {approver}, role: data_owner_head, time: "{time}"}}' if approver else "  []"
    )
    return f"""id: PC-{top}-{number}
type: permission_change
requester: {top}-alice
approvals:
{approvals}
parameters:
  host: fs1
  share: data
  path: {top}/Finance
  {change}
"""


class Tickets:
    """Writes tickets and runs `adsuite ticket apply` and `adsuite drift` on them."""

    def __init__(self, share: Share, cli: Callable[..., Cli], folder: Path, playbook: Path) -> None:
        self.share, self.cli, self.folder, self.playbook = share, cli, folder, playbook

    def apply(self, name: str, text: str) -> Cli:
        path = self.folder / name
        path.write_text(text, encoding="utf-8")
        return self.cli(
            "ticket", "apply", str(path), "-i", str(self.share.inventory), "--rules", str(RULES),
            "--playbook", str(self.playbook), "--yes",
        )  # fmt: skip

    def playbook_run(self, command: str) -> Cli:
        extra = ["--yes"] if command == "apply" else []
        return self.cli(command, str(self.playbook), "-i", str(self.share.inventory), *extra)


@pytest.fixture()
def tickets(
    share: Share,
    lab_env: Lab,
    top: str,
    cli: Callable[..., Cli],
    write_playbook: Callable[..., Path],
    tmp_path: Path,
) -> Iterator[Tickets]:
    playbook = write_playbook(fileserver_playbook(top), "fileserver.yml")
    session = Session.from_files(playbook, share.inventory, lab_env.journal)
    with session.connect() as conn:
        result = session.apply(session.plan(conn), conn)
    assert result.status == "ok", result.outcomes
    share.smbclient(share.authfile, f"mkdir {top}\\Finance\\Reports")
    yield Tickets(share, cli, tmp_path, playbook)


def apply_runs(journal: Path) -> list[str]:
    with Journal.open(journal) as opened:
        return [r.id for r in opened.runs() if r.mode == "apply"]


def reads_finance(share: Share, top: str, user: str, tmp_path: Path) -> bool:
    authfile = write_authfile(tmp_path / f"{user}.auth", f"{top}-{user}", PASSWORDS[user])
    listing = share.smbclient(authfile, f"ls {top}\\Finance\\*")
    if listing.returncode == 0:
        assert "Reports" in listing.stdout, listing.stdout
        return True
    assert "NT_STATUS_ACCESS_DENIED" in listing.stdout + listing.stderr, listing
    return False


def test_a_ticket_without_the_data_owners_approval_is_refused_and_changes_nothing(
    tickets: Tickets, share: Share, lab_env: Lab, top: str
) -> None:
    grant = f"grant: {{who: {top}-alice, rights: read_execute}}"
    before = share.smbcacls(f"{top}/Finance", "--query-security-info=15")
    runs = apply_runs(lab_env.journal)
    cases = {
        None: "needs an approval by data_owner_head (五.5: every permission change on server "
        "data needs written confirmation from the head of the data owner's department before "
        "it is made); none given",
        f"{top}.hr.head": f"approval by {top}.hr.head as data_owner_head: for this ticket that "
        f"must be {top}.fin.head, the head of {top} Finance, which owns "
        f"\\\\fs1\\data\\{top}\\Finance (data_owner declared at {tickets.playbook}:",
    }
    for number, (approver, message) in enumerate(cases.items(), start=1):
        refused = tickets.apply(f"bad{number}.yml", ticket(top, number, grant, approver))
        assert refused.code == 1, refused.out + refused.err
        line = 4 if approver is None else 5
        assert refused.err.startswith(f"adsuite: {tickets.folder}/bad{number}.yml:{line}: ")
        assert message in refused.err and len(refused.err.strip().splitlines()) == 1
        assert "Applied" not in refused.out
    assert share.smbcacls(f"{top}/Finance", "--query-security-info=15") == before
    assert apply_runs(lab_env.journal) == runs, "a refused ticket starts no run"


def test_an_approved_grant_is_applied_kept_by_the_playbook_and_revoked_by_a_ticket(
    tickets: Tickets,
    share: Share,
    lab_env: Lab,
    directory: Directory,
    top: str,
    tmp_path: Path,
) -> None:
    finance, head = f"{top}/Finance", f"{top}.fin.head"
    unc = f"\\\\fs1\\data\\{top}\\Finance"
    alice = sid_of(directory, f"{top}-alice")
    assert not reads_finance(share, top, "alice", tmp_path)

    grant = f"grant: {{who: {top}-alice, rights: read_execute}}\n  expires: 2099-12-31"
    granted = tickets.apply("grant.yml", ticket(top, 1, grant, head))
    assert granted.code == 0, granted.out + granted.err
    assert f"+ access {top}-alice: read_execute" in granted.out
    assert "Applied 1, failed 0" in granted.out
    domain = sid_of(directory, "")
    granted_aces = allowed(share.descriptor(finance, domain))
    assert (OI_CI, READ_EXECUTE, alice) in granted_aces, "smbcacls sees the granted ACE"
    assert reads_finance(share, top, "alice", tmp_path), "a real SMB logon reads the folder"
    assert not reads_finance(share, top, "bob", tmp_path)
    with Journal.open(lab_env.journal) as journal:
        run = journal.runs(limit=1)[0]
    assert run.ticket == f"PC-{top}-1"
    assert run.extra["record"]["permission_change"]["rule"] == {
        "who": f"{top}-alice",
        "rights": "read_execute",
        "type": "allow",
    }

    clean = tickets.playbook_run("drift")
    assert clean.code == 0, "the grant is part of the desired state: " + clean.out

    inventory = str(tickets.share.inventory)
    undo = tickets.cli("rollback", run.id, "-i", inventory, "--yes")
    assert undo.code == 1, "ending an approved grant needs a ticket, not a rollback"
    assert "permission_change ticket" in undo.out + undo.err
    assert (OI_CI, READ_EXECUTE, alice) in allowed(share.descriptor(finance, domain))

    share.smbcacls(finance, "-a", f"ACL:GROUP\\{top}-bob:ALLOWED/OI|CI/FULL")
    found = tickets.playbook_run("drift")
    assert found.code == 2, found.out + found.err
    assert (
        f"added outside adsuite: GROUP\\{top}-bob has 'full' on {unc} — would have needed "
        f"approval by {head} ({top} Finance)"
    ) in found.out
    assert f"{top}-alice" not in found.out
    assert tickets.playbook_run("apply").code == 0
    after = share.smbcacls(finance)
    assert f"{top}-bob" not in after and f"{top}-alice" in after

    revoke = f"revoke: {{who: {top}-alice, rights: read_execute}}"
    revoked = tickets.apply("revoke.yml", ticket(top, 2, revoke, head))
    assert revoked.code == 0, revoked.out + revoked.err
    assert f"- access {top}-alice: read_execute" in revoked.out
    assert f"{top}-alice" not in share.smbcacls(finance)
    assert not reads_finance(share, top, "alice", tmp_path)
    assert tickets.playbook_run("drift").code == 0

    again = tickets.apply("revoke2.yml", ticket(top, 3, revoke, head))
    assert again.code == 1
    assert f"no ticket grant of '{top}-alice: read_execute' on {unc} is in force" in again.err
