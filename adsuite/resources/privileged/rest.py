"""``privileged``: a super-administrator account declared ``at_rest: disabled`` (五.6).

Such an account (a break-glass account) is enabled only while it is checked out
(``adsuite admin checkout``; the check-in disables it again). Enabled while the journal
shows no check-out of it, it is drift naming the account and the clause, and apply
disables it: the declared resting state is the repair, and nobody holds it. While it is
checked out it is not drift. The account adsuite binds with is never disabled by
adsuite (that would lock the run out mid-way): it is a drift finding apply cannot fix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adsuite.formats.ldap_query import Entry, Query, or_filter
from adsuite.resources.base import Action, Change, Desired, Expect, LdapWrite, Notice
from adsuite.resources.privileged.spec import CLAUSE, Spec

ACCOUNTDISABLE = 0x2
ATTRIBUTES = ("sAMAccountName", "userAccountControl", "objectGUID")
MARK = "at_rest"  # the key a resting-state change carries in before/after


@dataclass(frozen=True)
class RestingRead:
    """Request: the accounts declared ``at_rest: disabled`` and which are checked out."""

    base_dn: str
    accounts: tuple[str, ...]  # lower-case sAMAccountNames


@dataclass(frozen=True)
class Resting:
    """The answer to :class:`RestingRead`."""

    entries: Mapping[str, Entry] = field(default_factory=dict)  # lower name -> the account
    checked_out: Mapping[str, str] = field(default_factory=dict)  # lower name -> check-out run


def resting_disabled(spec: Spec) -> dict[str, str]:
    """Lower-case name -> declared spelling, of the accounts that rest disabled."""
    return {name.lower(): name for name, a in spec.accounts.items() if a.at_rest == "disabled"}


def request(spec: Spec, base_dn: str) -> RestingRead | None:
    names = resting_disabled(spec)
    return RestingRead(base_dn, tuple(sorted(names))) if names else None


def accounts_query(request: RestingRead) -> Query:
    """The accounts of *request* by sAMAccountName, in one search."""
    extra = "(objectClass=user)"
    return Query(
        request.base_dn, or_filter("sAMAccountName", request.accounts, extra=extra), ATTRIBUTES
    )


def enabled_at_rest(
    item: Desired, spec: Spec, found: Resting, binds_as: Callable[[str, str], bool]
) -> tuple[list[Change], list[Notice]]:
    """Changes disabling the accounts enabled while not checked out; a notice for the
    one adsuite binds as (``binds_as(name, dn)``)."""
    changes: list[Change] = []
    notices: list[Notice] = []
    for lower, name in sorted(resting_disabled(spec).items()):
        entry = found.entries.get(lower)
        uac = entry.integer("userAccountControl") if entry is not None else None
        if entry is None or uac is None or uac & ACCOUNTDISABLE or lower in found.checked_out:
            continue
        if binds_as(name, entry.dn):
            text = (
                f"{_words(name)}; adsuite binds as it, so apply does not disable it: bind as "
                "the service account"
            )
            notices.append(Notice("privileged", entry.dn, text, item.location))
            continue
        changes.append(_disable(item, name, entry, uac))
    return changes, notices


def _disable(item: Desired, name: str, entry: Entry, uac: int) -> Change:
    value = str(uac | ACCOUNTDISABLE)
    write = LdapWrite("modify", entry.dn, changes={"userAccountControl": ("replace", [value])})
    expect = Expect(
        True,
        raw={
            "userAccountControl": entry.raw("userAccountControl"),
            "objectGUID": entry.raw("objectGUID"),
        },
    )
    before = {MARK: "disabled", "account": name, "enabled": True}
    after = {MARK: "disabled", "account": name, "enabled": False}
    return Change(
        "privileged", Action.UPDATE, entry.dn, before, after, item.location, (write,), expect
    )


def _words(name: str) -> str:
    return f"{name} is enabled but not checked out (at_rest: disabled, {CLAUSE})"


def describe(change: Change, *, drift: bool) -> list[str] | None:
    """The change in words, or None if it is not a resting-state change."""
    after: Mapping[str, Any] = change.after or {}
    if MARK not in after:
        return None
    name = str(after.get("account"))
    if drift:
        return [_words(name)]
    return [f"{name}: enabled → disabled (at_rest: disabled; not checked out, {CLAUSE})"]
