"""What a delegation plan reads, in bulk, and the lookups it makes of what was read.

One search each: the OUs with their DACLs (the very query ``ou`` makes, so it runs
once), the schema's classes and attributes by lDAPDisplayName (schemaIDGUID, and the
OU class's defaultSecurityDescriptor), the extended rights by cn (rightsGuid), and the
trustees by sAMAccountName (objectSid). Exact mode adds the domain's SID and NetBIOS
name and an :class:`AcePrincipals` request for the names of the SIDs its ACEs hold.

Schema and configuration are read under the domain's base DN: adsuite's domain is the
forest root (REQUIREMENTS.md 三.2.b, one group root domain).
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

from adsuite.errors import DirectoryError
from adsuite.formats import dn as dnlib
from adsuite.formats import sddl
from adsuite.formats.ldap_query import Entry, Query, by_names, or_filter, sids_found
from adsuite.formats.security_descriptor import Ace
from adsuite.formats.sid import WELL_KNOWN_DOMAIN_RIDS, WELL_KNOWN_SIDS, sid_from_bytes
from adsuite.resources.base import Desired, PlanContext
from adsuite.resources.delegation import dacl
from adsuite.resources.directory import ou, protection

OU_CLASS = "organizationalUnit"


@dataclass(frozen=True)
class AcePrincipals:
    """Request: SID → sAMAccountName for every SID in the explicit ACEs of ``dns``.

    Read by resources/delegation/io.py: the SIDs are only known once the descriptors are read.
    """

    base_dn: str
    dns: tuple[str, ...]


def _configuration(ctx: PlanContext) -> str:
    return f"CN=Configuration,{ctx.base_dn}"


def _schema_query(ctx: PlanContext, names: Iterable[str]) -> Query:
    kinds = "(|(objectClass=classSchema)(objectClass=attributeSchema))"
    return Query(
        f"CN=Schema,{_configuration(ctx)}",
        or_filter("lDAPDisplayName", sorted(set(names), key=str.lower), extra=kinds),
        ("lDAPDisplayName", "schemaIDGUID", "defaultSecurityDescriptor"),
        "one",
    )


def _rights_query(ctx: PlanContext, names: list[str]) -> Query:
    return Query(
        f"CN=Extended-Rights,{_configuration(ctx)}",
        or_filter("cn", names, extra="(objectClass=controlAccessRight)"),
        ("cn", "rightsGuid"),
        "one",
    )


def _netbios_query(ctx: PlanContext) -> Query:
    return Query(
        f"CN=Partitions,{_configuration(ctx)}",
        or_filter("nCName", [ctx.base_dn], extra="(objectClass=crossRef)"),
        ("nETBIOSName",),
        "one",
    )


def _is_ou(dn: str) -> bool:
    return dn.lstrip().upper().startswith("OU=")


@dataclass(frozen=True)
class Requests:
    """Every read one plan makes; ``all`` is what ``queries`` hands the engine."""

    ous: Query
    schema: Query
    trustees: tuple[Query, ...]
    containers: tuple[Query, ...] = ()  # targets that are no OU (CN=Sites, CN=Policies...)
    rights: Query | None = None
    domain: Query | None = None
    netbios: Query | None = None
    principals: AcePrincipals | None = None

    @classmethod
    def build(
        cls,
        ctx: PlanContext,
        schema: Iterable[str],
        rights: Iterable[str],
        trustees: Iterable[str],
        exact_ous: Iterable[str],
        targets: Iterable[str] = (),
    ) -> Requests:
        exact = sorted(set(exact_ous), key=dnlib.key)
        right_names = sorted(set(rights), key=str.lower)
        return cls(
            ous=ou.all_ous(ctx),
            # never an empty OR filter: full_control names no class or attribute
            schema=_schema_query(ctx, {*schema, *([OU_CLASS] if exact or not schema else [])}),
            trustees=tuple(by_names(ctx.base_dn, trustees)),
            containers=tuple(
                Query(
                    dn,
                    "(objectClass=*)",
                    (ou.SD, "objectGUID"),
                    "base",
                    sd_flags=protection.DACL_ONLY,
                )
                for dn in sorted({dnlib.normalize(t) for t in targets if not _is_ou(t)})
            ),
            rights=_rights_query(ctx, right_names) if right_names else None,
            domain=Query(ctx.base_dn, "(objectClass=*)", ("objectSid",), "base") if exact else None,
            netbios=_netbios_query(ctx) if exact else None,
            principals=AcePrincipals(ctx.base_dn, tuple(exact)) if exact else None,
        )

    def all(self) -> list[Hashable]:
        optional = (self.rights, self.domain, self.netbios, self.principals)
        return [
            self.ous,
            self.schema,
            *self.trustees,
            *self.containers,
            *(r for r in optional if r is not None),
        ]


@dataclass
class Facts:
    """What the plan needs, decoded: OUs by DN key, GUIDs and SIDs by lower-case name."""

    realm: str
    ous: dict[str, Entry] = field(default_factory=dict)
    schema: dict[str, uuid.UUID] = field(default_factory=dict)
    rights: dict[str, uuid.UUID] = field(default_factory=dict)
    sids: dict[str, str] = field(default_factory=dict)
    guid_names: dict[uuid.UUID, str] = field(default_factory=dict)
    default_aces: frozenset[Ace] = frozenset()
    domain_sid: str | None = None
    netbios: str | None = None
    names: Mapping[str, str] = field(default_factory=dict)  # SID → sAMAccountName

    @classmethod
    def read(cls, ctx: PlanContext, requests: Requests) -> Facts:
        facts = cls(ctx.realm)
        facts.ous = {dnlib.key(e.dn): e for e in ctx.entries(requests.ous)}
        facts.ous.update((dnlib.key(e.dn), e) for q in requests.containers for e in ctx.entries(q))
        default_sd: str | None = None
        for entry in ctx.entries(requests.schema):
            name, guid = entry.text("lDAPDisplayName"), entry.raw("schemaIDGUID")
            if name and guid:
                facts._learn(facts.schema, name, uuid.UUID(bytes_le=guid[0]))
                if name.lower() == OU_CLASS.lower():
                    default_sd = entry.text("defaultSecurityDescriptor")
        for entry in ctx.entries(requests.rights) if requests.rights else ():
            name, text = entry.text("cn"), entry.text("rightsGuid")
            if name and text:
                facts._learn(facts.rights, name, uuid.UUID(text))
        facts.sids.update(sids_found(e for q in requests.trustees for e in ctx.entries(q)))
        facts._read_exact(ctx, requests, default_sd)
        return facts

    def _learn(self, table: dict[str, uuid.UUID], name: str, guid: uuid.UUID) -> None:
        table[name.lower()] = guid
        self.guid_names[guid] = name

    def _read_exact(self, ctx: PlanContext, requests: Requests, default_sd: str | None) -> None:
        if requests.domain is not None:
            found = [e.raw("objectSid") for e in ctx.entries(requests.domain)]
            self.domain_sid = sid_from_bytes(found[0][0]) if found and found[0] else None
        if requests.netbios is not None:
            named = [e.text("nETBIOSName") for e in ctx.entries(requests.netbios)]
            self.netbios = next((n for n in named if n), None)
        if requests.principals is not None:
            self.names = ctx.fact(requests.principals) or {}
            if default_sd is None or self.domain_sid is None:
                raise DirectoryError(
                    "exact mode needs the domain SID and the organizationalUnit class's "
                    "defaultSecurityDescriptor; the directory returned neither"
                )
            default = sddl.from_sddl(default_sd, self.domain_sid)
            self.default_aces = frozenset(default.dacl.aces if default.dacl else ())

    def schema_guid(self, name: str, item: Desired) -> uuid.UUID:
        return self._guid(self.schema, name, "class or attribute in the schema", item)

    def right_guid(self, name: str, item: Desired) -> uuid.UUID:
        return self._guid(self.rights, name, "extended right in CN=Extended-Rights", item)

    @staticmethod
    def _guid(table: dict[str, uuid.UUID], name: str, what: str, item: Desired) -> uuid.UUID:
        found = table.get(name.lower())
        if found is None:
            where = item.location
            raise DirectoryError(f"no {what} named {name!r}", file=where.file, line=where.line)
        return found

    def trustee_sid(self, name: str, item: Desired, ctx: PlanContext) -> str | None:
        """The trustee's SID; None for one this run creates (checked to exist either way)."""
        dn = ctx.resolve(name, item)
        return self.sids.get(name.lower()) if ctx.exists(dn) else None

    def principal(self, sid: str) -> str:
        """A SID as an administrator reads it: ``GROUP\\someone``, ``Everyone``, or the SID."""
        domain = self.netbios or self.realm.split(".")[0].upper()
        if sid in self.names:
            prefix = "BUILTIN" if sid.startswith("S-1-5-32-") else domain
            return f"{prefix}\\{self.names[sid]}"
        if sid in WELL_KNOWN_SIDS:
            return WELL_KNOWN_SIDS[sid]
        base, _, rid = sid.rpartition("-")
        if self.domain_sid and base == self.domain_sid and int(rid) in WELL_KNOWN_DOMAIN_RIDS:
            return f"{domain}\\{WELL_KNOWN_DOMAIN_RIDS[int(rid)]}"
        return sid

    def describe(self, ace: Ace) -> str:
        return dacl.describe(ace, self.guid_names)
