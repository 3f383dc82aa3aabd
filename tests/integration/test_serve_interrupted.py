"""`adsuite serve` killed in the middle of a ticket, then restarted: the service desk is
told ``interrupted`` with the journal run and each change's outcome, the ticket is not
run again, and the password the directory now holds is the one in the password file.

The moment is found by identity, not by a clock (as in test_dc_loss.py): the test takes
the journal's write lock once the ticket's run has journaled the intent of its first
change (the account, created with its password), so the server can journal nothing more;
once the account is in the directory the server is killed with SIGKILL, and the lock is
let go. What the desk then reports is compared with what the journal held at the kill.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import ssl
import stat
import time
from collections.abc import Callable
from pathlib import Path
from subprocess import Popen

import ldap3
import pytest
from deskclient import DeskClient, start_cli, stop_cli
from labkit import Cli, Lab
from test_serve_lab import SECRET, company_inventory, company_tree

from adsuite.connectors.ldap import Directory
from adsuite.journal.store import Journal
from adsuite.runtime.lease import lease_dn

pytestmark = pytest.mark.lab

BASE = "DC=group,DC=example,DC=com"
REPO = Path(__file__).resolve().parents[2]
DEADLINE_S = 120.0
POLL_S = 0.02
RUN_OF = (
    "SELECT run_id FROM entries WHERE kind = 'ticket_claim' AND json_extract(body, '$.ticket') = ?"
)
OUTCOMES = "SELECT body FROM entries WHERE run_id = ? AND kind = ?"


def run_of(conn: sqlite3.Connection, ticket: str) -> str | None:
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'entries'").fetchone():
        return None
    row = conn.execute(RUN_OF, (ticket,)).fetchone()
    return None if row is None else str(row[0])


def entries(conn: sqlite3.Connection, run: str, kind: str) -> list[dict[str, object]]:
    return [json.loads(body) for (body,) in conn.execute(OUTCOMES, (run, kind))]


def lock_at_first_intent(journal: Path, ticket: str, server: Popen[str]) -> sqlite3.Connection:
    """The journal's write lock, taken as soon as the ticket's run has journaled the intent
    of its first change: the server can then journal nothing more (it waits on the lock)."""
    deadline = time.monotonic() + DEADLINE_S
    while not journal.exists():
        assert time.monotonic() < deadline and server.poll() is None, "no journal"
        time.sleep(POLL_S)
    watch = sqlite3.connect(f"{journal.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        while time.monotonic() < deadline:  # no sleep: the first change takes milliseconds
            assert server.poll() is None, "the server ended"
            run = run_of(watch, ticket)
            if run is not None and entries(watch, run, "change_intent"):
                break
        else:
            raise AssertionError("the ticket's run never journaled a change")
    finally:
        watch.close()
    lock = sqlite3.connect(str(journal), timeout=30, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    assert not entries(lock, run, "run_end"), "the run ended before the lock was taken"
    return lock


def until(found: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not found():
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(POLL_S)


def bind_error(lab_env: Lab, user_dn: str, password: str) -> str:
    """How the DC answers a simple bind as *user_dn* with *password* ('' if it succeeds)."""
    status = lab_env.status
    tls = ldap3.Tls(
        validate=ssl.CERT_REQUIRED, ca_certs_file=str(status.ca_file), valid_names=[status.tls_name]
    )
    server = ldap3.Server(status.ldap_url, use_ssl=True, tls=tls)
    conn = ldap3.Connection(server, user=user_dn, password=password)
    try:
        return "" if conn.bind() else str(conn.result.get("message"))
    finally:
        conn.unbind()


def test_serve_killed_mid_ticket_reports_interrupted_and_keeps_the_password(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
    tmp_path: Path,
) -> None:
    code = top.upper()
    inventory = company_inventory(lab_env, code, tmp_path)
    tree = cli("apply", str(write_playbook(company_tree(code))), "-i", str(inventory), "--yes")
    assert tree.code == 0, tree.err
    people = cli("apply", str(REPO / "playbooks/approvers.yml"), "-i", str(inventory), "--yes")
    assert people.code == 0, people.err
    journal = tmp_path / "journal.sqlite"  # the test's own: its open run stays there
    passwords = tmp_path / "passwords"
    env = {**os.environ, "ADSUITE_CRED_SERVICE_DESK": SECRET, "ADSUITE_JOURNAL": str(journal)}
    args = ["-i", str(inventory), "--rules", str(REPO / "playbooks/approvals.yml")]
    args += ["--queue", str(tmp_path / "queue.sqlite"), "--password-dir", str(passwords)]
    account, ritm = f"{top.lower()}.int", f"RITM-I{code}"
    user_dn = f"CN={account},OU=Users,OU={code},{BASE}"
    body = {
        "number": ritm,
        "u_adsuite_type": "new_employee",
        "requested_for": f"{code.lower()}.hr.head",
        "u_adsuite_parameters": {"company": code, "name": account, "display_name": "新员工"},
        "approvals": [
            {
                "approver": f"{code.lower()}.hr",
                "role": "hr",
                "state": "approved",
                "sys_updated_on": "2026-01-05 01:30:00",
            },
        ],
    }

    server, url = start_cli(args, env)
    accepted = DeskClient(url, SECRET).post("/tickets/servicenow", body)
    assert accepted.status == 202, accepted.body
    lock = lock_at_first_intent(journal, ritm, server)
    try:
        run = run_of(lock, ritm)
        assert run is not None
        # the account's add (with its password) reaches the DC; the server then waits to
        # journal its outcome, or, if it journaled it before the lock, at a later entry
        until(lambda: directory.read(user_dn, ["cn"]) is not None, "the account created")
        outcomes = {o["change_no"]: o["outcome"] for o in entries(lock, run, "change_outcome")}
        intents = entries(lock, run, "change_intent")
        killed = server.pid
        server.send_signal(signal.SIGKILL)
        server.wait(DEADLINE_S)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    held = directory.read(lease_dn(BASE), ["adminDescription"])
    if held is not None and json.loads(held.text("adminDescription") or "{}")["pid"] == killed:
        directory.delete(lease_dn(BASE))  # the killed server's lease: the next test's apply

    server, url = start_cli(args, env)
    try:
        ended = DeskClient(url, SECRET).wait_for_end(accepted.body["url"])
    finally:
        assert stop_cli(server) == 0

    assert ended.body["status"] == "interrupted", ended.body
    assert ended.body["journal_run"] == run
    with Journal.open(journal) as book:
        assert [r.id for r, _ in book.ticket_runs(ritm)] == [run], "the ticket was not run again"
    reported = [(c["target"], c["outcome"]) for c in ended.body["changes"]]
    assert reported == [(i["target"], outcomes.get(i["change_no"], "pending")) for i in intents]
    assert reported[0][0] == user_dn and reported[0][1] in ("pending", "applied")

    (kept,) = passwords.iterdir()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert kept.name in ended.body["notes"][0]
    lines = dict(line.split(": ", 1) for line in kept.read_text(encoding="utf-8").splitlines())
    assert lines["account"] == account and lines["ticket"] == ritm
    # the DC refuses the logon only because the password must be changed first (773);
    # a wrong password is refused with 52e
    assert "data 773" in bind_error(lab_env, user_dn, lines["password"])
    assert "data 52e" in bind_error(lab_env, user_dn, lines["password"] + "x")
