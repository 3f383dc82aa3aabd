"""``password_policy``: the domain-wide password and lockout settings on the domain object.

    - password_policy:
        min_length: 8             # minPwdLength
        history: 5                # pwdHistoryLength
        complexity: true          # pwdProperties bit DOMAIN_PASSWORD_COMPLEX (1)
        reversible_encryption: false   # bit DOMAIN_PASSWORD_STORE_CLEARTEXT (16)
        min_age: 1                # minPwdAge, days
        max_age: 180              # maxPwdAge, days or never
        lockout_threshold: 5      # lockoutThreshold, bad attempts (0: never locks out)
        lockout_window: 30        # lockOutObservationWindow, minutes
        lockout_duration: 30      # lockoutDuration, minutes or never

A setting left out is not managed; the other pwdProperties bits are kept as they are.
The fields, units and the regulation floor are in
:mod:`adsuite.resources.password.settings`. On a Windows DC the Default Domain Policy
GPO ([System Access] in GptTmpl.inf) overwrites these attributes, so it must agree.
A rollback puts back the settings a run changed, never below the floor by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from adsuite.formats.ldap_query import Entry, Query
from adsuite.resources.base import (
    Action,
    Change,
    Desired,
    Expect,
    Kind,
    LdapWrite,
    PlanContext,
    attribute_diff,
    first_error,
)
from adsuite.resources.password import settings as pw

log = logging.getLogger(__name__)

NAME = "password_policy"
ORDER = 60
LDAP_NAMES = {
    "min_length": "minPwdLength",
    "history": "pwdHistoryLength",
    "min_age": "minPwdAge",
    "max_age": "maxPwdAge",
    "lockout_threshold": "lockoutThreshold",
    "lockout_window": "lockOutObservationWindow",
    "lockout_duration": "lockoutDuration",
}
PROPERTIES = "pwdProperties"
BITS = {"complexity": 0x1, "reversible_encryption": 0x10}  # [MS-SAMR] 2.2.3.16


class Spec(pw.Settings):
    pass


def _spec(item: Desired) -> Spec:
    assert isinstance(item.spec, Spec)
    return item.spec


def domain_object(ctx: PlanContext) -> Query:
    return Query(ctx.base_dn, "(objectClass=*)", (*LDAP_NAMES.values(), PROPERTIES), "base")


def queries(desired: Sequence[Desired], ctx: PlanContext) -> list[Query]:
    return [domain_object(ctx)]


def declares(desired: Sequence[Desired], ctx: PlanContext) -> dict[str, str]:
    return {}


def references(desired: Sequence[Desired]) -> set[str]:
    return set()


def identity(spec: Spec) -> str:
    return "domain"  # one policy per domain: a second task is an error


def view(entry: Entry) -> dict[str, Any]:
    """The domain's settings in the words a playbook uses."""
    properties = entry.integer(PROPERTIES) or 0
    flags = {flag: bool(properties & bit) for flag, bit in BITS.items()}
    return {**pw.observed_numbers(entry, LDAP_NAMES), **flags}


def plan(desired: Sequence[Desired], ctx: PlanContext) -> list[Change]:
    found = list(ctx.entries(domain_object(ctx)))
    changes: list[Change] = []
    for item in desired:
        if not found:
            raise first_error(item, f"cannot read the domain object {ctx.base_dn}")
        change = _update(item, found[0])
        if change is not None:
            changes.append(change)
    return changes


def _update(item: Desired, entry: Entry) -> Change | None:
    spec = _spec(item)
    before, after = attribute_diff(view(entry), pw.wanted(spec))
    if not after:
        return None
    changes: dict[str, tuple[str, list[Any]]] = {
        LDAP_NAMES[f]: ("replace", [pw.number_text(spec, f)]) for f in after if f in LDAP_NAMES
    }
    rewritten = [LDAP_NAMES[f] for f in after if f in LDAP_NAMES]
    if any(flag in after for flag in BITS):
        changes[PROPERTIES] = ("replace", [str(_properties(entry, spec))])
        rewritten.append(PROPERTIES)
    expect = Expect(True, raw={name: entry.raw(name) for name in rewritten})
    write = LdapWrite("modify", entry.dn, changes=changes)
    return Change(
        NAME,
        Action.UPDATE,
        entry.dn,
        before,
        pw.with_override(spec, after),
        item.location,
        (write,),
        expect,
    )


def _properties(entry: Entry, spec: Spec) -> int:
    """pwdProperties with the managed bits as declared and every other bit kept."""
    value = entry.integer(PROPERTIES) or 0
    for flag, bit in BITS.items():
        wanted = getattr(spec, flag)
        if wanted is not None:
            value = value | bit if wanted else value & ~bit
    return value


def replay(
    target: str, before: Mapping[str, Any], after: Mapping[str, Any], *, undo: bool
) -> list[dict[str, Any]]:
    """Spec arguments that undo a journaled change (the settings as *before* shows them)
    or redo it (as *after* does), for rollback.

    The journal keeps each setting the change wrote, in the words plans use, so they
    read back exactly. Undoing into settings below the 二.2.c floor is refused: the
    before-image has no written reason (see :func:`password_settings.restored`).
    """
    shown = before if undo else after
    values = {f: pw.declared(f, shown[f]) for f in pw.FIELDS if f in shown}
    reason = None if undo else shown.get("floor_override")
    return [pw.validated(Spec, pw.restored(values, reason, undo=undo))]


KIND = Kind(
    name=NAME,
    order=ORDER,
    spec=Spec,
    queries=queries,
    declares=declares,
    references=references,
    plan=plan,
    identity=identity,
    replay=replay,
    recallable=True,
)
