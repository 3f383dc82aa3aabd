"""``default_domain_policy``: the Default Domain Policy GPO's [System Access], kept equal
to the domain's password policy (REQUIREMENTS.md, passwords: 二.2.c).

    - default_domain_policy: "{{ password }}"   # the same settings as password_policy

A Windows DC applies this GPO's [System Access] over the domain object's password
attributes, so the two must agree: the task takes exactly ``password_policy``'s fields
(and its regulation floor), and writes them into GptTmpl.inf of
``{31B2F340-016D-11D2-945F-00C04FB984F9}``, key by key — the template's other keys and
sections are left as they are. Drift names each key: ``Machine: MinimumPasswordLength
is 7, want 8``. Ages are days and lockout times minutes, ``never`` is -1 (MS-GPSB 2.2.1).

``not_set: [lockout_duration, ...]`` takes those keys out of [System Access] (the
domain object's own value then stands); a template left with no settings is removed,
as Samba provisions the GPO without one. A rollback uses it to undo keys a run added.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from pydantic import Field, model_validator

from adsuite.formats import intervals
from adsuite.formats.gpttmpl_inf import SYSTEM_ACCESS, InfSection, serialize_gpttmpl
from adsuite.resources.base import Change, Desired, Kind, PlanContext, first_error
from adsuite.resources.gpo import gpo
from adsuite.resources.gpo import requests as gpo_requests
from adsuite.resources.gpo.admin_templates import NOT_SET, Diff
from adsuite.resources.gpo.content import SECURITY_CSE, SECURITY_TOOL, Content, plan_content
from adsuite.resources.gpo.object import Update, plan_update
from adsuite.resources.gpo.security import has_settings, read_template
from adsuite.resources.gpo.spec import MachineHalf, SecuritySettings
from adsuite.resources.gpo.spec import Spec as GpoSpec
from adsuite.resources.password import settings as pw

log = logging.getLogger(__name__)

NAME = "default_domain_policy"
ORDER = 61  # with password_policy (60)
GUID = "{31B2F340-016D-11D2-945F-00C04FB984F9}"
DISPLAY_NAME = "Default Domain Policy"
KEYS = {
    "min_length": "MinimumPasswordLength",
    "history": "PasswordHistorySize",
    "complexity": "PasswordComplexity",
    "reversible_encryption": "ClearTextPassword",
    "min_age": "MinimumPasswordAge",
    "max_age": "MaximumPasswordAge",
    "lockout_threshold": "LockoutBadCount",
    "lockout_window": "ResetLockoutCount",
    "lockout_duration": "LockoutDuration",
}
INTERVALS = {s.field for s in pw.NUMBERS if s.interval is not None}  # -1 is never
describe = gpo.describe


Setting = Literal[
    "min_length",
    "history",
    "complexity",
    "reversible_encryption",
    "min_age",
    "max_age",
    "lockout_threshold",
    "lockout_window",
    "lockout_duration",
]


class Spec(pw.Settings):
    not_set: list[Setting] = Field(default_factory=list)

    @model_validator(mode="after")
    def _set_or_not(self) -> Spec:
        both = [f for f in self.not_set if getattr(self, f) is not None]
        if both:
            raise ValueError(f"{', '.join(both)}: declared and in not_set at once")
        return self


def _spec(item: Desired) -> Spec:
    assert isinstance(item.spec, Spec)
    return item.spec


def identity(spec: Spec) -> str:
    return "default domain policy"  # one per domain: a second task is an error


def _read(item: Desired, ctx: PlanContext) -> gpo_requests.GpoRead:
    return gpo_requests.GpoRead(ctx.realm, ctx.base_dn, guid=GUID, source=item.location)


def queries(desired: Sequence[Desired], ctx: PlanContext) -> list[Hashable]:
    return [_read(d, ctx) for d in desired]


def declares(desired: Sequence[Desired], ctx: PlanContext) -> dict[str, str]:
    return {}


def references(desired: Sequence[Desired]) -> set[str]:
    return set()


def system_access(spec: Spec) -> dict[str, int | bool | str]:
    """The [System Access] keys of the declared settings (ages in days, times in minutes)."""
    out: dict[str, Any] = {}
    for field, key in KEYS.items():
        value = getattr(spec, field)
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = int(value)
        else:
            out[key] = -1 if value == intervals.NEVER else int(value)
    return out


def plan(desired: Sequence[Desired], ctx: PlanContext) -> list[Change]:
    changes: list[Change] = []
    for item in desired:
        state = ctx.fact(_read(item, ctx))
        if state is None:
            raise first_error(item, f"the domain has no Default Domain Policy ({GUID})")
        spec = _spec(item)
        if not system_access(spec) and not spec.not_set:
            continue
        content = _content(spec, state)
        target = f'"{state.name or DISPLAY_NAME}"'
        change = plan_update(NAME, target, item, state, content, Update(), ctx.base_dn, ctx.realm)
        changes += [_with_reason(spec, change)] if change is not None else []
    return changes


def _content(spec: Spec, state: gpo_requests.GpoState) -> Content:
    settings = system_access(spec)
    content = None
    if settings:
        machine = MachineHalf(security=SecuritySettings(system_access=settings))
        declared = GpoSpec(name=state.name or DISPLAY_NAME, machine=machine)
        content = plan_content(declared, state.files, {}, state.names)
    if content is not None and not spec.not_set:
        return content
    return _unset(content, [KEYS[f] for f in spec.not_set], state)


def _unset(content: Content | None, keys: Sequence[str], state: gpo_requests.GpoState) -> Content:
    """*content* with *keys* taken out of [System Access] (the template removed if
    nothing is left in it); the words say ``8 → not set``."""
    diff = content.diff if content is not None else Diff()
    files = dict(content.render({})) if content is not None else {}  # no principals here
    path = gpo_requests.GPTTMPL
    template = read_template(files.get(path, state.files.get(path)), path)
    section = template.section(SYSTEM_ACCESS) if template is not None else None
    if template is None or section is None:
        return content if content is not None else Content(diff, lambda _: {}, (), {}, {}, (), ())
    canonical = {key.casefold(): key for key in keys}
    kept = []
    for line in section.lines:
        key, _, value = line.partition("=")
        if key.strip().casefold() in canonical:
            label = f"Machine: {canonical[key.strip().casefold()]}"
            diff.differs(label, value.strip().strip('"'), NOT_SET)
        else:
            kept.append(line)
    if len(kept) < len(section.lines):
        template = template.with_section(InfSection(SYSTEM_ACCESS, tuple(kept)))
        template = template if kept else template.without_section(SYSTEM_ACCESS)
        files[path] = serialize_gpttmpl(template) if has_settings(template) else None
        diff.files[path] = files[path]
    if not has_settings(template):  # the extension stays listed, as Samba provisions it
        return Content(diff, lambda _: dict(files), (), {}, {}, (), ())
    cses = {SECURITY_CSE: SECURITY_TOOL}
    return Content(diff, lambda _: dict(files), (), cses, {}, (SECURITY_CSE,), ())


def _with_reason(spec: Spec, change: Change) -> Change:
    """The override's reason journaled with a change that writes a key below the floor."""
    below = {f"Machine: {KEYS[f]}" for f in pw.below_floor(spec)}
    if spec.floor_override is None or not below & set(change.after or {}):
        return change
    return replace(
        change, after={**(change.after or {}), "floor_override": spec.floor_override.reason}
    )


