"""What a GPO change journals so ``adsuite rollback`` can undo it: the GPO before and
after the change as spec arguments — a ``gpo:`` task as a playbook would write it — in a
list under the key ``specs`` of the change's before and after. The words beside it stay
what people read; ``specs`` is for the rollback (and never shown in a plan).

The undo image holds what the change rewrites, as the plan read it: the status, the
security filtering (accounts by name where the directory knows the SID), the links
(every container, with the link order where it moves) and, for each file the change
rewrites, the settings declared there — Registry.pol entries, the declared GptTmpl.inf
keys (``null``: the key was not set), Restricted Groups, audit.csv. A GPO the change
deletes is imaged whole, with the version it had. The redo image is the declared state
the change leaves, with the version it leaves the GPO at; rollback plans it to see
whether the GPO has moved on since.

What a spec cannot declare (a ``**delvals.`` instruction, settings of a client-side
extension adsuite does not manage, an unreadable file) makes the image ``unrestorable``
with the reason: rollback reports it rather than writing back half a GPO.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from adsuite.errors import InputError
from adsuite.formats import dn as dnlib
from adsuite.formats.gpo_ldap import parse_extension_names
from adsuite.resources.base import Change, LdapWrite
from adsuite.resources.gpo import links as gpo_links
from adsuite.resources.gpo import readback
from adsuite.resources.gpo import requests as io
from adsuite.resources.gpo.content import AUDIT_CSE, REGISTRY_CSE, SECURITY_CSE
from adsuite.resources.gpo.filter import apply_aces
from adsuite.resources.gpo.links import Placed
from adsuite.resources.gpo.spec import (
    STATUS_FLAGS,
    RollbackSpec,
    Spec,
)

log = logging.getLogger(__name__)

SPECS = "specs"
UNRESTORABLE = "unrestorable"
_STATUS_NAMES = {flags: name for name, flags in STATUS_FLAGS.items()}
Args = dict[str, Any]


@dataclass(frozen=True)
class Touched:
    """What a change rewrites of an existing GPO: the parts its undo must put back."""

    status: bool = False
    name: bool = False
    apply_to: bool = False
    files: frozenset[str] = field(default_factory=frozenset)
    links: bool = False


@dataclass(frozen=True)
class Imaged:
    """One GPO as a plan changes it, for its images."""

    spec: Spec
    state: io.GpoState | None  # as read; None: the change creates it
    guid: str
    touched: Touched | None  # None: created or deleted (everything counts)
    version: int  # versionNumber the change leaves (unsigned)
    before: Sequence[Placed]  # its links as read
    after: Sequence[Placed]  # its links as planned


def absent(name: str, guid: str | None = None) -> Args:
    """The GPO gone: what undoes its creation (by GUID) or redoes its deletion (by name,
    so a GPO of that name made since shows as moved on)."""
    return {
        "name": name,
        **({"guid": guid} if guid else {}),
        "state": "absent",
        "allow_delete": True,
    }


def images(gpo: Imaged, base_dn: str) -> tuple[Args, Args]:
    """(undo, redo) spec arguments of one GPO's change."""
    spec, state = gpo.spec, gpo.state
    if spec.state == "absent":
        assert state is not None
        undo = _guarded(spec.name, gpo.guid, lambda: _deleted(state, gpo.before, base_dn))
        return undo, absent(spec.name)
    links = _links(gpo.after, gpo.before, base_dn)
    if state is None:
        declared = links if spec.links is not None else None
        return absent(spec.name, gpo.guid), _redo(spec, gpo.guid, None, declared, gpo.version)
    touched = gpo.touched or Touched()
    undo = _guarded(
        spec.name, gpo.guid, lambda: _undo(spec, state, touched, gpo.before, gpo.after, base_dn)
    )
    return undo, _redo(spec, gpo.guid, touched, links if touched.links else None, gpo.version)


def _guarded(name: str, guid: str, build: Callable[[], Args]) -> Args:
    try:
        args = build()
        RollbackSpec.model_validate(args)
    except readback.Unrestorable as error:
        return {"name": name, "guid": guid, UNRESTORABLE: str(error)}
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        said = re.sub(r" \(known: [^)]*\)", "", first["msg"].removeprefix("Value error, "))
        reason = f"it held what no playbook declares ({where}: {said})"
        return {"name": name, "guid": guid, UNRESTORABLE: reason}
    except InputError as error:
        return {"name": name, "guid": guid, UNRESTORABLE: f"it held {error.message}"}
    return args


def _links(placed: Sequence[Placed], other: Sequence[Placed], base_dn: str) -> list[Args]:
    """Links as a spec declares them; the order only where it differs in *other*."""
    there = {dnlib.key(p.container): p.order for p in other}
    out = []
    for p in placed:
        link: Args = {"target": gpo_links.where(p.container, base_dn)}
        link |= {"enabled": p.link.enabled, "enforced": p.link.enforced}
        if there.get(dnlib.key(p.container)) != p.order:
            link["order"] = p.order
        out.append(link)
    return out


def _status(flags: int) -> str:
    if flags not in _STATUS_NAMES:
        raise readback.Unrestorable(f"its flags were {flags}, which no status names")
    return _STATUS_NAMES[flags]


def _filtering(state: io.GpoState) -> list[str]:
    return [readback.named(ace.sid, state.names) for ace in apply_aces(state.descriptor)]


