"""The approval rules as the compliance report shows them: each ticket type's rule in
words, and whether adsuite carries out tickets of that type yet.

The engine's compliance report knows nothing of the ticket framework; this reads the
approvals file with the same loader every ticket goes through and hands the report
plain :class:`~adsuite.compliance.report.TicketRule` records.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from adsuite.compliance.report import TicketRule, TicketRules
from adsuite.errors import InputError
from adsuite.tickets import registry
from adsuite.tickets.rules import TypeRule, load_rules

log = logging.getLogger(__name__)


def needs_words(rule: TypeRule) -> str:
    """What a ticket of this type must carry: ``department_head and general_manager``."""
    approvals = " and ".join(" or ".join(roles) for roles in rule.requirements())
    parts = [f"approved by {approvals}"] if approvals else []
    if rule.confirmations:
        parts.append(f"confirmations: {', '.join(rule.confirmations)}")
    return "; ".join(parts) or "nothing beyond the rules every ticket follows"


TICKET_COMMANDS = "adsuite ticket apply (and adsuite serve)"


def ticket_rules(path: Path, elsewhere: Mapping[str, str] | None = None) -> TicketRules:
    """The rules of *path*; a file that does not load gives rules with its one-line error.

    *elsewhere*: ticket types another command carries out (``admin_checkout``: ``adsuite
    admin checkout``), beside those the ticket framework implements.
    """
    others = dict(elsewhere or {})
    known = frozenset(registry.known())
    try:
        loaded = load_rules(path, sorted(known))
    except InputError as error:
        log.warning("compliance: approval rules: %s", error)
        return TicketRules(str(path), {}, known, str(error))
    rules = {
        name: TicketRule(
            name,
            rule.clause,
            rule.rule,
            needs_words(rule),
            TICKET_COMMANDS if name in registry.IMPLEMENTED else others.get(name),
        )
        for name, rule in loaded.rules.types.items()
    }
    return TicketRules(str(path), rules, known)
