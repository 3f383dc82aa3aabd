"""A GPO's settings against its files: words per setting, the files to write, and the
client-side extensions each half must list.

Each half's extension list names the client-side extensions (CSEs) whose files hold
settings — without them Windows clients silently skip the settings. Only the CSEs of the
files adsuite manages are added or removed; any other CSE the list holds is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from adsuite.formats.gpttmpl_inf import serialize_gpttmpl
from adsuite.resources.file_acl import principals
from adsuite.resources.gpo import requests as io
from adsuite.resources.gpo.admin_templates import Diff, plan_registry, read_pol
from adsuite.resources.gpo.security import (
    has_settings,
    manages_template,
    plan_audit,
    plan_template,
    principal_text,
    read_template,
    render_template,
)
from adsuite.resources.gpo.spec import MachineHalf, Spec

log = logging.getLogger(__name__)

REGISTRY_CSE = "{35378EAC-683F-11D2-A89A-00C04FBBCFA2}"
REGISTRY_MACHINE_TOOL = "{D02B1F72-3407-48AE-BA88-E8213C6761F1}"
REGISTRY_USER_TOOL = "{D02B1F73-3407-48AE-BA88-E8213C6761F1}"
SECURITY_CSE = "{827D319E-6EAC-11D2-A4EA-00C04F79F83A}"
SECURITY_TOOL = "{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}"
AUDIT_CSE = "{F3CCC681-B74C-4060-9F26-CD84525DCA2A}"
AUDIT_TOOL = "{0F3F3735-573D-9804-99E4-AB2A69BA5FD4}"
CSE_NAMES = {REGISTRY_CSE: "Registry", SECURITY_CSE: "Security", AUDIT_CSE: "Audit"}
Files = Mapping[str, bytes | None]


@dataclass
class Content:
    """What one GPO's declared settings change in its files."""

    diff: Diff
    render: Callable[[Mapping[str, str]], dict[str, bytes | None]]  # final bytes, SIDs in
    resolve: tuple[str, ...]  # accounts to look up at apply time (created by this run)
    machine_cses: dict[str, str]  # managed CSE -> tool GUID, for the CSEs that must be listed
    user_cses: dict[str, str]
    machine_managed: tuple[str, ...]  # the CSEs whose presence adsuite decides
    user_managed: tuple[str, ...]

    def changed(self, names: tuple[str, ...]) -> bool:
        return any(name in self.diff.files for name in names)


def declared_principals(spec: Spec) -> list[str]:
    """Every principal the GPO's files name (restricted groups, user rights)."""
    machine = spec.machine
    found: list[str] = []
    for group in (machine.restricted_groups or []) if machine else []:
        found += [group.group, *(group.members or []), *(group.memberof or [])]
    if machine and machine.security and machine.security.privilege_rights:
        found += [p for who in machine.security.privilege_rights.values() for p in who or ()]
    return found


def _pending(spec: Spec, sids: Mapping[str, str]) -> tuple[str, ...]:
    names = [principals.account_name(p) for p in declared_principals(spec)]
    return tuple(
        sorted({n for n in names if not principal_text(n, sids).startswith("*")}, key=str.lower)
    )


def plan_content(
    spec: Spec, files: Files, sids: Mapping[str, str], names: Mapping[str, str]
) -> Content:
    diff = Diff()
    user, machine = spec.user, spec.machine
    if user is not None and user.registry is not None:
        plan_registry(diff, "User", io.USER_POL, user.registry, files.get(io.USER_POL))
    machine_pol = machine.pol_policies() if machine is not None else None
    if machine_pol is not None:
        plan_registry(diff, "Machine", io.MACHINE_POL, machine_pol, files.get(io.MACHINE_POL))
    template = None
    if machine is not None and manages_template(machine):
        sid_of = _sid_of(sids)
        current = files.get(io.GPTTMPL)
        template = plan_template(diff, io.GPTTMPL, machine, current, sid_of, names)
    audit_rows = None
    if machine is not None and machine.audit is not None:
        audit_rows = plan_audit(diff, io.AUDIT_CSV, machine.audit, files.get(io.AUDIT_CSV))
    pending = _pending(spec, sids)
    planned = dict(diff.files)

    def render(resolved: Mapping[str, str]) -> dict[str, bytes | None]:
        out = dict(planned)
        if io.GPTTMPL in out and machine is not None and pending:
            have = read_template(files.get(io.GPTTMPL), io.GPTTMPL)
            final = render_template(have, machine, _sid_of({**sids, **resolved}))
            out[io.GPTTMPL] = serialize_gpttmpl(final)
        return out

    machine_cses, machine_managed = _machine_cses(spec, files, diff, template, audit_rows)
    user_cses, user_managed = _user_cses(spec, files, diff)
    return Content(diff, render, pending, machine_cses, user_cses, machine_managed, user_managed)


def _sid_of(sids: Mapping[str, str]) -> Callable[[str], str]:
    return lambda name: principal_text(name, sids)


def _has_entries(files: Files, diff: Diff, path: str) -> bool:
    data = diff.files[path] if path in diff.files else files.get(path)
    pol = read_pol(data, path)
    return pol is not None and len(pol) > 0


def _machine_cses(
    spec: Spec, files: Files, diff: Diff, template: object, audit_rows: bool | None
) -> tuple[dict[str, str], tuple[str, ...]]:
    machine: MachineHalf | None = spec.machine
    present: dict[str, str] = {}
    managed: list[str] = []
    if machine is not None and machine.pol_policies() is not None:
        managed.append(REGISTRY_CSE)
        if _has_entries(files, diff, io.MACHINE_POL):
            present[REGISTRY_CSE] = REGISTRY_MACHINE_TOOL
    if template is not None:
        managed.append(SECURITY_CSE)
        if has_settings(template):  # type: ignore[arg-type]
            present[SECURITY_CSE] = SECURITY_TOOL
    if audit_rows is not None:
        managed.append(AUDIT_CSE)
        if audit_rows:
            present[AUDIT_CSE] = AUDIT_TOOL
    return present, tuple(managed)


def _user_cses(spec: Spec, files: Files, diff: Diff) -> tuple[dict[str, str], tuple[str, ...]]:
    if spec.user is None or spec.user.registry is None:
        return {}, ()
    if _has_entries(files, diff, io.USER_POL):
        return {REGISTRY_CSE: REGISTRY_USER_TOOL}, (REGISTRY_CSE,)
    return {}, (REGISTRY_CSE,)
