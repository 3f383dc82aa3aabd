"""Super-administrator control (五.6) against the lab DC: the allow-list of the privileged
groups, check-out and check-in, and the usage log read from the DC's own audit log.

A checked-out password is handed over like a ticket's (``--password-out``, a new 0600
file) and stored nowhere else: one test looks for its bytes in every file the check-out
could have written.

The lab binds as the built-in Administrator, so it is the service account in these
playbooks. Check-outs use an account of the test's own: the lab's Administrator
password is what every other test binds with.
"""

from __future__ import annotations

import json
import os
import ssl
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import ldap3
import pytest
from labkit import Cli, Lab

from adsuite.admin.reconcile import SLACK_S
from adsuite.connectors.ldap import Directory
from adsuite.journal.store import Journal

pytestmark = pytest.mark.lab
BASE = "DC=group,DC=example,DC=com"
REPO = Path(__file__).resolve().parents[2]
LAB_GROUPS = """\
        Domain Admins: [Administrator{extra}]
        Enterprise Admins: [Administrator]
        Schema Admins: [Administrator]
        Administrators: [Administrator, Domain Admins, Enterprise Admins]
        Account Operators: []
        Server Operators: []
        Backup Operators: []
        Print Operators: []
"""
INITIAL_PASSWORD = "Initial-Passw0rd-7!"


def privileged_task(
    accounts: str = "{}", extra: str = "", holders: str = "[li.wei, zhao.min]"
) -> str:
    return (
        "  - name: super-administrators\n"
        "    privileged:\n"
        f"      holders: {holders}\n"
        "      service_account: Administrator\n"
        f"      accounts: {accounts}\n"
        "      groups:\n" + LAB_GROUPS.format(extra=extra)
    )


def handed_over(path: Path) -> str:
    """The password from a --password-out file, which must be owner-only."""
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text(encoding="utf-8").splitlines()
    assert "must change at next logon: no" in lines
    (password,) = [
        line.removeprefix("password: ") for line in lines if line.startswith("password: ")
    ]
    return password


@dataclass(frozen=True)
class Bind:
    ok: bool
    port: int  # the client port the DC logs as remoteAddress
    start: datetime
    end: datetime


def bind(lab_env: Lab, user: str, password: str) -> Bind:
    """A real simple bind over LDAPS: whether it succeeded, its client port and when."""
    status = lab_env.status
    tls = ldap3.Tls(
        validate=ssl.CERT_REQUIRED, ca_certs_file=str(status.ca_file), valid_names=[status.tls_name]
    )
    server = ldap3.Server(status.ldap_url, use_ssl=True, tls=tls)
    conn = ldap3.Connection(server, user=user, password=password)
    start = datetime.now(UTC)
    conn.open()
    port = int(conn.socket.getsockname()[1])
    ok = bool(conn.bind())
    conn.unbind()
    return Bind(ok, port, start, datetime.now(UTC))


