"""``default_domain_policy``: the Default Domain Policy GPO's [System Access], kept equal
to the domain's password policy (REQUIREMENTS.md, passwords: 二.2.c).

    - default_domain_policy: "{{ password }}"   # the same settings as password_policy

A Windows DC applies this GPO's [System Access] over the domain object's password
attributes, so the two must agree: the task takes exactly ``password_policy``'s fields
(and its regulation floor), and writes them into GptTmpl.inf of
``{31B2F340-016D-11D2-945F-00C04FB984F9}``, key by key — the template's other keys and
sections are left as they are. Drift names each key: ``Machine: MinimumPasswordLength
is 7, want 8``. Ages are days and lockout times minutes, ``never`` is -1 (MS-GPSB 2.2.1).
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from typing import Any

from adsuite.formats import intervals
from adsuite.resources import gpo, gpo_requests
from adsuite.resources import password_settings as pw
from adsuite.resources.base import Change, Desired, PlanContext, first_error
from adsuite.resources.gpo_content import plan_content
from adsuite.resources.gpo_object import Update, plan_update
from adsuite.resources.gpo_spec import MachineHalf, SecuritySettings
from adsuite.resources.gpo_spec import Spec as GpoSpec

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
describe = gpo.describe


class Spec(pw.Settings):
    pass


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
        settings = system_access(_spec(item))
        if not settings:
            continue
        machine = MachineHalf(security=SecuritySettings(system_access=settings))
        spec = GpoSpec(name=state.name or DISPLAY_NAME, machine=machine)
        content = plan_content(spec, state.files, {}, state.names)
        target = f'"{state.name or DISPLAY_NAME}"'
        change = plan_update(NAME, target, item, state, content, Update(), ctx.base_dn, ctx.realm)
        changes += [change] if change is not None else []
    return changes