def replay(
    target: str, before: Mapping[str, Any], after: Mapping[str, Any], *, undo: bool
) -> list[dict[str, Any]]:
    """Spec arguments that put [System Access] back as a journaled change found it
    (*undo*: keys it added are taken out again) or as it left it (redo), for rollback.

    The change's words (``Machine: MinimumPasswordLength: not set → 8``) are the
    template's own values, so they read back exactly; the client-side extensions and
    the version follow from the template. Undoing into settings below the 二.2.c floor
    is refused (see :func:`password_settings.restored`).
    """
    shown = before if undo else after
    fields = {f"machine: {key}".casefold(): field for field, key in KEYS.items()}
    values: dict[str, Any] = {}
    unset: list[str] = []
    for label, text in shown.items():
        field = fields.get(label.casefold())
        if field is not None and text == NOT_SET:
            unset.append(field)
        elif field is not None:
            values[field] = _declared(field, str(text))
    reason = None if undo else shown.get("floor_override")
    args = {**pw.restored(values, reason, undo=undo), "not_set": unset}
    return [pw.validated(Spec, args)]


def _declared(field: str, text: str) -> Any:
    """A [System Access] value as a playbook says it: 1 → true, -1 → never, 42 → 42."""
    number = text.strip()
    if field in pw.FLAGS and number in ("0", "1"):
        return number == "1"
    if field not in pw.FLAGS and number.lstrip("-").isdigit():
        return intervals.NEVER if number == "-1" and field in INTERVALS else int(number)
    raise ValueError(
        f"cannot roll back: {KEYS[field]} was {text!r}, which a playbook cannot declare"
    )


KIND = Kind(
    name=NAME,
    order=ORDER,
    spec=Spec,
    queries=queries,
    declares=declares,
    references=references,
    plan=plan,
    identity=identity,
    describe=describe,
    replay=replay,
)
