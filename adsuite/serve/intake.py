"""Whether a mapped ticket document may be queued: its form, its type and its domain.

Only what needs neither the directory nor the journal is checked here; the ticket
framework's offline check (parameters, approvals against the rules, carried out
before) follows in :class:`~adsuite.serve.app.App` through a
:class:`~adsuite.serve.contract.TicketCheck`. A bad request is answered at once with
a 422 and nothing is queued. Only the directory facts are left to the runner (a
refusal then is the run's status, with the reason).
"""

from __future__ import annotations

import difflib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adsuite.errors import InputError
from adsuite.serve.contract import Refused, TicketTypes
from adsuite.tickets.model import parse_ticket

log = logging.getLogger(__name__)

DomainOf = Callable[[str | None], str]  # a ticket's domain (or None) -> inventory domain key


@dataclass(frozen=True)
class Admission:
    """A ticket fit to queue: the document as the runner will read it, and its lane."""

    ticket_id: str
    type: str
    domain: str
    source: str  # native | jira | servicenow
    document: Mapping[str, Any]


def admit(
    document: Mapping[str, Any], source: str, types: TicketTypes, domain_of: DomainOf
) -> Admission:
    """Check *document*; raise :class:`Refused` (422) with a one-line reason."""
    text = json.dumps(document, ensure_ascii=False, indent=1)
    try:
        ticket = parse_ticket(text, "ticket", as_json=True).ticket
    except InputError as exc:
        raise Refused(422, exc.message) from None
    _check_type(ticket.type, types)
    try:
        domain = domain_of(ticket.domain)
    except InputError as exc:
        raise Refused(422, exc.message) from None
    return Admission(ticket.id, ticket.type, domain, source, document)


def _check_type(name: str, types: TicketTypes) -> None:
    if name in types.accepted:
        return
    if name in types.unavailable:
        raise Refused(422, f"ticket type '{name}': {types.unavailable[name]}")
    accepted = sorted(types.accepted)
    close = difflib.get_close_matches(name, accepted, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"accepted here: {', '.join(accepted)}"
    raise Refused(422, f"unknown ticket type '{name}' ({hint})")
