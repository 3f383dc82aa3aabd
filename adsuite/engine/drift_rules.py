"""Which searches a drift snapshot may answer, and what the DC says of itself.

The rules of engine/drift_incremental.py (its docstring says why they hold): a search is
*eligible* — answered from the snapshot merged with the changes — only if nothing it
reads or filters on can change without the object's uSNChanged rising (:func:`volatile`);
the DC's identity and USN mark (:func:`live_dc`), its attribute schema
(:func:`read_schema`), and an entry read with the extended-DN control as it is stored
(:func:`stored_from`).
"""

from __future__ import annotations

from adsuite.connectors.ldap import Directory
from adsuite.engine.drift_snapshot import Attr, Dc, Stored
from adsuite.errors import DirectoryError
from adsuite.formats import dn as dnlib
from adsuite.formats import extended_dn as ext
from adsuite.formats.ldap_query import Entry, Query

SECRET = frozenset(
    a.lower()
    for a in (
        "unicodePwd", "dBCSPwd", "ntPwdHistory", "lmPwdHistory", "supplementalCredentials",
        "currentValue", "priorValue", "initialAuthIncoming", "initialAuthOutgoing",
        "trustAuthIncoming", "trustAuthOutgoing", "msDS-ManagedPassword", "ms-Mcs-AdmPwd",
        "msLAPS-Password", "msLAPS-EncryptedPassword", "msFVE-RecoveryPassword",
    )
)  # fmt: skip


# marked not replicated (systemFlags 1) in the schema, yet fixed at creation or changed
# exactly when uSNChanged is (a DN change of an ancestor is caught by its own rule)
STEADY = frozenset(
    ("objectguid", "objectsid", "whencreated", "whenchanged", "usncreated", "usnchanged",
     "distinguishedname", "name")
)  # fmt: skip


def volatile(attr: Attr | None, name: str = "") -> bool:
    """Whether an attribute can change without the object's uSNChanged rising: unknown,
    non-replicated (systemFlags 1), constructed (4), a back link (odd linkID); and
    confidential ones (searchFlags 0x80) are never stored."""
    if attr is None:
        return True
    if name in STEADY:
        return False
    backlink = attr.link_id % 2 == 1
    return bool(attr.system_flags & 0x5) or backlink or bool(attr.search_flags & 0x80)


def eligible(query: Query, schema: dict[str, Attr], ncs: tuple[str, ...]) -> bool:
    """Whether *query* can be answered from a snapshot (else it is always searched)."""
    if query.size_limit or query.show_deleted or query.extended_dn or not query.filter:
        return False
    if naming_context(query.base, ncs) is None:
        return False
    names = {a.lower() for a in query.attributes}
    if names & SECRET or any(volatile(schema.get(a), a) for a in names):
        return False
    for name in ext.filter_attributes(query.filter):
        attr = schema.get(name)
        if volatile(attr, name) or name in SECRET:
            return False
        if attr is not None and attr.syntax in ext.DN_SYNTAXES and name != "objectcategory":
            return False  # a DN value in a filter can change with no change to the object
    return True


def naming_context(base: str, ncs: tuple[str, ...]) -> str | None:
    """The naming context *base* lies in (the longest that contains it)."""
    inside = [nc for nc in ncs if base and dnlib.is_under(base, nc)]
    return max(inside, key=len) if inside else None


def in_scope(dn: str, query: Query) -> bool:
    if query.scope == "base":
        return dnlib.key(dn) == dnlib.key(query.base)
    if query.scope == "one":
        return dnlib.depth(dn) == dnlib.depth(query.base) + 1 and dnlib.is_under(dn, query.base)
    return dnlib.is_under(dn, query.base)


def _first(directory: Directory, dn: str, attributes: tuple[str, ...]) -> Entry:
    found = list(directory.search_wire(Query(dn, "(objectClass=*)", attributes, "base")))
    if not found:
        raise DirectoryError(f"read {dn or 'the rootDSE'}: nothing returned")
    return found[0]


def live_dc(directory: Directory) -> tuple[Dc, tuple[str, ...], str]:
    """The DC as it is now, its naming contexts and its schema's DN."""
    names = ("highestCommittedUSN", "dsServiceName", "namingContexts", "schemaNamingContext")
    root = _first(directory, "", names)
    service = root.text("dsServiceName") or ""
    ntds = _first(directory, service, ("invocationId",))
    invocation = b"".join(ntds.raw("invocationId")).hex()
    dc = Dc(directory.endpoint.url, service, invocation, root.integer("highestCommittedUSN") or 0)
    return dc, tuple(root.texts("namingContexts")), root.text("schemaNamingContext") or ""


def read_schema(directory: Directory, schema_nc: str) -> dict[str, Attr]:
    names = ("lDAPDisplayName", "attributeSyntax", "linkID", "systemFlags", "searchFlags")
    query = Query(schema_nc, "(objectClass=attributeSchema)", names, "one")
    out = {}
    for entry in directory.search_wire(query):
        name = entry.text("lDAPDisplayName")
        if name:
            out[name.lower()] = Attr(
                entry.text("attributeSyntax") or "",
                entry.integer("linkID") or 0,
                entry.integer("systemFlags") or 0,
                entry.integer("searchFlags") or 0,
            )
    return out


def stored_from(entry: Entry, schema: dict[str, Attr]) -> Stored | None:
    """An entry read with the extended-DN control, as a plain entry and its GUIDs."""
    dn, guid = ext.split_dn(entry.dn)
    if guid is None:
        return None
    refs: set[bytes] = set()
    attributes: dict[str, tuple[bytes, ...]] = {}
    for name, values in entry.attributes.items():
        attr = schema.get(name.split(";", 1)[0])
        if attr is None or attr.syntax not in ext.DN_SYNTAXES:
            attributes[name] = values
            continue
        plain = []
        for value in values:
            text, ref = ext.split(value)
            plain.append(text)
            if ref is not None:
                refs.add(ref)
        attributes[name] = tuple(plain)
    return Stored(guid, Entry(dn, attributes), frozenset(refs))
