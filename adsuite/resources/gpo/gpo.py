"""``gpo``: Group Policy Objects over LDAP and SMB — the container, the GPT folder in
SYSVOL, its links, its status and its security filtering.

    - gpo:
        name: HQ Restricted workstation      # displayName: the GPO's identity (unique)
        status: enabled           # enabled, user_disabled, computer_disabled, all_disabled
        apply_to: [HQ-Restricted]            # security filtering (Apply Group Policy)
        links:
          - {target: HQ/Users}               # OU path, DN, or "domain"
          - {target: HQ/Workstations, enforced: false, enabled: true, order: 1}
        user:
          registry:
            - {key: Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\System,
               value: DisableRegistryTools, type: dword, data: 1}
            - {key: Software\\Policies\\Microsoft\\Windows\\System, value: DisableCMD,
               state: absent}                # written as **del.DisableCMD
        machine:
          registry: [...]
          security: {system_access: {...}, event_audit: {...}, privilege_rights: {...},
                     registry_values: {"MACHINE\\...\\Name": {type: 4, data: 1}},
                     security_log: {MaximumLogSize: 4194240},   # also system_log, application_log
                     services: {AppIDSvc: automatic}}   # System Services (services.py)
          restricted_groups: [{group: HQ-Elevated, memberof: [Administrators]}]
          audit: {logon: success_and_failure}      # audit.csv (advanced audit policy)
          force_audit_subcategories: true

A new GPO gets a new GUID (or ``guid:``), its container under CN=Policies,CN=System and
its GPT folder with GPT.INI, Machine and User. ``state: absent`` with
``allow_delete: true`` unlinks it everywhere, then deletes it. What each setting means
and how exact each list is: :mod:`adsuite.resources.gpo.spec`; files and words:
:mod:`adsuite.resources.gpo.content`; links: :mod:`adsuite.resources.gpo.links`.

Every change journals the GPO before and after it as spec arguments
(:mod:`adsuite.resources.gpo.image`); ``adsuite rollback`` declares the GPO with them
(:class:`RollbackSpec`) and puts it back as one change, links included
(:mod:`adsuite.resources.gpo.rollback`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from adsuite.formats.gpo_ldap import serialize_extension_names, with_extensions
from adsuite.formats.gpt_ini import (
    bump_version,
    join_version,
    new_gpt_ini,
    serialize_gpt_ini,
    to_version_number,
)
from adsuite.formats.ldap_query import by_names, sids_found
from adsuite.resources.base import (
    Action,
    Change,
    Desired,
    Kind,
    LdapWrite,
    PlanContext,
    first_error,
)
from adsuite.resources.file_acl import principals
from adsuite.resources.gpo import image as gpo_image
from adsuite.resources.gpo import requests as io
from adsuite.resources.gpo import rollback as gpo_rollback
from adsuite.resources.gpo.admin_templates import Diff
from adsuite.resources.gpo.content import Content, declared_principals, plan_content
from adsuite.resources.gpo.filter import plan_filter
from adsuite.resources.gpo.image import Imaged, Touched
from adsuite.resources.gpo.links import (
    LinkPlan,
    Managed,
    containers,
    plan_link_edits,
    plan_link_lists,
)
from adsuite.resources.gpo.object import MACHINE_EXTENSIONS, USER_EXTENSIONS, Update, plan_update
from adsuite.resources.gpo.spec import STATUS_FLAGS, LinkSpec, RollbackSpec, Spec

log = logging.getLogger(__name__)

NAME = "gpo"
ORDER = 90  # after groups: filtering and restricted groups may name groups this run creates
__all__ = [
    "NAME",
    "ORDER",
    "RollbackSpec",
    "Spec",
    "declares",
    "describe",
    "finding_aspects",
    "plan",
    "queries",
    "references",
    "replay",
]
DEFAULT_GPOS = frozenset(
    {"{31B2F340-016D-11D2-945F-00C04FB984F9}", "{6AC1786C-016F-11D2-945F-00C04FB984F9}"}
)  # Default Domain Policy, Default Domain Controllers Policy
replay = gpo_rollback.replay  # what engine/rollback.py undoes a journaled change with
STATUS_WORDS = {
    0: "enabled",
    1: "user settings disabled",
    2: "computer settings disabled",
    3: "all settings disabled",
}


def new_guid() -> str:
    return "{" + str(uuid.uuid4()).upper() + "}"


def _spec(item: Desired) -> Spec:
    assert isinstance(item.spec, Spec)
    return item.spec


def target(spec: Spec) -> str:
    return f'"{spec.name}"'


def identity(spec: Spec) -> str:
    return spec.name.casefold()


def gpo_read(item: Desired, ctx: PlanContext) -> io.GpoRead:
    spec = _spec(item)
    if spec.guid is not None:
        return io.GpoRead(ctx.realm, ctx.base_dn, guid=spec.guid, source=item.location)
    return io.GpoRead(ctx.realm, ctx.base_dn, name=spec.name, source=item.location)


def _accounts(desired: Sequence[Desired]) -> set[str]:
    names = [n for d in desired for n in (_spec(d).apply_to or [])]
    names += [n for d in desired for n in declared_principals(_spec(d))]
    return principals.accounts(names)


def queries(desired: Sequence[Desired], ctx: PlanContext) -> list[Hashable]:
    reads: list[Hashable] = [gpo_read(d, ctx) for d in desired]
    return [*reads, containers(ctx), *by_names(ctx.base_dn, _accounts(desired))]


def declares(desired: Sequence[Desired], ctx: PlanContext) -> dict[str, str]:
    return {}


def references(desired: Sequence[Desired]) -> set[str]:
    return _accounts(desired)


@dataclass(frozen=True)
class _Planned:
    item: Desired
    state: io.GpoState | None
    guid: str
    change: Change | None
    touched: Touched | None = None


def plan(desired: Sequence[Desired], ctx: PlanContext) -> list[Change]:
    sids = sids_found(e for q in by_names(ctx.base_dn, _accounts(desired)) for e in ctx.entries(q))
    planned: list[_Planned] = []
    restored: list[Change] = []
    managed: list[Managed] = []
    for item in desired:
        spec = _spec(item)
        for name in principals.accounts([*(spec.apply_to or []), *declared_principals(spec)]):
            ctx.resolve(name, item)  # an unknown account is an error at the task's line
        state: io.GpoState | None = ctx.fact(gpo_read(item, ctx))
        _check_state(item, state)
        if isinstance(spec, RollbackSpec):
            restored += _restore(item, state, sids, ctx)
        elif spec.state == "absent":
            if state is not None:
                planned.append(_Planned(item, state, state.guid, _delete(item, state, ctx)))
                managed.append(Managed(item, state.guid, None, deleting=True))
        elif state is None:
            guid = spec.guid or new_guid()
            managed.append(Managed(item, guid, spec.links))
            planned.append(_Planned(item, None, guid, _create(item, guid, sids, ctx)))
        else:
            managed.append(Managed(item, state.guid, spec.links))
            planned.append(_Planned(item, state, state.guid, *_update(item, state, sids, ctx)))
    return restored + _imaged(planned, plan_link_lists(managed, ctx), ctx)


def _imaged(planned: Sequence[_Planned], links: LinkPlan, ctx: PlanContext) -> list[Change]:
    """The changes, each with the images of the GPOs it changes (for rollback)."""
    moved = {guid for _, guids in links.changes for guid in guids}
    images: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    out = []
    for p in planned:
        if p.change is None and p.guid not in moved:
            continue
        touched = replace(p.touched or Touched(), links=p.guid in moved) if p.state else None
        version = gpo_image.version_after(p.change, p.guid, p.state, ctx.base_dn)
        before, after = links.before.get(p.guid, ()), links.after.get(p.guid, ())
        gpo = Imaged(_spec(p.item), p.state, p.guid, touched, version, before, after)
        images[p.guid] = gpo_image.images(gpo, ctx.base_dn)
        out += [gpo_image.with_specs(p.change, [images[p.guid]])] if p.change else []
    for change, guids in links.changes:
        out.append(gpo_image.with_specs(change, [images[g] for g in guids if g in images]))
    return out


def _restore(
    item: Desired, state: io.GpoState | None, sids: Mapping[str, str], ctx: PlanContext
) -> list[Change]:
    """A GPO as a rollback declares it: one change, its links included."""
    spec = _spec(item)
    touched: Touched | None = None
    base: Change | None
    links: Sequence[LinkSpec] | None = spec.links
    if spec.state == "absent":
        if state is None:
            return []
        guid, base, links = state.guid, _delete(item, state, ctx), ()
    elif state is None:
        guid = spec.guid or new_guid()
        base = _create(item, guid, sids, ctx)
    else:
        guid = state.guid
        base, touched = _update(item, state, sids, ctx)
    edits = plan_link_edits(guid, links, item, ctx) if links is not None else None
    change = gpo_rollback.fold(base, item, state, edits, ctx)
    if change is None:
        return []
    moved = bool(edits and edits.writes)
    touched = (
        replace(touched or Touched(), links=moved) if state and spec.state != "absent" else None
    )
    version = gpo_image.version_after(change, guid, state, ctx.base_dn)
    before, after = (edits.placed_before, edits.placed_after) if edits else ((), ())
    gpo = Imaged(spec, state, guid, touched, version, before, after)
    return [gpo_image.with_specs(change, [gpo_image.images(gpo, ctx.base_dn)])]


def _check_state(item: Desired, state: io.GpoState | None) -> None:
    spec = _spec(item)
    if state is not None and state.others:
        others = ", ".join((state.guid, *state.others))
        raise first_error(
            item, f"several GPOs are named {spec.name!r} ({others}); rename all but one"
        )
    if state is not None and spec.guid and state.name and state.name != spec.name:
        log.info(
            "GPO %s is named %r; the playbook renames it %r", state.guid, state.name, spec.name
        )


def _names(spec: Spec, state: io.GpoState | None, sids: Mapping[str, str]) -> dict[str, str]:
    """SID -> name for words: as the playbook spells it, else as the directory does."""
    declared = {
        principals.account_name(p) for p in [*(spec.apply_to or []), *declared_principals(spec)]
    }
    spelled = {sids[n.lower()]: n for n in declared if n.lower() in sids}
    return {**(state.names if state else {}), **spelled}


def _update(
    item: Desired, state: io.GpoState, sids: Mapping[str, str], ctx: PlanContext
) -> tuple[Change | None, Touched]:
    spec = _spec(item)
    content = plan_content(spec, state.files, sids, _names(spec, state, sids))
    update = Update()
    diff = content.diff
    status = spec.status is not None and STATUS_FLAGS[spec.status] != state.flags
    if spec.status is not None and status:
        diff.differs("status", _status(state.flags), _status(STATUS_FLAGS[spec.status]))
        update.attributes["flags"] = str(STATUS_FLAGS[spec.status])
    renamed = spec.guid is not None and state.name != spec.name
    if renamed:
        diff.differs("name", state.name or "(none)", spec.name)
        update.attributes["displayName"] = spec.name
    edit = None
    if spec.apply_to is not None:
        names = _names(spec, state, sids)
        edit = plan_filter(
            diff, state.dn, ctx.base_dn, state.descriptor, spec.apply_to, sids, names
        )
        if edit is not None:
            update.first.append(edit)
            update.sync_acl = True
    touched = Touched(status, renamed, edit is not None, frozenset(diff.files))
    change = plan_update(NAME, target(spec), item, state, content, update, ctx.base_dn, ctx.realm)
    return change, touched


def _status(flags: int) -> str:
    return STATUS_WORDS.get(flags, f"flags {flags}")


def _create(item: Desired, guid: str, sids: Mapping[str, str], ctx: PlanContext) -> Change:
    spec = _spec(item)
    content = plan_content(spec, {}, sids, _names(spec, None, sids))
    diff = content.diff
    flags = STATUS_FLAGS[spec.status or "enabled"]
    diff.after = {"status": _status(flags), **diff.after}
    dn = io.gpc_dn(guid, ctx.base_dn)
    first: list[Any] = []
    if spec.apply_to is not None:
        edit = plan_filter(Diff(), dn, ctx.base_dn, None, spec.apply_to, sids, {})
        diff.after["security filtering"] = ", ".join(spec.apply_to) or "(nobody)"
        first += [edit] if edit is not None else []
    version = _version(content)
    above = spec.rollback.deleted_at_version if isinstance(spec, RollbackSpec) else None
    if above is not None:  # a rollback recreating a deleted GPO: same GUID, higher version
        version = bump_version(above & 0xFFFFFFFF, user=True, machine=True)
        diff.after = {"GUID": f"{guid} (the same as before)", **diff.after}
        diff.after["version"] = f"{version} (above {above}, so clients read it again)"
    path = io.gpt_path(ctx.realm, guid)
    gpt = _gpt(guid, path, content, ctx, version)
    writes = [*_containers(dn, spec, flags, path, ctx), *first, gpt]
    writes.append(LdapWrite("modify", dn, changes=_versioned(content, version)))
    expect = io.GpoExpect(ctx.realm, ctx.base_dn, guid, spec.name, False)
    return Change(
        NAME,
        Action.CREATE,
        target(spec),
        None,
        dict(diff.after),
        item.location,
        tuple(writes),
        expect,
    )


def _containers(dn: str, spec: Spec, flags: int, path: str, ctx: PlanContext) -> list[LdapWrite]:
    realm = ctx.realm.lower()
    attributes = {
        "objectClass": ["groupPolicyContainer"],
        "displayName": [spec.name],
        "gPCFileSysPath": [f"\\\\{realm}\\{io.SHARE}\\{path}"],
        "versionNumber": ["0"],
        "flags": [str(flags)],
        "gPCFunctionalityVersion": ["2"],
    }
    return [
        LdapWrite("add", dn, attributes=attributes),
        LdapWrite("add", f"CN=User,{dn}", attributes={"objectClass": ["container"]}),
        LdapWrite("add", f"CN=Machine,{dn}", attributes={"objectClass": ["container"]}),
    ]


def _version(content: Content) -> int:
    return join_version(int(content.changed(io.USER_FILES)), int(content.changed(io.MACHINE_FILES)))


def _gpt(guid: str, path: str, content: Content, ctx: PlanContext, version: int) -> io.GptWrite:
    ini = serialize_gpt_ini(new_gpt_ini(version))
    render = content.render

    def files(sids: Mapping[str, str]) -> dict[str, bytes | None]:
        out = {k: v for k, v in render(sids).items() if v is not None}
        return {**out, io.GPT_INI: ini}

    return io.GptWrite(ctx.realm, ctx.base_dn, guid, path, files, content.resolve, create=True)


def _versioned(content: Content, version: int) -> dict[str, tuple[str, list[str]]]:
    machine = with_extensions({}, content.machine_cses, content.machine_managed)
    user = with_extensions({}, content.user_cses, content.user_managed)
    out = {"versionNumber": ("replace", [str(to_version_number(version))])}
    for attribute, groups in ((MACHINE_EXTENSIONS, machine), (USER_EXTENSIONS, user)):
        if groups:
            out[attribute] = ("replace", [serialize_extension_names(groups)])
    return out


def _delete(item: Desired, state: io.GpoState, ctx: PlanContext) -> Change:
    spec = _spec(item)
    if state.guid in DEFAULT_GPOS:
        raise first_error(
            item,
            f"{state.name or state.guid} is one of the domain's default GPOs; "
            "adsuite never deletes it",
        )
    before = {"GUID": state.guid, "status": _status(state.flags)}
    delete = io.GpoDelete(ctx.realm, ctx.base_dn, state.guid, state.path)
    expect = io.GpoExpect(ctx.realm, ctx.base_dn, state.guid, spec.name, True, state.fingerprint())
    return Change(NAME, Action.DELETE, target(spec), before, None, item.location, (delete,), expect)


def describe(change: Change, *, drift: bool) -> list[str]:
    """Each setting in words: ``User: DisableRegistryTools is 0, want 1`` (drift) or
    ``User: DisableRegistryTools: 0 → 1`` (plan)."""
    before = {k: v for k, v in (change.before or {}).items() if k != gpo_image.SPECS}
    after = {k: v for k, v in (change.after or {}).items() if k != gpo_image.SPECS}
    if change.action is Action.CREATE:
        return [f"{k}: {v}" for k, v in after.items()]
    if change.action is Action.DELETE:
        return [f"{k}: {v}" for k, v in before.items()]
    if drift:
        return [f"{k} is {before.get(k, 'not set')}, want {v}" for k, v in after.items()]
    return [f"{k}: {before.get(k, 'not set')} → {v}" for k, v in after.items()]


def finding_aspects(change: Change) -> list[str]:
    """What a drift finding is about: the words' keys, never the rollback images."""
    keys = set(change.before or {}) | set(change.after or {})
    return sorted(keys - {gpo_image.SPECS})


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
    finding_aspects=finding_aspects,
    replay=replay,
    rollback_spec=RollbackSpec,
)