def ticket_file(path: Path, ticket: str, account: str, requester: str = "li.wei") -> Path:
    when = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    path.write_text(
        f"id: {ticket}\ntype: admin_checkout\nrequester: {requester}\n"
        f"approvals:\n  - {{name: wang.jun, role: it_head, time: '{when}'}}\n"
        f"parameters: {{account: {account}}}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture()
def admin_account(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """A test super-administrator account in Domain Admins; removed (and so out of the
    group) afterwards."""
    name = f"{top}-adm"
    env = {"ADSUITE_CRED_T_ADM": INITIAL_PASSWORD}
    playbook = write_playbook(
        "tasks:\n"
        f"  - ou: {{path: {top}, protected: false}}\n"
        f"  - user: {{name: {name}, ou: {top}, password: {{credential: t-adm}}, enabled: true}}\n"
        + privileged_task(f"{{{name}: {{at_rest: enabled}}}}", f", {name}")
        + "      checkout: {approved_ticket: true, it_head: wang.jun}\n"
    )
    applied = cli("apply", str(playbook), "-i", str(lab_env.inventory), "--yes", env=env)
    assert applied.code == 0, applied.err + applied.out
    try:
        yield name, playbook, env
    finally:
        directory.delete(f"CN={name},OU={top},{BASE}")


def test_a_third_holder_is_refused_at_load_with_the_clause(
    lab_env: Lab, write_playbook: Callable[..., Path], cli: Callable[..., Cli]
) -> None:
    playbook = write_playbook("tasks:\n" + privileged_task(holders="[li.wei, zhao.min, chen.gang]"))
    result = cli("plan", str(playbook), "-i", str(lab_env.inventory))
    assert result.code == 1
    assert result.err.startswith(f"adsuite: {playbook}:4: ")  # the holders line
    assert "3 holders named" in result.err and "五.6 allows at most 2" in result.err


def test_members_added_out_of_band_are_drift_and_apply_removes_them(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    inv = str(lab_env.inventory)
    playbook = write_playbook(
        f"tasks:\n  - ou: {{path: {top}, protected: false}}\n" + privileged_task()
    )
    playbook_path = str(playbook)
    assert cli("apply", playbook_path, "-i", inv, "--yes").code == 0
    direct, primary, nested, via = (f"CN={top}-{n},OU={top},{BASE}" for n in ("d", "p", "g", "v"))
    domain_admins, administrators = (
        f"CN=Domain Admins,CN=Users,{BASE}",
        f"CN=Administrators,CN=Builtin,{BASE}",
    )
    try:
        for dn in (direct, primary, via):
            directory.add(dn, {"objectClass": ["user"], "sAMAccountName": [dnlib_rdn(dn)]})
        directory.add(nested, {"objectClass": ["group"], "sAMAccountName": [f"{top}-g"]})
        directory.modify(nested, {"member": ("add", [via])})
        directory.modify(domain_admins, {"member": ("add", [direct, primary])})
        directory.modify(primary, {"primaryGroupID": ("replace", ["512"])})  # no member value now
        directory.modify(administrators, {"member": ("add", [nested])})

        drift = cli("drift", playbook_path, "-i", inv)
        assert drift.code == 2, drift.err + drift.out
        assert f"has unwanted member {direct}" in drift.out
        assert (
            f"privileged {primary}: differs: is in Domain Admins as its primary group" in drift.out
        )
        assert f"has unwanted member {nested}" in drift.out
        assert f"undeclared accounts hold its rights: {top}-d, {top}-p, {top}-v" in drift.out
        assert "WARN" in drift.out and "built-in Administrator (RID 500)" in drift.out

        applied = cli("apply", playbook_path, "-i", inv, "--yes")
        assert applied.code == 0, applied.err + applied.out
        assert "Applied 3, failed 0" in applied.out
        assert cli("drift", playbook_path, "-i", inv).code == 0  # the warning is no drift
        members = directory.read(domain_admins, ["member"])
        assert members is not None and [m.lower() for m in members.texts("member")] == [
            f"cn=administrator,cn=users,{BASE.lower()}"
        ]
        moved = directory.read(primary, ["primaryGroupID"])
        assert moved is not None and moved.integer("primaryGroupID") == 513
    finally:
        for dn in (direct, primary, via, nested):
            if directory.read(dn, ["objectClass"]) is not None:
                directory.delete(dn)  # a deleted account leaves every group it was in


def dnlib_rdn(dn: str) -> str:
    return dn.split(",", 1)[0].split("=", 1)[1]


def use_of(report: Cli, done: Bind, account: str) -> dict[str, Any]:
    """The report's row for one bind: its port and account, logged while it ran."""
    rows = [
        r
        for r in json.loads(report.out)["uses"]
        if r["account"] == account.lower()
        and (r["remote"] or "").endswith(f":{done.port}")
        and done.start <= datetime.fromisoformat(r["at"]) <= done.end
    ]
    assert len(rows) == 1, (done, account, json.loads(report.out)["uses"])
    return rows[0]


def test_binds_without_a_checkout_are_unrecorded_and_one_inside_a_checkout_is_reconciled(
    lab_env: Lab,
    admin_account: tuple[str, Path, dict[str, str]],
    tmp_path: Path,
    cli: Callable[..., Cli],
) -> None:
    name, playbook, env = admin_account
    inv, admin = str(lab_env.inventory), lab_env.status.admin_username
    since = (datetime.now(UTC) - timedelta(seconds=2)).isoformat()
    admin_password = Path(lab_env.status.secret_file).read_text(encoding="utf-8").strip()
    common = ["-p", str(playbook), "-i", inv]

    as_administrator = bind(lab_env, admin, admin_password)
    before = bind(lab_env, f"{name}@GROUP.EXAMPLE.COM", INITIAL_PASSWORD)
    assert as_administrator.ok and before.ok
    time.sleep(SLACK_S + 1)  # and clear of the check-out run that follows

    ticket = f"IT-{name}"
    form = ticket_file(tmp_path / "ticket.yml", ticket, name)
    rules = str(REPO / "playbooks/approvals.yml")
    password_file = tmp_path / "handed-over.txt"
    refused = cli("admin", "checkout", name, "--ticket", ticket, "--reason", "x", "--ticket-file",
                  str(form), "--rules", rules, "--holder", "mallory",
                  "--password-out", str(password_file), *common, env=env)  # fmt: skip
    assert refused.code == 1 and "mallory is not an allow-listed holder" in refused.err
    assert not password_file.exists()  # reserved for the run, removed with the refusal
    out = cli("admin", "checkout", name, "--ticket", ticket, "--reason", "replication repair",
              "--ticket-file", str(form), "--rules", rules, "--holder", "li.wei",
              "--password-out", str(password_file), *common, env=env)  # fmt: skip
    assert out.code == 0, out.err + out.out
    assert f"written to {password_file} (mode 0600)" in out.out
    checked_out = handed_over(password_file)
    assert checked_out != INITIAL_PASSWORD and checked_out not in out.out + out.err
    inside = bind(lab_env, f"{name}@GROUP.EXAMPLE.COM", checked_out)
    assert inside.ok

    back = cli("admin", "checkin", name, "--holder", "li.wei", *common, env=env)
    assert back.code == 0, back.err + back.out
    after = bind(lab_env, f"{name}@GROUP.EXAMPLE.COM", checked_out)
    assert not after.ok  # check-in really changed the password

    report = cli("admin", "usage", "--since", since, "--format", "json", *common, env=env)
    assert report.code == 2, report.err
    unrecorded = [use_of(report, as_administrator, "Administrator"), use_of(report, before, name)]
    assert [u["verdict"] for u in unrecorded] == ["unrecorded", "unrecorded"], [
        (u["at"], u["explanation"]) for u in unrecorded
    ]
    reconciled = use_of(report, inside, name)
    assert reconciled["verdict"] == "checked_out"
    assert f"checked out to li.wei, ticket {ticket}" in reconciled["explanation"]
    failed = use_of(report, after, name)
    assert (failed["verdict"], failed["status"]) == ("failed", "NT_STATUS_WRONG_PASSWORD")
    exported = cli("journal", "export", "--format", "json", env=env)
    assert checked_out not in exported.out
    runs = {r["mode"]: r for r in json.loads(exported.out) if r.get("ticket") == ticket}
    assert set(runs) >= {"checkout", "checkin"}
    assert runs["checkout"]["extra"]["holder"] == "li.wei"
    assert runs["checkout"]["extra"]["reason"] == "replication repair"


def test_adsuite_own_binds_during_its_runs_are_automation(
    lab_env: Lab,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    """Told apart by the client endpoint each run journals, not by time: a hand bind as
    the service account just before a run is unrecorded however close it comes."""
    inv, admin = str(lab_env.inventory), lab_env.status.admin_username
    admin_password = Path(lab_env.status.secret_file).read_text(encoding="utf-8").strip()
    playbook = write_playbook("tasks:\n" + privileged_task())
    since = datetime.now(UTC).isoformat()  # every logon after this is the test's own
    by_hand = bind(lab_env, admin, admin_password)
    assert by_hand.ok
    assert cli("drift", str(playbook), "-i", inv).code == 0
    report = cli(
        "admin", "usage", "--since", since, "--format", "json", "-p", str(playbook), "-i", inv
    )
    assert report.code == 2, report.err  # the hand bind is a finding
    usage_run = json.loads(report.out)["run"]
    with Journal.open(lab_env.journal) as journal:
        newest_first = journal.runs()
    drift_run = next(r for r in newest_first if r.mode == "drift")  # the one above
    (usage,) = [r for r in newest_first if r.id == usage_run]
    clients = {usage.operator["client"], drift_run.operator["client"]}

    rows = json.loads(report.out)["uses"]
    hand = use_of(report, by_hand, "Administrator")
    assert hand["verdict"] == "unrecorded"
    ours = [r for r in rows if r["remote"] != hand["remote"]]
    assert {r["remote"].removeprefix("ipv4:") for r in ours} == clients, rows
    assert all(r["verdict"] == "automation" for r in ours), rows
    assert {r["explanation"].rsplit("(run ", 1)[1].rstrip(")") for r in ours} == {
        usage_run,
        drift_run.id,
    }


def test_a_checkout_enables_an_account_that_rests_disabled_and_checkin_disables_it(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    tmp_path: Path,
    cli: Callable[..., Cli],
) -> None:
    name, inv = f"{top}-bg", str(lab_env.inventory)
    playbook = write_playbook(
        "tasks:\n"
        f"  - ou: {{path: {top}, protected: false}}\n"
        f"  - user: {{name: {name}, ou: {top}, password: {{generate: true}}, enabled: false}}\n"
        + privileged_task(f"{{{name}: {{at_rest: disabled}}}}", f", {name}")
        + "      checkout: {approved_ticket: false}\n"
    )
    assert cli("apply", str(playbook), "-i", inv, "--yes").code == 0
    dn = f"CN={name},OU={top},{BASE}"
    try:
        common = ["-p", str(playbook), "-i", inv, "--holder", "zhao.min"]
        checkout = ["admin", "checkout", name, "--ticket", "REF-1", "--reason", "DR test", *common]
        unsaid = cli(*checkout)
        assert unsaid.code == 1 and len(unsaid.err.splitlines()) == 1, unsaid.err
        assert "--password-out FILE" in unsaid.err and _disabled(directory, dn)  # nothing changed
        piped = cli(*checkout, "--show-password")  # stdout is a pipe here
        assert piped.code == 1 and "--show-password needs a terminal" in piped.err
        taken = tmp_path / "taken.txt"
        taken.write_text("someone else's\n", encoding="utf-8")
        exists = cli(*checkout, "--password-out", str(taken))
        assert exists.code == 1 and "already exists" in exists.err and _disabled(directory, dn)
        assert taken.read_text(encoding="utf-8") == "someone else's\n"
        password_file = tmp_path / "bg.txt"
        out = cli(*checkout, "--password-out", str(password_file))
        assert out.code == 0, out.err + out.out
        assert not _disabled(directory, dn)
        assert bind(lab_env, f"{name}@GROUP.EXAMPLE.COM", handed_over(password_file)).ok
        again_file = tmp_path / "again.txt"
        again = cli("admin", "checkout", name, "--ticket", "REF-2", "--reason", "x", *common,
                    "--password-out", str(again_file))  # fmt: skip
        assert again.code == 1 and "already checked out to zhao.min" in again.err
        assert not again_file.exists()  # the reserved file is removed with the refusal
        assert cli("admin", "checkin", name, *common).code == 0
        assert _disabled(directory, dn)
    finally:
        directory.delete(dn)


def _disabled(directory: Directory, dn: str) -> bool:
    entry = directory.read(dn, ["userAccountControl"])
    assert entry is not None
    return bool((entry.integer("userAccountControl") or 0) & 2)


def files_holding(secret: str, roots: list[Path], since: float) -> list[Path]:
    """Regular files under *roots* changed since *since* whose bytes hold *secret* (UTF-8,
    or UTF-16LE as unicodePwd carries it). Older files cannot hold a password made later."""
    needles = (secret.encode(), secret.encode("utf-16-le"))
    candidates: set[Path] = set()
    for root in roots:
        if root.is_file():
            candidates.add(root)
        for folder, _, names in os.walk(root):
            candidates.update(Path(folder, name) for name in names)
    found = []
    for path in sorted(candidates):
        try:
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode) or info.st_mtime < since:
                continue
            data = path.read_bytes()
        except OSError:  # someone else's file went away meanwhile
            continue
        if any(needle in data for needle in needles):
            found.append(path)
    return found


def test_a_checkout_leaves_its_password_in_no_file_but_the_password_out_file(
    lab_env: Lab,
    admin_account: tuple[str, Path, dict[str, str]],
    tmp_path: Path,
    cli: Callable[..., Cli],
) -> None:
    """With keyrings.alt's plaintext keyring as the machine's default backend (as the test
    extras install it), nothing of the password lands in $HOME, the journal, the lab's
    state folder or /tmp — only in the 0600 file the holder asked for; check-in works."""
    name, playbook, env = admin_account
    home = tmp_path / "home"
    home.mkdir()
    env = {**env, "HOME": str(home), "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"}
    env.update(dict.fromkeys(("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"), ""))
    form = ticket_file(tmp_path / "ticket.yml", f"IT-{name}", name)
    password_file = tmp_path / "handed-over.txt"
    started = time.time() - 60  # generous: an older file cannot hold the new password
    out = cli("admin", "checkout", name, "--ticket", f"IT-{name}", "--reason", "scan",
              "--ticket-file", str(form), "--rules", str(REPO / "playbooks/approvals.yml"),
              "--holder", "li.wei", "--password-out", str(password_file),
              "-p", str(playbook), "-i", str(lab_env.inventory), env=env)  # fmt: skip
    assert out.code == 0, out.err + out.out
    password = handed_over(password_file)

    journal = lab_env.journal
    roots = [home, Path.home(), Path(lab_env.status.state_dir), Path("/tmp")]
    roots += list(journal.parent.glob(journal.name + "*"))  # the journal, its -wal and -shm
    holding = files_holding(password, roots, started)
    assert holding == [password_file], holding
    assert not (home / ".local/share/python_keyring").exists()

    back = cli("admin", "checkin", name, "--holder", "li.wei", "-p", str(playbook),
               "-i", str(lab_env.inventory), env=env)  # fmt: skip
    assert back.code == 0, back.err + back.out
    assert not bind(lab_env, f"{name}@GROUP.EXAMPLE.COM", password).ok


def test_drift_and_usage_output_files_are_owner_only(
    lab_env: Lab, write_playbook: Callable[..., Path], tmp_path: Path, cli: Callable[..., Cli]
) -> None:
    playbook = str(write_playbook("tasks:\n" + privileged_task()))
    inv = str(lab_env.inventory)
    drift_file, usage_file = tmp_path / "drift.json", tmp_path / "usage.json"
    drift_file.write_text("stale\n", encoding="utf-8")
    drift_file.chmod(0o644)  # an older report, world-readable: replaced, not kept
    drift = cli("drift", playbook, "-i", inv, "--format", "json", "-o", str(drift_file))
    assert drift.code == 0, drift.err + drift.out
    usage = cli("admin", "usage", "--no-collect", "--format", "json", "-p", playbook, "-i", inv,
                "-o", str(usage_file))  # fmt: skip
    assert usage.code in (0, 2), usage.err  # 2: other tests' unrecorded logons are findings
    for path in (drift_file, usage_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        json.loads(path.read_text(encoding="utf-8"))  # the whole report, not a stale one


def test_every_bind_of_an_apply_run_lease_and_witness_included_is_automation(
    lab_env: Lab,
    top: str,
    write_playbook: Callable[..., Path],
    tmp_path: Path,
    cli: Callable[..., Cli],
) -> None:
    """A writing run binds three times — its own connection, the one-writer lease's and the
    journal witness's on the PDC emulator — and journals all three endpoints, so none of
    them shows up in the usage log as a super-administrator logon nobody recorded."""
    guarded = tmp_path / "guarded.yml"
    guarded.write_text(
        lab_env.inventory.read_text(encoding="utf-8") + "journal_guard:\n  directory: group\n",
        encoding="utf-8",
    )
    journal = tmp_path / "journal.sqlite"
    env = {"ADSUITE_JOURNAL": str(journal)}
    inv = str(guarded)
    since = datetime.now(UTC).isoformat()
    ou = write_playbook(f"tasks:\n  - ou: {{path: {top}, protected: false}}\n", name="ou.yml")
    assert cli("apply", str(ou), "-i", inv, "--yes", env=env).code == 0
    with Journal.open(journal) as opened:
        (applied,) = [r for r in opened.runs() if r.mode == "apply"]
    clients = set(applied.operator["clients"].split())
    assert applied.operator["client"] in clients and len(clients) == 3, applied.operator

    usage = write_playbook("tasks:\n" + privileged_task(), name="usage.yml")
    report = cli(
        "admin", "usage", "--since", since, "--format", "json", "-p", str(usage), "-i", inv,
        env=env,
    )  # fmt: skip
    assert report.code in (0, 2), report.err
    rows = json.loads(report.out)["uses"]
    of_apply = [r for r in rows if r["remote"].removeprefix("ipv4:") in clients]
    assert {r["remote"].removeprefix("ipv4:") for r in of_apply} == clients, rows
    assert all(r["verdict"] == "automation" for r in of_apply), of_apply
    assert all(r["explanation"].endswith(f"(run {applied.id})") for r in of_apply), of_apply


def test_a_resting_account_enabled_by_hand_is_drift_until_apply_disables_it(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    tmp_path: Path,
    cli: Callable[..., Cli],
) -> None:
    """五.6: a break-glass account rests disabled. Enabled by hand (samba-tool) with no
    check-out in the journal it is drift naming it; apply disables it; while it is
    checked out it is not drift."""
    name, inv = f"{top}-rest", str(lab_env.inventory)
    tasks = (  # the user kind leaves the account's state alone: only at_rest speaks
        "tasks:\n"
        f"  - ou: {{path: {top}, protected: false}}\n"
        f"  - user: {{name: {name}, ou: {top}, password: {{generate: true}}, enabled: ENABLED}}\n"
        + privileged_task(f"{{{name}: {{at_rest: disabled}}}}", f", {name}")
        + "      checkout: {approved_ticket: false}\n"
    )
    made = write_playbook(tasks.replace("ENABLED", "false"), "made.yml")
    playbook = write_playbook(tasks.replace("ENABLED", "null"))
    created = cli("apply", str(made), "-i", inv, "--yes")
    assert created.code == 0, created.err + created.out
    dn = f"CN={name},OU={top},{BASE}"
    try:
        assert cli("drift", str(playbook), "-i", inv).code == 0  # created disabled: at rest
        status = lab_env.status  # by hand, on the DC's own database: not through adsuite
        sam, conf = str(status.state_dir / "private" / "sam.ldb"), str(status.smb_conf)
        enable = ["samba-tool", "user", "enable", name, "-H", sam, "-s", conf]
        done = subprocess.run(enable, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert not _disabled(directory, dn)

        drifted = cli("drift", str(playbook), "-i", inv)
        assert drifted.code == 2, drifted.err + drifted.out
        words = f"{name} is enabled but not checked out (at_rest: disabled, 五.6)"
        assert words in drifted.out and dn in drifted.out

        repaired = cli("apply", str(playbook), "-i", inv, "--yes")
        assert repaired.code == 0, repaired.err + repaired.out
        assert f"{name}: enabled → disabled" in repaired.out
        assert _disabled(directory, dn)
        assert cli("drift", str(playbook), "-i", inv).code == 0

        common = ["-p", str(playbook), "-i", inv, "--holder", "zhao.min"]
        out = tmp_path / "rest.txt"
        taken = cli("admin", "checkout", name, "--ticket", "REF-9", "--reason", "DR",
                    *common, "--password-out", str(out))  # fmt: skip
        assert taken.code == 0 and not _disabled(directory, dn), taken.err
        held = cli("drift", str(playbook), "-i", inv)
        assert held.code == 0 and words not in held.out, held.out  # checked out: in use
        assert cli("admin", "checkin", name, *common).code == 0
    finally:
        directory.delete(dn)
