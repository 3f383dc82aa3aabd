"""Check a super-administrator account out to an allow-listed holder, and back in (五.6).

Check-out: the holder must be on the playbook's allow-list; the ticket (with the IT
head's approval, per approvals.yml ``admin_checkout``) and the reason are journaled;
a fresh random password is set and the account is enabled. The password is handed back
to the caller, who hands it over the way a ticket's password is (a new 0600
``--password-out`` file, or once on a terminal): it is stored nowhere — no keyring, no
journal, no state file. Check-in sets another random password that nobody is told —
twice, because a DC keeps accepting the previous password over NTLM (an LDAP simple
bind included) for an hour ("old password allowed period"), so only then does the
checked-out one stop working — and restores the account's resting state. Both are runs
in the journal (modes ``checkout`` and ``checkin``) with their changes' before and
after — never the password.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adsuite.admin import tickets as ticketlib
from adsuite.admin.policy import AdminPolicy
from adsuite.admin.windows import CHECKIN, CHECKOUT, latest_checkout_state
from adsuite.connectors.credentials import Secret
from adsuite.engine.planner import Plan
from adsuite.engine.session import ApplyResult
from adsuite.errors import InputError
from adsuite.formats.ldap_query import Entry, Query, or_filter
from adsuite.journal.store import Journal
from adsuite.resources.accounts.password_reset import PasswordWrite
from adsuite.resources.base import Action, Change, Expect, LdapWrite, SecretRef
from adsuite.resources.directory.io import generate_password
from adsuite.resources.privileged.facts import ACCOUNTDISABLE
from adsuite.runtime.connections import Connections

log = logging.getLogger(__name__)

ATTRIBUTES = ("sAMAccountName", "objectGUID", "userAccountControl", "lockoutTime")
RESOURCE = "admin_account"
GENERATED = "checkout-generated"  # the name the new password is looked up by, in memory only
HANDED_OVER = "(new, handed to the holder once, stored nowhere)"


@dataclass(frozen=True)
class CheckoutRequest:
    account: str
    holder: str
    ticket: str
    reason: str
    ticket_file: Path | None = None
    rules: Path | None = None


@dataclass(frozen=True)
class CheckedOut:
    result: ApplyResult
    account: str
    secret: Secret  # for the caller to hand over once; never logged or stored


def checkout(
    policy: AdminPolicy,
    conn: Connections,
    request: CheckoutRequest,
    keep: Callable[[str, Secret], None] | None = None,
) -> CheckedOut:
    """Check *request.account* out; everything is checked before anything changes.

    *keep* receives the new password before the change that sets it (the holder's 0600
    file, synced), so a run killed half-way never sets a password nobody has."""
    name, _ = policy.account(request.account)
    policy.check_holder(request.holder)
    if not request.reason.strip():
        raise InputError("--reason must say why a personal account cannot do it (五.6)")
    ticket = ticketlib.check(policy, request, datetime.now(UTC))
    with Journal.open(policy.session.journal_path) as journal:
        runs = journal.runs()
    held = latest_checkout_state(runs, name)
    if held is not None:
        raise InputError(
            f"{name} is already checked out to {held.extra.get('holder')} since {held.started} "
            f"(journal run {held.id}); check it in first"
        )
    ticketlib.unused(runs, request.ticket)
    entry = _read_account(conn, policy, name)
    secret = generate_password()
    if keep is not None:
        keep(name, secret)
    change = _change(policy, entry, HANDED_OVER, enable=True, generate=False)
    extra = {
        "account": name,
        "holder": request.holder,
        "reason": request.reason,
        "ticket": ticket,
    }
    result = _apply(policy, conn, change, CHECKOUT, request.ticket, extra, {GENERATED: secret})
    return CheckedOut(result, name, secret)


def checkin(policy: AdminPolicy, conn: Connections, account_name: str, holder: str) -> ApplyResult:
    """Rotate the password to one nobody knows and restore the resting state."""
    name, account = policy.account(account_name)
    policy.check_holder(holder)
    with Journal.open(policy.session.journal_path) as journal:
        held = latest_checkout_state(journal.runs(), name)
    if held is None:
        raise InputError(f"{name} is not checked out")
    entry = _read_account(conn, policy, name)
    enabled = account.at_rest == "enabled"
    change = _change(policy, entry, "(new, random, kept nowhere)", enable=enabled, generate=True)
    extra = {"account": name, "holder": holder, "checkout_run": held.id}
    return _apply(policy, conn, change, CHECKIN, held.ticket, extra, {})


def _read_account(conn: Connections, policy: AdminPolicy, name: str) -> Entry:
    base = policy.session.domain.base_dn
    query = Query(base, or_filter("sAMAccountName", [name], extra="(objectClass=user)"), ATTRIBUTES)
    found = list(conn.ldap.search(query))
    if not found:
        raise InputError(f"no user named {name!r} in the domain", file=policy.location.file)
    return found[0]


def _change(
    policy: AdminPolicy,
    entry: Entry,
    password: str,
    *,
    enable: bool,
    generate: bool,
) -> Change:
    uac = entry.integer("userAccountControl") or 0
    locked = (entry.integer("lockoutTime") or 0) > 0
    ref = SecretRef(None, True) if generate else SecretRef(GENERATED)
    writes: list[Any] = [PasswordWrite(entry.dn, ref, must_change=False, unlock=locked)]
    if generate:  # twice: for an hour a DC still accepts the previous password over NTLM
        writes.append(PasswordWrite(entry.dn, ref, must_change=False, unlock=False))
    was_enabled = not uac & ACCOUNTDISABLE
    before: dict[str, Any] = {"password": "(current, never shown)", "enabled": was_enabled}
    after: dict[str, Any] = {"password": password, "enabled": enable}
    if enable != was_enabled:
        value = uac & ~ACCOUNTDISABLE if enable else uac | ACCOUNTDISABLE
        changes = {"userAccountControl": ("replace", [str(value)])}
        writes.append(LdapWrite("modify", entry.dn, changes=changes))
    if locked:
        before["locked"], after["locked"] = True, False
    expect = Expect(
        True,
        raw={
            "objectGUID": entry.raw("objectGUID"),
            "userAccountControl": entry.raw("userAccountControl"),
        },
    )
    return Change(
        RESOURCE, Action.UPDATE, entry.dn, before, after, policy.location, tuple(writes), expect
    )


def _apply(
    policy: AdminPolicy,
    conn: Connections,
    change: Change,
    mode: str,
    ticket: str | None,
    extra: dict[str, Any],
    generated: dict[str, Secret],
) -> ApplyResult:
    session = policy.session
    lookup: Callable[[str], Secret] = lambda name: generated.get(name) or conn.secret(name)  # noqa: E731
    with_secret = Connections(conn.ldap, conn.inventory, lookup, lease=conn.lease, login=conn.login)
    plan = Plan(session.domain_key, session.domain.base_dn, (change,), 1, 1)
    result = session.apply(plan, with_secret, ticket=ticket, extra=extra, mode=mode)
    log.info("%s of %s: %s (run %s)", mode, extra.get("account"), result.status, result.run_id)
    return result
