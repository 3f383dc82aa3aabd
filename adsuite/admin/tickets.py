"""The check-out's ticket against the approval rules: approvals.yml's ``admin_checkout``.

:func:`check` is the one hook between a check-out and the ticket framework. With
``checkout.approved_ticket: true`` in the playbook the ticket file (``--ticket-file``)
must pass the ``admin_checkout`` rule (the IT head's approval, 五.6) — bound to the
IT head the playbook names, if it names one — and must be the ticket ``--ticket``
names, asked for by the holder, for this account. Without it ``--ticket ID`` is
journaled as a reference only. A ticket serves one check-out.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adsuite.errors import InputError
from adsuite.journal.records import RunRecord
from adsuite.tickets import registry
from adsuite.tickets.model import read_ticket
from adsuite.tickets.rules import Binding, check_ticket, load_rules

if TYPE_CHECKING:
    from adsuite.admin.checkout import CheckoutRequest
    from adsuite.admin.policy import AdminPolicy

log = logging.getLogger(__name__)

TICKET_TYPE = "admin_checkout"
DEFAULT_RULES = "playbooks/approvals.yml"


def check(policy: AdminPolicy, request: CheckoutRequest, now: datetime) -> dict[str, Any]:
    """The ticket as journaled with the check-out; one InputError if it does not pass."""
    if request.ticket_file is None:
        if policy.spec.checkout.approved_ticket:
            raise InputError(
                f"checking out needs the approved ticket file (--ticket-file): the playbook "
                f"asks for an {TICKET_TYPE} ticket approved by the IT head (五.6)",
                file=policy.location.file,
                line=policy.location.line,
            )
        return {"id": request.ticket, "checked": False}
    rules = load_rules(_rules_path(request.rules), registry.known())
    ticket = read_ticket(request.ticket_file)
    t = ticket.ticket
    if t.type != TICKET_TYPE:
        raise ticket.error(("type",), f"a check-out needs an {TICKET_TYPE} ticket, not {t.type}")
    if t.id != request.ticket:
        raise ticket.error(("id",), f"ticket {t.id} is not --ticket {request.ticket}")
    if t.requester.casefold() != request.holder.casefold():
        raise ticket.error(("requester",), f"asked for by {t.requester}, not by {request.holder}")
    account = str(t.parameters.get("account", ""))
    if account.lower() != request.account.lower():
        raise ticket.error(
            ("parameters", "account"), f"approves account {account!r}, not {request.account}"
        )
    it_head = policy.spec.checkout.it_head
    bindings = (
        {"it_head": Binding(frozenset({it_head.casefold()}), f"the IT head, {it_head}")}
        if it_head
        else {}
    )
    satisfied = check_ticket(ticket, rules, now=now, bindings=bindings)
    return {
        **ticket.record(),
        "checked": True,
        "rules": {"file": rules.file, "sha256": rules.sha256},
        "satisfied": [s.record() for s in satisfied],
    }


def unused(runs: Sequence[RunRecord], ticket_id: str) -> None:
    """A ticket approves one check-out, not every later one."""
    for run in runs:
        if run.mode == "checkout" and run.ticket == ticket_id and run.status == "ok":
            raise InputError(
                f"ticket {ticket_id} already served a check-out (journal run {run.id}); "
                "each use needs its own approval"
            )


def _rules_path(given: Path | None) -> Path:
    if given is not None:
        return given
    return Path(os.environ.get("ADSUITE_APPROVALS") or DEFAULT_RULES)
