"""``pso``: fine-grained password settings objects (msDS-PasswordSettings).

    - pso:
        name: IT-Admins-Strict      # CN under CN=Password Settings Container,CN=System
        precedence: 10              # lower wins when several PSOs apply to a user
        description: stricter passwords for IT administrators
        min_length: 12
        history: 24
        complexity: true
        reversible_encryption: false
        min_age: 1                  # days
        max_age: 90                 # days, or never
        lockout_threshold: 5
        lockout_window: 30          # minutes
        lockout_duration: 30        # minutes, or never
        applies_to: [HQ-IT-Admins]  # groups or users, by name or DN (msDS-PSOAppliesTo)
        applies_to_mode: exact      # exact (default) | add | remove

Every password and lockout setting must be given (the class requires them all, and
drift is checked on each); the units and the regulation floor are those of
:mod:`adsuite.resources.password_settings`. ``applies_to`` is the PSO's own setting,
not a group's membership, so ``exact`` is the default here: a group added to the PSO
by hand is drift. ``add`` and ``remove`` touch only the names given. Plans and drift
name each group or user in words: ``applies to CN=HQ-IT-Admins,...: false → true``.
A group the same run creates is added once it exists (a second, phase-1 change).
``state: absent`` deletes the PSO. An update keeps the whole PSO as it was in its
before-image (``image``, not shown in plans), so that a rollback can declare it again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry, Query
from adsuite.resources import password_settings as pw
from adsuite.resources.base import (
    Action,
    Change,
    Desired,
    Expect,
    Kind,
    LdapWrite,
    PlanContext,
    attribute_diff,
)

log = logging.getLogger(__name__)

NAME = "pso"
ORDER = 62
CONTAINER = "CN=Password Settings Container,CN=System"
APPLIES_TO = "msDS-PSOAppliesTo"
LINK_WORDS = "applies to "  # a plan's key for one group or user the PSO applies to
IMAGE = "image"  # in an update's before: the whole PSO as it was (not shown in plans)
LDAP_NAMES = {
    "min_length": "msDS-MinimumPasswordLength",
    "history": "msDS-PasswordHistoryLength",
    "min_age": "msDS-MinimumPasswordAge",
    "max_age": "msDS-MaximumPasswordAge",
    "lockout_threshold": "msDS-LockoutThreshold",
    "lockout_window": "msDS-LockoutObservationWindow",
    "lockout_duration": "msDS-LockoutDuration",
    "complexity": "msDS-PasswordComplexityEnabled",
    "reversible_encryption": "msDS-PasswordReversibleEncryptionEnabled",
    "precedence": "msDS-PasswordSettingsPrecedence",
    "description": "description",
}


class Spec(pw.Settings):
    name: str
    precedence: Annotated[int, Field(ge=1)] | None = None
    description: str | None = None
    applies_to: list[str] = Field(default_factory=list)
    applies_to_mode: Literal["exact", "add", "remove"] = "exact"
    state: Literal["present", "absent"] = "present"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip() or value != value.strip() or len(value) > dnlib.MAX_RDN_VALUE:
            raise ValueError(f"bad PSO name {value!r}: empty, padded or over 64 characters")
        return value

    @model_validator(mode="after")
    def _complete(self) -> Spec:
        if self.state == "absent":
            return self
        missing = [f for f in (*pw.FIELDS, "precedence") if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a pso declares every setting; missing: {', '.join(missing)}")
        return self


def _spec(item: Desired) -> Spec:
    assert isinstance(item.spec, Spec)
    return item.spec


def container(ctx: PlanContext) -> str:
    return f"{CONTAINER},{ctx.base_dn}"


def all_psos(ctx: PlanContext) -> Query:
    names = (*LDAP_NAMES.values(), APPLIES_TO, "objectGUID")
    return Query(container(ctx), "(objectClass=msDS-PasswordSettings)", names, "one")


def queries(desired: Sequence[Desired], ctx: PlanContext) -> list[Query]:
    return [all_psos(ctx)]


def declares(desired: Sequence[Desired], ctx: PlanContext) -> dict[str, str]:
    return {}


def references(desired: Sequence[Desired]) -> set[str]:
    return {name for d in desired for name in _spec(d).applies_to if not dnlib.looks_like_dn(name)}


def identity(spec: Spec) -> str:
    return spec.name.lower()


def view(entry: Entry) -> dict[str, Any]:
    """The PSO as a playbook says it."""
    flags = {flag: entry.text(LDAP_NAMES[flag]) == "TRUE" for flag in pw.FLAGS}
    return {
        **pw.observed_numbers(entry, LDAP_NAMES),
        **flags,
        "precedence": entry.integer(LDAP_NAMES["precedence"]),
        "description": entry.text("description"),
        "applies_to": sorted(dnlib.normalize(dn) for dn in entry.texts(APPLIES_TO)),
    }


def plan(desired: Sequence[Desired], ctx: PlanContext) -> list[Change]:
    found = {dnlib.key(e.dn): e for e in ctx.entries(all_psos(ctx))}
    changes: list[Change] = []
    for item in desired:
        dn = dnlib.join([("CN", _spec(item).name), *dnlib.split(container(ctx))])
        entry = found.get(dnlib.key(dn))
        if _spec(item).state == "absent":
            changes += _delete(item, entry)
        elif entry is None:
            changes += _create(item, dn, ctx)
        else:
            changes += _update(item, entry, ctx)
    return changes


def _want(spec: Spec) -> dict[str, Any]:
    return {"precedence": spec.precedence, "description": spec.description, **pw.wanted(spec)}


def _ldap_values(spec: Spec, field: str) -> list[str]:
    value = getattr(spec, field)
    if field in pw.FLAGS:
        return ["TRUE" if value else "FALSE"]
    if field in ("precedence", "description"):
        return [str(value)] if value not in (None, "") else []
    return [pw.number_text(spec, field)]


def _applies_to(
    item: Desired, current: Sequence[str], ctx: PlanContext
) -> tuple[list[str], list[str]]:
    """(to add, to remove) for the PSO's applies-to list, by the task's mode."""
    spec = _spec(item)
    now = {dnlib.key(dn) for dn in current}
    named = {dnlib.key(dn): dn for dn in (ctx.resolve(n, item) for n in spec.applies_to)}
    if spec.applies_to_mode == "remove":
        return [], sorted(dn for dn in current if dnlib.key(dn) in named)
    to_add = sorted(dn for key, dn in named.items() if key not in now)
    if spec.applies_to_mode == "add":
        return to_add, []
    return to_add, sorted(dn for dn in current if dnlib.key(dn) not in named)


def applies_to_words(dns: Sequence[str], applies: bool) -> dict[str, bool]:
    """Plans say "applies to CN=...: false → true", one line per group or user."""
    return {f"{LINK_WORDS}{dn}": applies for dn in dns}


def _create(item: Desired, dn: str, ctx: PlanContext) -> list[Change]:
    spec = _spec(item)
    to_add, _ = _applies_to(item, [], ctx)
    now = [d for d in to_add if ctx.exists(d)]
    later = [d for d in to_add if not ctx.exists(d)]
    attributes: dict[str, Any] = {"objectClass": ["msDS-PasswordSettings"]}
    for field, ldap in LDAP_NAMES.items():
        if getattr(spec, field) is not None and _ldap_values(spec, field):
            attributes[ldap] = _ldap_values(spec, field)
    after = {k: v for k, v in _want(spec).items() if v not in (None, "")}
    if now:
        attributes[APPLIES_TO] = now
        after.update(applies_to_words(now, True))
    after = pw.with_override(spec, after)
    write = LdapWrite("add", dn, attributes=attributes)
    changes = [Change(NAME, Action.CREATE, dn, None, after, item.location, (write,), Expect(False))]
    if later:
        add = LdapWrite("modify", dn, changes={APPLIES_TO: ("add", later)})
        expect = Expect(True, lacks_dns={APPLIES_TO: tuple(later)})
        before, after_links = applies_to_words(later, False), applies_to_words(later, True)
        changes.append(
            Change(NAME, Action.UPDATE, dn, before, after_links, item.location, (add,), expect, 1)
        )
    return changes


def _update(item: Desired, entry: Entry, ctx: PlanContext) -> list[Change]:
    spec = _spec(item)
    current = view(entry)
    before, after = attribute_diff(current, _want(spec))
    to_add, to_remove = _applies_to(item, current["applies_to"], ctx)
    if not after and not to_add and not to_remove:
        return []
    replace = {LDAP_NAMES[f]: ("replace", _ldap_values(spec, f)) for f in after}
    writes = [LdapWrite("modify", entry.dn, changes=replace)] if replace else []
    if to_add:
        writes.append(LdapWrite("modify", entry.dn, changes={APPLIES_TO: ("add", to_add)}))
    if to_remove:
        writes.append(LdapWrite("modify", entry.dn, changes={APPLIES_TO: ("delete", to_remove)}))
    before.update({**applies_to_words(to_add, False), **applies_to_words(to_remove, True)})
    before[IMAGE] = current  # the whole PSO, so that a rollback can declare it again
    after.update({**applies_to_words(to_add, True), **applies_to_words(to_remove, False)})
    raw = {LDAP_NAMES[f]: entry.raw(LDAP_NAMES[f]) for f in after if f in LDAP_NAMES}
    expect = Expect(
        True,
        raw={**raw, "objectGUID": entry.raw("objectGUID")},
        has_dns={APPLIES_TO: tuple(to_remove)},
        lacks_dns={APPLIES_TO: tuple(to_add)},
    )
    phase = 1 if any(not ctx.exists(dn) for dn in to_add) else 0
    after = pw.with_override(spec, after)
    change = Change(
        NAME, Action.UPDATE, entry.dn, before, after, item.location, tuple(writes), expect, phase
    )
    return [change]


def _delete(item: Desired, entry: Entry | None) -> list[Change]:
    if entry is None:
        return []
    expect = Expect(True, raw={"objectGUID": entry.raw("objectGUID")})
    write = LdapWrite("delete", entry.dn)
    return [
        Change(NAME, Action.DELETE, entry.dn, view(entry), None, item.location, (write,), expect)
    ]


def finding_aspects(change: Change) -> list[str]:
    """What a drift finding is about: the settings and links, not the before-image."""
    return sorted((set(change.before or {}) | set(change.after or {})) - {IMAGE})


def replay(
    target: str, before: Mapping[str, Any], after: Mapping[str, Any], *, undo: bool
) -> list[dict[str, Any]]:
    """Spec arguments declaring the PSO as it was before a journaled change (*undo*) or
    as the change left it (redo), for rollback.

    A pso task declares every setting, so both are whole PSOs with their exact
    applies-to list: the before-image an update carries (:data:`IMAGE`) or a deletion's
    before, and that image with the change's after applied. An update journaled
    before updates carried the image cannot be rolled back.
    """
    name = dnlib.rdn_value(target)
    if not (before if undo else after):
        return [{"name": name, "state": "absent"}]  # created (undo) or deleted (redo)
    image = _before_image(before) if before else {}
    if undo:
        written = None if IMAGE not in before else set(before) & set(pw.FIELDS)
        return [_declare(name, image, None, undo=True, written=written)]
    links = {dnlib.key(dn): dn for dn in image.get("applies_to", [])}
    for key, applies in after.items():
        if key.startswith(LINK_WORDS):
            dn = key.removeprefix(LINK_WORDS)
            links = {**links, dnlib.key(dn): dn} if applies else _without(links, dnlib.key(dn))
    fields = {k: v for k, v in after.items() if not k.startswith(LINK_WORDS)}
    left = {**image, **fields, "applies_to": sorted(links.values())}
    return [_declare(name, left, after.get("floor_override"), undo=False)]


def _without(links: dict[str, str], key: str) -> dict[str, str]:
    return {k: dn for k, dn in links.items() if k != key}


def _before_image(before: Mapping[str, Any]) -> Mapping[str, Any]:
    image: Mapping[str, Any] = before.get(IMAGE) or before
    if not all(f in image for f in (*pw.FIELDS, "precedence", "applies_to")):
        raise ValueError(
            "cannot roll back: this run predates whole-PSO before-images in the journal "
            "(it kept only the settings it changed, and a pso task declares every setting)"
        )
    return image


def _declare(
    name: str,
    image: Mapping[str, Any],
    reason: str | None,
    *,
    undo: bool,
    written: set[str] | None = None,
) -> dict[str, Any]:
    values = {f: pw.declared(f, image.get(f)) for f in pw.FIELDS}
    args = {
        "name": name,
        **pw.restored(values, reason, undo=undo, written=written),
        "precedence": image.get("precedence"),
        "applies_to": list(image.get("applies_to", [])),
        "applies_to_mode": "exact",
    }
    if "description" in image:
        args["description"] = image["description"] or ""  # "" clears it
    return pw.validated(Spec, args)


KIND = Kind(
    name=NAME,
    order=ORDER,
    spec=Spec,
    queries=queries,
    declares=declares,
    references=references,
    plan=plan,
    identity=identity,
    finding_aspects=finding_aspects,
    replay=replay,
)
