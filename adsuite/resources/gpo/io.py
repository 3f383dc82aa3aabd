"""GPOs over LDAP and SMB: the reader, writers and checker of the GPO kinds' requests.

- :class:`~adsuite.resources.gpo.requests.GpoRead`: every groupPolicyContainer under
  CN=Policies in one search (owner, group and DACL included), then the GPT files and the
  permissions of their files and folders in one pipelined batch over one SMB session to
  the preferred DC's ``sysvol`` share; SIDs they name are looked up 500 to a search.
- :class:`~adsuite.resources.gpo.requests.GptWrite`: folders and files written with the
  permissions derived from the container's (as ``samba-tool gpo create`` sets them and
  ``samba-tool ntacl sysvolcheck`` expects them on every file and folder).
- :class:`~adsuite.resources.gpo.requests.GpoDelete`: the container subtree, then the GPT.
- :class:`~adsuite.resources.gpo.requests.GpLinkEdit`: one GPO's link on one container,
  read-modify-write of its ``gPLink`` (a rollback restores GPOs one by one).
- :class:`~adsuite.resources.gpo.requests.GpoExpect`: re-read the GPO; a changed version,
  flag, extension list, file or expected link is a conflict.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from adsuite.connectors import smb_files, smb_walk
from adsuite.connectors.smb import Tree
from adsuite.errors import ConflictError, DirectoryError, InputError
from adsuite.formats import gpo_acl
from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.gpo_ldap import Link, parse_gplink, serialize_gplink
from adsuite.formats.gpttmpl_inf import parse_gpttmpl
from adsuite.formats.ldap_query import Entry, Query, sids_required
from adsuite.resources.file_acl.io import sid_names
from adsuite.resources.gpo import links as gpo_links
from adsuite.resources.gpo import requests as io
from adsuite.runtime.connections import Connections
from adsuite.runtime.progress import Progress, Silent

log = logging.getLogger(__name__)

SD = "nTSecurityDescriptor"
SD_FLAGS = 0x07  # owner, group, DACL
GPC_ATTRIBUTES = (
    "cn",
    "displayName",
    "flags",
    "versionNumber",
    "gPCFileSysPath",
    "gPCMachineExtensionNames",
    "gPCUserExtensionNames",
    SD,
)


def sysvol_tree(conn: Connections, realm: str) -> Tree:
    """The ``sysvol`` share of the DC this run reads, signed in as the domain's credential."""
    match = [d for d in conn.inventory.domains.values() if d.realm.lower() == realm.lower()]
    if not match:
        raise InputError(f"no domain with realm {realm} in the inventory")
    return conn.dc_smb(match[0]).tree(io.SHARE)


def _containers(conn: Connections, base_dn: str) -> list[Entry]:
    query = Query(
        io.policies_dn(base_dn),
        "(objectClass=groupPolicyContainer)",
        GPC_ATTRIBUTES,
        "one",
        SD_FLAGS,
    )
    return list(conn.ldap.search(query))


def _match(request: io.GpoRead, entries: Sequence[Entry]) -> tuple[Entry | None, tuple[str, ...]]:
    if request.guid is not None:
        found = [e for e in entries if (e.text("cn") or "").upper() == request.guid.upper()]
        return (found[0] if found else None), ()
    wanted = (request.name or "").casefold()
    found = [e for e in entries if (e.text("displayName") or "").casefold() == wanted]
    others = tuple((e.text("cn") or "").upper() for e in found[1:])
    return (found[0] if found else None), others


def read_gpos(
    conn: Connections, requests: Sequence[io.GpoRead], progress: Progress
) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    by_domain: dict[tuple[str, str], list[io.GpoRead]] = {}
    for request in requests:
        by_domain.setdefault((request.realm, request.base_dn), []).append(request)
    for (realm, base_dn), batch in by_domain.items():
        entries = _containers(conn, base_dn)
        matched = {r: _match(r, entries) for r in batch}
        found = [entry for entry, _ in matched.values() if entry is not None]
        files = _read_gpts(conn, realm, found, progress) if found else {}
        for request, (entry, others) in matched.items():
            out[request] = None if entry is None else _state(entry, realm, files, others)
        states = [s for s in out.values() if s is not None]
        names = sid_names(conn.ldap, batch, _sids(states))
        for request in batch:
            if out[request] is not None:
                out[request] = _with_names(out[request], names)
    return out


