"""One GPO's update, whatever kind declared its settings: the files, GPT.INI and the
container's ``versionNumber`` bumped together for the half that changed, the extension
lists, and the SYSVOL permissions kept equal to the container's.

A half's version moves only when that half's files or extension list change, so a
second apply of the same playbook leaves both numbers where they are. GPT.INI and
``versionNumber`` out of step (someone edited one) is drift too: both are set to the
higher value of each half, bumped, so clients notice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from adsuite.errors import InputError
from adsuite.formats import gpo_acl
from adsuite.formats.gpo_ldap import (
    parse_extension_names,
    serialize_extension_names,
    with_extensions,
)
from adsuite.formats.gpt_ini import (
    GptIni,
    join_version,
    new_gpt_ini,
    parse_gpt_ini,
    serialize_gpt_ini,
    split_version,
    to_version_number,
)
from adsuite.resources.base import Action, Change, Desired, LdapWrite
from adsuite.resources.gpo import requests as io
from adsuite.resources.gpo.admin_templates import Diff
from adsuite.resources.gpo.content import CSE_NAMES, Content

log = logging.getLogger(__name__)

MACHINE_EXTENSIONS = "gPCMachineExtensionNames"
USER_EXTENSIONS = "gPCUserExtensionNames"
SYSVOL_LABEL = "SYSVOL permissions"


@dataclass
class Update:
    """What a GPO change carries besides its files: LDAP attributes and writes before them."""

    attributes: dict[str, Any] = field(default_factory=dict)  # LDAP attribute -> new value
    first: list[Any] = field(default_factory=list)  # e.g. a DaclEdit, before the files
    sync_acl: bool = False


def cse_words(groups: Mapping[str, Sequence[str]]) -> str:
    return ", ".join(CSE_NAMES.get(c, c) for c in sorted(groups)) or "none"


def _extensions(
    diff: Diff, half: str, current: str | None, wanted: Mapping[str, str], managed: Sequence[str]
) -> str | None:
    """The new extension list, if it must change (words in *diff*)."""
    try:
        have = parse_extension_names(current)
    except InputError:
        have = {}
    new = with_extensions(have, wanted, managed)
    if serialize_extension_names(new) == (current or ""):
        return None
    if set(new) != set(have):
        diff.differs(f"{half}: client-side extensions", cse_words(have), cse_words(new))
    return serialize_extension_names(new)


def _ini(state: io.GpoState | None) -> GptIni | None:
    data = state.files.get(io.GPT_INI) if state else None
    if data is None:
        return None
    try:
        return parse_gpt_ini(data, source=io.GPT_INI)
    except InputError:
        return None


def _versions(
    diff: Diff, state: io.GpoState | None, ini: GptIni | None, user: bool, machine: bool
) -> int | None:
    """The new version (both places), or None when nothing moves."""
    ds = state.version_number & 0xFFFFFFFF if state else 0
    file = ini.version if ini else 0
    if not (user or machine or ds != file):
        return None
    (ds_user, ds_machine), (file_user, file_machine) = split_version(ds), split_version(file)
    user |= ds_user != file_user
    machine |= ds_machine != file_machine
    new = join_version(
        _bump(max(ds_user, file_user), user), _bump(max(ds_machine, file_machine), machine)
    )
    if ds != file and state is not None:
        diff.differs("version", f"GPT.INI {file}, directory {ds} (out of step)", f"{new} in both")
    return new


def _bump(half: int, moved: bool) -> int:
    return ((half + 1) & 0xFFFF or 1) if moved else half


def _acl_drift(diff: Diff, state: io.GpoState) -> bool:
    if not state.descriptor:
        return False
    wanted = gpo_acl.file_descriptor(state.descriptor)
    wrong = [
        name or "(the GPT folder)"
        for name, sd in state.descriptors.items()
        if sd is not None
        and not gpo_acl.same_permissions(sd, wanted)
        and not (name and gpo_acl.only_inherits(sd))  # Windows: files inherit the folder's
    ]
    if wrong:
        shown = ", ".join(sorted(wrong)[:3]) + (
            f" and {len(wrong) - 3} more" if len(wrong) > 3 else ""
        )
        diff.differs(
            SYSVOL_LABEL, f"not the GPO's on {shown}", "the GPO's on every file and folder"
        )
    return bool(wrong)


def plan_update(
    kind: str,
    target: str,
    item: Desired,
    state: io.GpoState,
    content: Content,
    update: Update,
    base_dn: str,
    realm: str,
) -> Change | None:
    """The change of an existing GPO, or None when it matches."""
    diff = content.diff
    machine_ext = _extensions(
        diff, "Machine", state.machine_extensions, content.machine_cses, content.machine_managed
    )
    user_ext = _extensions(
        diff, "User", state.user_extensions, content.user_cses, content.user_managed
    )
    ini = _ini(state)
    missing = ini is None and state.descriptors.get("") is None
    if missing:
        diff.differs("GPT folder", "missing", "present")
    sync = _acl_drift(diff, state) or update.sync_acl
    machine = content.changed(io.MACHINE_FILES) or machine_ext is not None
    user = content.changed(io.USER_FILES) or user_ext is not None
    version = _versions(diff, state, ini, user, machine)
    if not diff.after and not update.attributes and not update.first and not sync:
        return None
    attributes = _attributes(update, machine_ext, user_ext, version)
    writes = [
        *update.first,
        *_gpt_write(state, content, ini, version, base_dn, realm, missing, sync),
    ]
    if attributes:
        changes = {k: ("replace", [v] if v else []) for k, v in attributes.items()}
        writes.append(LdapWrite("modify", state.dn, changes=changes))
    expect = io.GpoExpect(realm, base_dn, state.guid, state.name or "", True, state.fingerprint())
    return Change(
        kind, Action.UPDATE, target, diff.before, diff.after, item.location, tuple(writes), expect
    )


def _attributes(
    update: Update, machine_ext: str | None, user_ext: str | None, version: int | None
) -> dict[str, Any]:
    attributes = dict(update.attributes)
    if machine_ext is not None:
        attributes[MACHINE_EXTENSIONS] = machine_ext
    if user_ext is not None:
        attributes[USER_EXTENSIONS] = user_ext
    if version is not None:
        attributes["versionNumber"] = str(to_version_number(version))
    return attributes


def _gpt_write(
    state: io.GpoState,
    content: Content,
    ini: GptIni | None,
    version: int | None,
    base_dn: str,
    realm: str,
    create: bool,
    sync: bool,
) -> list[io.GptWrite]:
    files = dict(content.diff.files)
    if version is None and not files and not sync and not create:
        return []
    extra: dict[str, bytes | None] = {}
    if version is not None or create:
        new_ini = (ini or new_gpt_ini()).with_version(version if version is not None else 0)
        extra[io.GPT_INI] = serialize_gpt_ini(new_ini)
    render = content.render

    def all_files(sids: Mapping[str, str]) -> dict[str, bytes | None]:
        return {**render(sids), **extra}

    return [
        io.GptWrite(
            realm, base_dn, state.guid, state.path, all_files, content.resolve, create, sync
        )
    ]