def _undo(
    spec: Spec,
    state: io.GpoState,
    touched: Touched,
    before: Sequence[Placed],
    after: Sequence[Placed],
    base_dn: str,
) -> Args:
    out: Args = {"name": state.name or spec.name, "guid": state.guid}
    if touched.status:
        out["status"] = _status(state.flags)
    if touched.apply_to:
        out["apply_to"] = _filtering(state)
    if touched.links:
        out["links"] = _links(before, after, base_dn)
    files = state.files
    if spec.user and spec.user.registry is not None and io.USER_POL in touched.files:
        out["user"] = {"registry": readback.policies(files.get(io.USER_POL), io.USER_POL)}
    machine: Args = {}
    if spec.machine and spec.machine.pol_policies() is not None and io.MACHINE_POL in touched.files:
        machine["registry"] = readback.policies(files.get(io.MACHINE_POL), io.MACHINE_POL)
    if spec.machine and io.GPTTMPL in touched.files:
        machine |= readback.declared_template(spec.machine, files.get(io.GPTTMPL), state.names)
    if spec.machine and spec.machine.audit is not None and io.AUDIT_CSV in touched.files:
        machine["audit"] = readback.audit_settings(files.get(io.AUDIT_CSV), options_allowed=True)
    return out | ({"machine": machine} if machine else {})


def _deleted(state: io.GpoState, before: Sequence[Placed], base_dn: str) -> Args:
    _only_known_extensions(state)
    out: Args = {"name": state.name or state.guid, "guid": state.guid}
    out |= {"status": _status(state.flags), "apply_to": _filtering(state)}
    out["links"] = _links(before, (), base_dn)
    files = state.files
    if files.get(io.USER_POL) is not None:
        out["user"] = {"registry": readback.policies(files[io.USER_POL], io.USER_POL)}
    machine: Args = {}
    if files.get(io.MACHINE_POL) is not None:
        machine["registry"] = readback.policies(files[io.MACHINE_POL], io.MACHINE_POL)
    machine |= readback.whole_template(files.get(io.GPTTMPL), state.names)
    if files.get(io.AUDIT_CSV) is not None:
        machine["audit"] = readback.audit_settings(files[io.AUDIT_CSV], options_allowed=False)
    out |= {"machine": machine} if machine else {}
    return out | {"rollback": {"deleted_at_version": state.version_number & 0xFFFFFFFF}}


def _only_known_extensions(state: io.GpoState) -> None:
    known = {REGISTRY_CSE, SECURITY_CSE, AUDIT_CSE}
    for half, text in (("machine", state.machine_extensions), ("user", state.user_extensions)):
        try:
            others = sorted(set(parse_extension_names(text)) - known)
        except InputError as error:
            raise readback.Unrestorable(
                f"its {half} extension names were unreadable ({error})"
            ) from None
        if others:
            raise readback.Unrestorable(
                f"it held {half} settings of client-side extensions adsuite does not "
                f"manage ({', '.join(others)})"
            )


def _redo(
    spec: Spec, guid: str, touched: Touched | None, links: list[Args] | None, version: int
) -> Args:
    """The declared state a change leaves (*touched* None: a new GPO, all of it)."""
    every = touched is None
    out: Args = {"name": spec.name, "guid": guid}
    if spec.status is not None and (every or (touched and touched.status)):
        out["status"] = spec.status
    if spec.apply_to is not None and (every or (touched and touched.apply_to)):
        out["apply_to"] = list(spec.apply_to)
    if links is not None:
        out["links"] = links
    files = frozenset(io.FILES) if every else (touched.files if touched else frozenset())
    halves = _declared_halves(spec, files)
    return out | halves | {"rollback": {"left_at_version": version}}


def _declared_halves(spec: Spec, files: frozenset[str]) -> Args:
    out: Args = {}
    if spec.user and spec.user.registry is not None and io.USER_POL in files:
        out["user"] = {"registry": [_dump(p) for p in spec.user.registry]}
    machine: Args = {}
    declared = spec.machine
    pol = declared.pol_policies() if declared else None
    if pol is not None and io.MACHINE_POL in files:  # AppLocker rules as the values they are
        machine["registry"] = [_dump(p) for p in pol]
    if declared and io.GPTTMPL in files:
        if declared.security is not None:
            machine["security"] = _dump(declared.security)
        if declared.force_audit_subcategories is not None:
            machine["force_audit_subcategories"] = declared.force_audit_subcategories
        if declared.restricted_groups is not None:
            machine["restricted_groups"] = [_dump(g) for g in declared.restricted_groups]
    if declared and declared.audit is not None and io.AUDIT_CSV in files:
        machine["audit"] = dict(declared.audit)
    return out | ({"machine": machine} if machine else {})


def _dump(model: Any) -> Args:
    """A model as spec arguments: fields left out stay out, ``null`` keys in maps stay."""
    data: Args = model.model_dump(exclude_defaults=True)
    return {k: v for k, v in data.items() if v is not None}


def with_specs(change: Change, pairs: Sequence[tuple[Args, Args]]) -> Change:
    """*change* with the GPOs' undo images in its before and redo images in its after."""
    before = None if change.before is None else {**change.before, SPECS: [u for u, _ in pairs]}
    after = None if change.after is None else {**change.after, SPECS: [r for _, r in pairs]}
    return replace(change, before=before, after=after)


def version_after(change: Change | None, guid: str, state: io.GpoState | None, base_dn: str) -> int:
    """The versionNumber *change* leaves the GPO at (unsigned)."""
    dn = dnlib.key(io.gpc_dn(guid, base_dn))
    for write in change.writes if change else ():
        ours = isinstance(write, LdapWrite) and dnlib.key(write.dn) == dn
        if ours and "versionNumber" in write.changes:
            return int(write.changes["versionNumber"][1][0]) & 0xFFFFFFFF
    return state.version_number & 0xFFFFFFFF if state else 0