def _gpt_of(entry: Entry, realm: str) -> str:
    guid = (entry.text("cn") or "").upper()
    return io.share_path(entry.text("gPCFileSysPath"), realm, guid)


def _read_gpts(
    conn: Connections, realm: str, entries: Sequence[Entry], progress: Progress
) -> dict[str, Any]:
    tree = sysvol_tree(conn, realm)
    roots = [_gpt_of(e, realm) for e in entries]
    files = [_join(root, name) for root in roots for name in io.FILES]
    folders = [_join(root, name) for root in roots for name in io.FOLDERS]
    progress.start(f"reading {len(roots)} GPOs in {tree.unc}", len(files))
    read = smb_files.read_files(tree, files, advance=progress.advance)
    progress.finish()
    folder_sds = smb_walk.read_many(tree, folders, info=smb_files.SD_INFO)
    return {"files": read, "folders": folder_sds}


def _join(root: str, name: str) -> str:
    return f"{root}\\{name}" if name else root


def _state(entry: Entry, realm: str, read: dict[str, Any], others: tuple[str, ...]) -> io.GpoState:
    root = _gpt_of(entry, realm)
    files = {n: read["files"][_join(root, n)].data for n in io.FILES}
    descriptors = {n: read["files"][_join(root, n)].descriptor for n in io.FILES}
    descriptors.update({n: read["folders"].get(_join(root, n)) for n in io.FOLDERS})
    sd = entry.raw(SD)
    return io.GpoState(
        guid=(entry.text("cn") or "").upper(),
        dn=entry.dn,
        name=entry.text("displayName"),
        flags=entry.integer("flags") or 0,
        version_number=entry.integer("versionNumber") or 0,
        machine_extensions=entry.text("gPCMachineExtensionNames"),
        user_extensions=entry.text("gPCUserExtensionNames"),
        descriptor=sd[0] if sd else None,
        path=root,
        files=files,
        descriptors=descriptors,
        names={},
        others=others,
    )


def _sids(states: Iterable[io.GpoState]) -> set[str]:
    found: set[str] = set()
    for state in states:
        if state.descriptor:
            dacl = sdlib.parse(state.descriptor).dacl
            found |= {ace.sid for ace in (dacl.aces if dacl else ())}
        inf = state.files.get(io.GPTTMPL)
        if inf:
            try:
                template = parse_gpttmpl(inf)
                groups, rights = template.group_membership, template.privilege_rights
            except InputError:
                continue  # the plan reports an unreadable file; names are only for words
            listed = [p for held in rights.values() for p in held]
            for group, membership in groups.items():
                listed += [group, *(membership.members or ()), *(membership.memberof or ())]
            found |= {p.lstrip("*").upper() for p in listed if p.startswith("*")}
    return {s for s in found if s.startswith("S-1-5-21-")}


def _with_names(state: io.GpoState, names: dict[str, str]) -> io.GpoState:
    return dataclasses.replace(state, names=names)


def write_gpt(conn: Connections, write: io.GptWrite) -> None:
    tree = sysvol_tree(conn, write.realm)
    sids = _resolve(conn, write.base_dn, write.resolve)
    gpc = conn.ldap.read(io.gpc_dn(write.guid, write.base_dn), [SD], sd_flags=SD_FLAGS)
    raw = gpc.raw(SD) if gpc is not None else ()
    if not raw:
        raise DirectoryError(f"GPO {write.guid}: cannot read its container's permissions")
    descriptor = gpo_acl.file_descriptor(raw[0])
    files = write.render(sids)
    folders = {io.FOLDERS[0], "Machine", "User"} if write.create else set()
    folders |= {name.rpartition("\\")[0] for name, data in files.items() if data is not None}
    for folder in sorted(folders, key=lambda f: (f.count("\\"), f)):
        _ensure(tree, write.path, folder, descriptor)
    for name, data in sorted(files.items(), key=lambda pair: pair[0] == io.GPT_INI):
        target = _join(write.path, name)
        if data is None:
            smb_files.delete_file(tree, target)
        else:
            smb_files.write_file(tree, target, data, descriptor)
    if write.sync_acl:
        _sync_acl(tree, write.path, descriptor)


