"""Checks of the domain's shared state: FSMO role holders, the tombstone lifetime, and
every GPO's version in LDAP against its GPT.INI in SYSVOL, on every DC.

GPOs are read in bulk per DC: one one-level search of CN=Policies, then every GPT.INI
in one pipelined batch over that DC's SMB session. The comparison is pure
(:func:`gpo_mismatches`), tested with plain data.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from adsuite.connectors import smb_files
from adsuite.connectors.ldap import Directory
from adsuite.errors import AdsuiteError, InputError
from adsuite.formats import dn as dnlib
from adsuite.formats.gpt_ini import from_version_number, parse_gpt_ini
from adsuite.formats.ldap_query import Query
from adsuite.health.context import DcLink, HealthContext
from adsuite.health.model import DOMAIN, Finding, Info, finding
from adsuite.resources.gpo import requests as gpo

log = logging.getLogger(__name__)

Result = Finding | Info
DEFAULT_TOMBSTONE_DAYS = 60  # what AD assumes when tombstoneLifetime is not set


def fsmo_objects(base_dn: str, root: Mapping[str, str]) -> dict[str, str]:
    """Role -> the object whose fSMORoleOwner names its holder."""
    config = root["configurationNamingContext"]
    return {
        "pdc": base_dn,
        "rid": f"CN=RID Manager$,CN=System,{base_dn}",
        "infrastructure": f"CN=Infrastructure,{base_dn}",
        "schema": root["schemaNamingContext"],
        "naming": f"CN=Partitions,{config}",
    }


def _root(link: DcLink) -> dict[str, str]:
    names = ("configurationNamingContext", "schemaNamingContext")
    return {n: (link.root.text(n) if link.root else None) or "" for n in names}


def holder_words(owner: str | None, servers: Mapping[str, str]) -> str | None:
    """Why *owner* (an NTDS Settings DN) is not a good holder; None when it is a DC in
    *servers* (dsServiceName key -> inventory key)."""
    if not owner:
        return "has no holder"
    if dnlib.key(owner) in servers:
        return None
    if "\\0ADEL:" in owner.upper() or "\nDEL:" in owner.upper():
        return f"is held by a deleted DC ({owner})"
    server = dnlib.rdn_value(dnlib.parent(owner)) if dnlib.looks_like_dn(owner) else owner
    return f"is held by {server}, which is not an answering DC of the inventory"


def fsmo(ctx: HealthContext) -> Iterator[Result]:
    """The five roles' holders, read on the first answering DC, each an answering DC."""
    answering = ctx.answering()
    if not answering:
        return
    first = answering[0]
    servers = {
        dnlib.key(link.root.text("dsServiceName") or ""): link.key
        for link in answering
        if link.root
    }
    assert first.directory is not None
    for role, dn in fsmo_objects(ctx.domain.base_dn, _root(first)).items():
        entry = first.directory.read(dn, ["fSMORoleOwner"])
        owner = entry.text("fSMORoleOwner") if entry else None
        ctx.report.measure(DOMAIN, f"fsmo_{role}", servers.get(dnlib.key(owner or ""), owner))
        wrong = holder_words(owner, servers)
        if wrong:
            yield finding(DOMAIN, "fsmo", f"FSMO role {role} {wrong}", about=role)


def tombstone(ctx: HealthContext) -> Iterator[Result]:
    """The forest's tombstone lifetime, against the inventory's minimum."""
    answering = ctx.answering()
    if not answering or answering[0].directory is None:
        return
    config = _root(answering[0])["configurationNamingContext"]
    dn = f"CN=Directory Service,CN=Windows NT,CN=Services,{config}"
    entry = answering[0].directory.read(dn, ["tombstoneLifetime"])
    set_days = entry.integer("tombstoneLifetime") if entry else None
    days = set_days if set_days is not None else DEFAULT_TOMBSTONE_DAYS
    ctx.report.measure(DOMAIN, "tombstone_lifetime_days", days)
    least = ctx.limits.min_tombstone_days
    if days < least:
        how = "" if set_days is not None else " (not set: the default)"
        yield finding(DOMAIN, "tombstone", f"tombstone lifetime is {days} days{how}, below {least}")
    else:
        yield Info(DOMAIN, "tombstone", f"tombstone lifetime {days} days")


@dataclass(frozen=True)
class Gpc:
    guid: str
    name: str
    version_number: int
    path: str  # the GPT folder relative to the sysvol share


def gpo_mismatches(
    containers: Sequence[Gpc], files: Mapping[str, bytes | None]
) -> list[tuple[Gpc, str]]:
    """Each GPO whose GPT.INI (by path) is missing, unreadable or of another version, in words."""
    lines: list[tuple[Gpc, str]] = []
    for gpc in containers:
        ldap_version = from_version_number(gpc.version_number)
        data = files.get(f"{gpc.path}\\{gpo.GPT_INI}")
        label = f"GPO {gpc.name} {gpc.guid}"
        if data is None:
            lines.append((gpc, f"{label}: GPT.INI missing in SYSVOL (LDAP version {ldap_version})"))
            continue
        try:
            file_version = parse_gpt_ini(data).version
        except InputError:
            lines.append((gpc, f"{label}: GPT.INI unreadable (LDAP version {ldap_version})"))
            continue
        if file_version != ldap_version:
            lines.append(
                (gpc, f"{label}: LDAP version {ldap_version}, GPT.INI version {file_version}")
            )
    return lines


def read_containers(directory: Directory, base_dn: str, realm: str) -> list[Gpc]:
    query = Query(
        gpo.policies_dn(base_dn),
        "(objectClass=groupPolicyContainer)",
        ("cn", "displayName", "versionNumber", "gPCFileSysPath"),
        "one",
    )
    found = []
    for entry in directory.search(query):
        guid = (entry.text("cn") or "").upper()
        path = gpo.share_path(entry.text("gPCFileSysPath"), realm, guid)
        found.append(
            Gpc(guid, entry.text("displayName") or guid, entry.integer("versionNumber") or 0, path)
        )
    return found


def gpo_versions(ctx: HealthContext) -> Iterator[Result]:
    """Per answering DC with SMB: its containers' versions against its own SYSVOL."""
    realm = ctx.domain.realm
    for link in ctx.answering():
        session = ctx.smb(link)
        if session is None or link.directory is None:
            yield Info(link.key, "gpo", f"{link.key}: GPO versions not compared (no SMB)")
            continue
        containers = read_containers(link.directory, ctx.domain.base_dn, realm)
        try:
            paths = [f"{g.path}\\{gpo.GPT_INI}" for g in containers]
            read = smb_files.read_files(session.tree(gpo.SHARE), paths)
        except AdsuiteError as error:
            yield finding(link.key, "gpo", f"{link.key}: SYSVOL unreadable: {error}")
            continue
        files = {path: state.data for path, state in read.items()}
        ctx.report.measure(link.key, "gpos_compared", len(containers))
        for gpc, line in gpo_mismatches(containers, files):
            yield finding(link.key, "gpo", f"{link.key}: {line}", about=gpc.guid)
