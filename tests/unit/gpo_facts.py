"""GPO facts described as data for tests: containers with links, accounts, and GPOs whose
files are serialized with adsuite's codecs; a reader that answers the planner from them.

A case (see gpo_cases/*.yml) has ``accounts`` (sAMAccountName -> SID), ``ous`` (OU paths
that exist), ``links`` (OU path or ``domain`` -> ``"{GUID};options"`` in link order, 1
first) and ``gpos`` (each GPO's container and files). A new GPO's GUID is NEW_GUID.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from adsuite.engine.planner import Plan, build_plan
from adsuite.errors import InputError
from adsuite.formats import audit_csv, gpo_acl, sddl
from adsuite.formats import dn as dnlib
from adsuite.formats.gpo_ldap import Link, gpo_dn, serialize_gplink
from adsuite.formats.gpt_ini import new_gpt_ini, serialize_gpt_ini, to_version_number
from adsuite.formats.gpttmpl_inf import InfSection, assemble, serialize_gpttmpl
from adsuite.formats.ldap_query import Entry, Query
from adsuite.formats.registry_pol import PolEntry, serialize_registry_pol
from adsuite.formats.security_descriptor import to_bytes
from adsuite.formats.sid import sid_to_bytes
from adsuite.resources import registry
from adsuite.resources.base import Desired
from adsuite.resources.gpo import requests as io
from adsuite.resources.gpo.spec import AUDIT_WORDS
from adsuite.runtime.inventory import Domain
from adsuite.source import Location

CASES = Path(__file__).parent / "gpo_cases"
DOMAIN_SID = "S-1-5-21-1-2-3"
BASE = "DC=group,DC=example,DC=com"
NEW_GUID = "{00000000-0000-0000-0000-0000000000AA}"
DOMAIN = Domain.model_validate(
    {
        "realm": "GROUP.EXAMPLE.COM",
        "base_dn": BASE,
        "netbios": "GROUP",
        "credential": "x",
        "dcs": {"dc1": {"ldap_url": "ldaps://127.0.0.1:636"}},
    }
)
NEW_GPC_SDDL = (
    "O:DAG:DAD:P(A;CI;RPWPCCDCLCLORCWOWDSDDTSW;;;DA)(A;CI;RPWPCCDCLCLORCWOWDSDDTSW;;;EA)"
    "(A;CIIO;RPWPCCDCLCLORCWOWDSDDTSW;;;CO)(A;;RPWPCCDCLCLORCWOWDSDDTSW;;;DA)"
    "(A;CI;RPWPCCDCLCLORCWOWDSDDTSW;;;SY)(A;CI;RPLCLORC;;;AU)"
    "(OA;CI;CR;edacfd8f-ffb3-11d1-b41d-00a0c968f939;;AU)(A;CI;RPLCLORC;;;ED)"
)


def container_dn(path: str) -> str:
    return BASE if path == "domain" else dnlib.ou_path_to_dn(path, BASE)


def containers(case: dict[str, Any]) -> list[Entry]:
    links = case.get("links") or {}
    out = []
    for path in ["domain", *(case.get("ous") or []), *(p for p in links if p != "domain")]:
        entries = [e.split(";") for e in links.get(path, [])]
        value = serialize_gplink(Link(gpo_dn(g, BASE), int(o)) for g, o in entries)
        attributes = {"gplink": (value.encode(),)} if value else {}
        out.append(Entry(container_dn(path), attributes))
    return list({dnlib.key(e.dn): e for e in out}.values())


def accounts(case: dict[str, Any]) -> list[Entry]:
    return [
        Entry(
            f"CN={name},CN=Users,{BASE}",
            {"samaccountname": (name.encode(),), "objectsid": (sid_to_bytes(sid),)},
        )
        for name, sid in (case.get("accounts") or {}).items()
    ]


def pol(entries: Sequence[dict[str, Any]] | None) -> bytes | None:
    if entries is None:
        return None
    made = []
    for e in entries:
        data: Any = tuple(e["data"]) if isinstance(e.get("data"), list) else e["data"]
        made.append(PolEntry(e["key"], e["value"], e.get("type", "REG_SZ"), data))
    return serialize_registry_pol(made)


def template(lines: Sequence[str] | None) -> bytes | None:
    if lines is None:
        return None
    sections: list[InfSection] = []
    for line in lines:
        if line.startswith("["):
            sections.append(InfSection(line.strip("[]"), ()))
        else:
            last = sections.pop()
            sections.append(InfSection(last.name, (*last.lines, line)))
    return serialize_gpttmpl(assemble(sections))


def audit(settings: dict[str, str] | None) -> bytes | None:
    if settings is None:
        return None
    rows = audit_csv.build_audit_csv({k: AUDIT_WORDS[v] for k, v in settings.items()})
    return audit_csv.serialize_audit_csv(rows)


def state(data: dict[str, Any]) -> io.GpoState:
    guid = data["guid"]
    version = data.get("version", 0)
    descriptor = to_bytes(sddl.from_sddl(data.get("sddl", NEW_GPC_SDDL), DOMAIN_SID))
    derived = gpo_acl.file_descriptor(descriptor)
    files = {
        io.GPT_INI: serialize_gpt_ini(new_gpt_ini(data.get("gpt_version", version))),
        io.USER_POL: pol(data.get("user_registry")),
        io.MACHINE_POL: pol(data.get("machine_registry")),
        io.GPTTMPL: template(data.get("gpttmpl")),
        io.AUDIT_CSV: audit(data.get("audit")),
    }
    drifted = set(data.get("acl_drift") or [])
    other = to_bytes(sddl.from_sddl("O:BAG:BAD:(A;;FA;;;BA)", DOMAIN_SID))
    descriptors: dict[str, bytes | None] = {
        name: (other if name in drifted else derived) if files.get(name, b"") is not None else None
        for name in (*io.FILES, *io.FOLDERS)
    }
    return io.GpoState(
        guid=guid,
        dn=io.gpc_dn(guid, BASE),
        name=data["name"],
        flags=data.get("flags", 0),
        version_number=to_version_number(version),
        machine_extensions=data.get("machine_extensions"),
        user_extensions=data.get("user_extensions"),
        descriptor=descriptor,
        path=io.gpt_path(DOMAIN.realm, guid),
        files=files,
        descriptors=descriptors,
        names=data.get("names") or {},
        others=tuple(data.get("others") or ()),
    )


def desired(tasks: Sequence[dict[str, Any]]) -> dict[str, list[Desired]]:
    out: dict[str, list[Desired]] = {name: [] for name in registry.KINDS}
    for line, task in enumerate(tasks, start=1):
        ((kind, args),) = task.items()
        try:
            spec = registry.KINDS[kind].spec.model_validate(args)
        except ValidationError as error:  # the loader reports these as file:line InputErrors
            raise InputError(str(error), file="case.yml", line=line) from None
        out[kind].append(Desired(spec, Location("case.yml", line), f"task {line}"))
    return out


def reader(case: dict[str, Any]) -> Any:
    gpos = [state(g) for g in case.get("gpos") or []]

    def find(request: io.GpoRead) -> io.GpoState | None:
        for found in gpos:
            if request.guid and found.guid == request.guid:
                return found
            if request.name and (found.name or "").casefold() == request.name.casefold():
                return found
        return None

    def read(requests: Sequence[Hashable]) -> dict[Hashable, Any]:
        out: dict[Hashable, Any] = {}
        for request in requests:
            if isinstance(request, io.GpoRead):
                out[request] = find(request)
            elif isinstance(request, Query) and "gPLink" in request.attributes:
                out[request] = containers(case)
            elif isinstance(request, Query) and "sAMAccountName" in request.attributes:
                out[request] = accounts(case)
            else:
                out[request] = [e for e in containers(case) if dnlib.key(e.dn) != dnlib.key(BASE)]
        return out

    return read


def plan_of(case: dict[str, Any]) -> Plan:
    return build_plan("group", DOMAIN, desired(case["tasks"]), reader(case))