def _ensure(tree: Tree, root: str, folder: str, descriptor: bytes) -> None:
    """A GPT folder and its missing parents, each with the derived permissions."""
    parts = [p for p in folder.split("\\") if p]
    chain = [""] + ["\\".join(parts[: i + 1]) for i in range(len(parts))]
    for step in chain:
        smb_files.ensure_folder(tree, _join(root, step), descriptor)


def _sync_acl(tree: Tree, root: str, descriptor: bytes) -> None:
    below = smb_files.list_tree(tree, root) or []
    smb_files.set_descriptor(tree, root, descriptor)
    for path, _ in below:
        smb_files.set_descriptor(tree, path, descriptor)
    log.info("set the GPO's permissions on %s\\%s and %d items below", tree.unc, root, len(below))


def _resolve(conn: Connections, base_dn: str, names: Sequence[str]) -> dict[str, str]:
    return sids_required(conn.ldap.search, base_dn, names, "to write into a GPO")


def delete_gpo(conn: Connections, delete: io.GpoDelete) -> None:
    dn = io.gpc_dn(delete.guid, delete.base_dn)
    below = list(conn.ldap.search(Query(dn, "(objectClass=*)", (), "sub")))
    for entry in sorted(below, key=lambda e: -e.dn.count(",")):
        conn.ldap.delete(entry.dn)
    removed = smb_files.delete_tree(sysvol_tree(conn, delete.realm), delete.path)
    log.info("deleted GPO %s and %d SYSVOL items", delete.guid, removed)


def edit_link(conn: Connections, edit: io.GpLinkEdit) -> None:
    """Read the container's gPLink afresh, set the one GPO's link, write it back."""
    have = _links_of(conn, edit.container)
    new = gpo_links.edit_links(have, edit.guid, edit.options, edit.order, edit.base_dn)
    if new == list(have):
        return
    value = serialize_gplink(new)
    conn.ldap.modify(edit.container, {"gPLink": ("replace", [value] if value else [])})


def _links_of(conn: Connections, container: str) -> tuple[Link, ...]:
    entry = conn.ldap.read(container, ["gPLink"])
    text = entry.text("gPLink") if entry is not None else None
    return parse_gplink(text) if text else ()


def check_gpo(conn: Connections, target: str, expect: io.GpoExpect) -> None:
    for container, was in expect.links:
        ordered = not was.startswith(gpo_links.UNORDERED)
        now = gpo_links.words(_links_of(conn, container), expect.guid, order=ordered)
        if now != was:
            raise ConflictError(
                f"{target}: its link on {container} changed since the plan ({was} → {now})"
            )
    by_guid = io.GpoRead(expect.realm, expect.base_dn, guid=expect.guid)
    by_name = io.GpoRead(expect.realm, expect.base_dn, name=expect.name)
    if expect.exists is False:
        entries = _containers(conn, expect.base_dn)
        if any(_match(r, entries)[0] is not None for r in (by_guid, by_name)):
            raise ConflictError(f"{target} was created by someone else since the plan")
        return
    state = read_gpos(conn, [by_guid], Silent())[by_guid]
    if state is None:
        raise ConflictError(f"{target} no longer exists")
    if expect.fingerprint is not None and state.fingerprint() != expect.fingerprint:
        raise ConflictError(f"{target} changed since the plan (its version, settings or files)")


# this protocol's part of engine/protocols.py's tables
READS = {io.GpoRead: read_gpos}
WRITES = {io.GptWrite: write_gpt, io.GpoDelete: delete_gpo, io.GpLinkEdit: edit_link}
CHECKS = {io.GpoExpect: check_gpo}
