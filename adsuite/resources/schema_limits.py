"""The AD schema's length limits (``rangeUpper``) for the attributes adsuite writes.

A value over its attribute's rangeUpper plans fine and fails at the DC
(``invalidAttributeSyntax``), after other writes of the same run went through. These
limits are checked when the playbook loads instead. The table is AD's (and Samba's)
schema as shipped; tests/integration/test_input_refusals.py compares it with the lab
DC's ``CN=Schema`` so that it cannot go stale.
"""

from __future__ import annotations

RANGE_UPPER: dict[str, int] = {
    "company": 64,
    "department": 64,
    "description": 1024,
    "displayName": 256,
    "employeeID": 16,
    "givenName": 64,
    "info": 1024,
    "location": 1024,
    "mail": 256,
    "ou": 64,
    "cn": 64,
    "physicalDeliveryOfficeName": 128,
    "sAMAccountName": 256,
    "sn": 64,
    "telephoneNumber": 64,
    "title": 128,
    "userPrincipalName": 1024,
}


def too_long(field: str, ldap: str, value: object) -> str | None:
    """Why ``value`` for ``ldap`` is too long for the schema, or None."""
    limit = RANGE_UPPER.get(ldap)
    if limit is None or not isinstance(value, str) or len(value) <= limit:
        return None
    return f"'{field}' is {len(value)} characters; the AD schema allows {limit} ({ldap})"
