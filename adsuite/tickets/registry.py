"""Every ticket type adsuite carries out, and those the approval rules may already name.

A type is added by writing its module (see adsuite/tickets/new_employee.py) and
listing it in IMPLEMENTED; a type whose rule exists before its code is listed in
PLANNED, so the rules file can cover every type the regulations name.
"""

from __future__ import annotations

from adsuite.tickets import (
    elevation,
    leaver,
    new_employee,
    password_reset,
    permission_change,
    personal_device,
    transfer,
)
from adsuite.tickets.base import TicketType

IMPLEMENTED: dict[str, TicketType] = {
    t.name: t
    for t in (
        new_employee.TYPE,
        transfer.TYPE,
        leaver.TYPE,
        password_reset.TYPE,
        personal_device.TYPE,
        permission_change.TYPE,
        elevation.TYPE,
        elevation.REVOKE,
    )
}
PLANNED: tuple[str, ...] = (
    "admin_checkout",  # 五.6: check-out of a super-administrator account
)


def known() -> list[str]:
    """Ticket types the approval rules may name."""
    return [*IMPLEMENTED, *(p for p in PLANNED if p not in IMPLEMENTED)]
