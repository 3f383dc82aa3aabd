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
        mode: exact                 # of applies_to: exact (default) | add | remove

Every password and lockout setting must be given (the class requires them all, and
drift is checked on each); the units and the regulation floor are those of
:mod:`adsuite.resources.password.settings`. ``applies_to`` is the PSO's own setting,
not a group's membership, so ``exact`` is the default here: a group added to the PSO
by hand is drift. ``add`` and ``remove`` touch only the names given (``mode`` is
spelled as in ``membership``; its old name ``applies_to_mode`` is still read). Plans and
drift name each group or user in words: ``applies to CN=HQ-IT-Admins,...: false → true``.
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
from adsuite.resources import attributes as attrs
from adsuite.resources.base import Change, Desired, Kind, PlanContext
from adsuite.resources.directory import lifecycle as objects
from adsuite.resources.directory.links import LinkList, Mode, old_names
from adsuite.resources.password import settings as pw

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
TABLE = tuple(attrs.Attr(field, ldap) for field, ldap in LDAP_NAMES.items())


class Spec(pw.Settings):
    name: str
    precedence: Annotated[int, Field(ge=1)] | None = None
    description: str | None = None
    applies_to: list[str] = Field(default_factory=list)
    mode: Mode = "exact"  # of applies_to
    state: Literal["present", "absent"] = "present"

    _renamed = model_validator(mode="before")(old_names({"applies_to_mode": "mode"}))

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


def _want(item: Desired, ctx: PlanContext) -> dict[str, Any]:
    spec = _spec(item)
    return {"precedence": spec.precedence, "description": spec.description, **pw.wanted(spec)}


def _ldap_values(item: Desired, field: str, value: Any) -> list[str]:
    spec = _spec(item)
    if field in pw.FLAGS:
        return ["TRUE" if getattr(spec, field) else "FALSE"]
    if field in ("precedence", "description"):
        return [str(value)] if value not in (None, "") else []
    return [pw.number_text(spec, field)]


def applies_to_words(dns: Sequence[str], applies: bool) -> dict[str, bool]:
    """Plans say "applies to CN=...: false → true", one line per group or user."""
    return APPLIES.words(dns, applies)


def _annotate(item: Desired, before: dict[str, Any], after: dict[str, Any], current: Any) -> None:
    """An update keeps the whole PSO, so that a rollback can declare it again; a setting
    written below the regulation floor carries the override's reason."""
    if current is not None:
        before[IMAGE] = current
    after.update(pw.with_override(_spec(item), after))


APPLIES = LinkList(
    "applies_to",
    APPLIES_TO,
    LINK_WORDS,
    names=lambda item: _spec(item).applies_to,
    mode=lambda item: _spec(item).mode,
)
OBJECTS = objects.ObjectKind(
    NAME,
    "msDS-PasswordSettings",
    TABLE,
    found=lambda ctx: objects.by_key(ctx.entries(all_psos(ctx))),
    dn=lambda item, ctx: dnlib.join([("CN", _spec(item).name), *dnlib.split(container(ctx))]),
    want=_want,
    present=lambda item: _spec(item).state == "present",
    view=lambda entry, found: view(entry),
    encode=_ldap_values,
    link=APPLIES,
    annotate=_annotate,
)
plan = OBJECTS.plan


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
        "mode": "exact",
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
    recallable=True,
)
