"""Least privilege: say so when adsuite binds as one of the domain's all-powerful accounts.

adsuite needs only the rights docs/service-account.md lists (playbooks/service-account.yml
creates such an account). A production inventory that binds as the built-in
Administrator (objectSid ending -500) or as a member of Domain Admins or Enterprise
Admins (nested groups too: the account's tokenGroups) gets a one-line warning — not an
error: bootstrapping the service account, and the few kinds that need Domain Admin, bind
that way on purpose. An inventory marked ``lab: true`` is not warned.
"""

from __future__ import annotations

import logging

from adsuite.connectors.ldap import Directory
from adsuite.errors import AdsuiteError
from adsuite.formats.ldap_query import Entry, Query, or_filter
from adsuite.formats.sid import sid_from_bytes

log = logging.getLogger(__name__)

RID_ADMINISTRATOR = 500
ALL_POWERFUL_GROUPS = {512: "Domain Admins", 519: "Enterprise Admins"}


def over_privileged(directory: Directory, base_dn: str, realm: str) -> str | None:
    """The warning for the account *directory* is bound as, or None when it is not
    all-powerful (or cannot be looked up: a check never stops a run)."""
    try:
        account = _bound_account(directory, base_dn, realm)
        if account is None:
            return None
        token = directory.read(account.dn, ["tokenGroups"])
    except AdsuiteError as error:
        log.info("cannot check the rights of %s: %s", directory.endpoint.username, error)
        return None
    who = directory.endpoint.username
    raw_sid = account.raw("objectSid")
    if raw_sid and _rid(sid_from_bytes(raw_sid[0])) == RID_ADMINISTRATOR:
        return _warning(f"{who}, the built-in Administrator (RID 500)")
    groups = {_rid(sid_from_bytes(v)) for v in token.raw("tokenGroups")} if token else set()
    held = [name for rid, name in ALL_POWERFUL_GROUPS.items() if rid in groups]
    if held:
        return _warning(f"{who}, a member of {' and '.join(held)}")
    return None


def _warning(what: str) -> str:
    return (
        f"adsuite binds as {what}; bind as a service account with only the rights "
        "it needs (docs/service-account.md)"
    )


def _rid(sid: str) -> int:
    return int(sid.rsplit("-", 1)[-1])


def _bound_account(directory: Directory, base_dn: str, realm: str) -> Entry | None:
    """The account of the bind name: a DN, DOMAIN\\name, name@REALM (UPN) or name."""
    name = directory.endpoint.username
    if "=" in name:
        return directory.read(name, ["objectSid"])
    user = name.rsplit("\\", 1)[-1]
    plain, _, domain = user.partition("@")
    filters = [or_filter("userPrincipalName", [user])] if domain else []
    if not domain or domain.lower() == realm.lower():
        filters.append(or_filter("sAMAccountName", [plain]))
    found = {
        e.dn.lower(): e
        for f in filters
        for e in directory.search(Query(base_dn, f, ("objectSid",)))
    }
    return next(iter(found.values())) if len(found) == 1 else None
