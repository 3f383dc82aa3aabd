"""Extended DNs (MS-ADTS 3.1.1.3.4.1.5, LDAP_SERVER_EXTENDED_DN_OID) and the attribute
names a search filter tests — what an incremental drift read needs to know of a search.

With the extended-DN control a DC writes the object's GUID (and SID) in front of every
DN it returns, the entry's own and each value of a DN-syntax attribute:
``<GUID=8a44…>;<SID=0105…>;CN=x,DC=y``, and for DN-binary / DN-string values
``B:32:6227…:<GUID=02ed…>;CN=NTDS Quotas,DC=y``. :func:`split` takes the components
off again and returns the plain value (what a search without the control returns) and
the GUID, so an entry can be keyed by objectGUID and a reference followed by GUID even
after the object it names was renamed, moved or deleted. Pure: no I/O.
"""

from __future__ import annotations

import re

EXTENDED_DN_OID = "1.2.840.113556.1.4.529"
DN_SYNTAXES = frozenset({"2.5.5.1", "2.5.5.7", "2.5.5.14"})  # DN, DN-binary, DN-string

_COMPONENT = re.compile(rb"<([A-Za-z]+)=([^>]*)>;")
# an attribute description in a filter item: (name=..), (name>=..), (name~=..), (name:rule:=..)
_ITEM = re.compile(r"\(\s*([A-Za-z0-9][A-Za-z0-9.;-]*)\s*(:[^=()]*)?[~<>]?=")


def split(value: bytes) -> tuple[bytes, bytes | None]:
    """(the value without its extended components, the GUID's 16 bytes or None)."""
    prefix = b""
    if value[:2] in (b"B:", b"S:"):  # DN-binary / DN-string: "B:<len>:<data>:<dn>"
        parts = value.split(b":", 3)
        if len(parts) == 4:
            prefix, value = b":".join(parts[:3]) + b":", parts[3]
    guid: bytes | None = None
    at = 0
    while True:
        found = _COMPONENT.match(value, at)
        if found is None:
            break
        if found.group(1).upper() == b"GUID":
            guid = _guid_bytes(found.group(2))
        at = found.end()
    return prefix + value[at:], guid


def _guid_bytes(text: bytes) -> bytes | None:
    """The GUID as the 16 bytes objectGUID holds: hex form (wire order) or the
    dashed string form (its first three fields little-endian)."""
    try:
        if len(text) == 32:
            return bytes.fromhex(text.decode("ascii"))
        if len(text) == 36:
            raw = bytes.fromhex(text.decode("ascii").replace("-", ""))
            return raw[3::-1] + raw[5:3:-1] + raw[7:5:-1] + raw[8:]
    except ValueError:
        return None
    return None


def split_dn(dn: str) -> tuple[str, bytes | None]:
    """An entry's extended DN as (plain DN, GUID)."""
    plain, guid = split(dn.encode("utf-8"))
    return plain.decode("utf-8"), guid


def filter_attributes(search_filter: str) -> set[str]:
    """The attribute names (lower case) a filter tests; ``"*"`` stands for an
    extensible match (``(name:rule:=v)``, ``(:dn:…)``), whose meaning is the server's."""
    names: set[str] = set()
    for found in _ITEM.finditer(search_filter):
        names.add(found.group(1).lower())
        if found.group(2):
            names.add("*")
    if re.search(r"\(\s*:", search_filter):
        names.add("*")
    return names


_CLASS_TERM = re.compile(r"\(\s*objectclass\s*=\s*([A-Za-z][A-Za-z0-9-]*)\s*\)", re.I)


def required_classes(search_filter: str) -> frozenset[str]:
    """The object classes (lower case) every entry matching *search_filter* must have:
    the filter's own ``(objectClass=x)``, or those among the top-level terms of its
    ``(&…)``. Nothing is guessed from ``|``, ``!`` or wildcards."""
    text = search_filter.strip()
    whole = _CLASS_TERM.fullmatch(text)
    if whole:
        return frozenset({whole.group(1).lower()})
    if not text.startswith("(&") or not text.endswith(")"):
        return frozenset()
    out = set()
    for term in _top_level_terms(text[2:-1]):
        found = _CLASS_TERM.fullmatch(term.strip())
        if found:
            out.add(found.group(1).lower())
    return frozenset(out)


def _top_level_terms(inner: str) -> list[str]:
    """The parenthesised terms of an AND's body (a value's parentheses are escaped as
    \\28 and \\29 in a valid filter, so every bare one is structure)."""
    terms, depth, start = [], 0, 0
    for at, char in enumerate(inner):
        if char == "(":
            if depth == 0:
                start = at
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                terms.append(inner[start : at + 1])
            if depth < 0:
                return []  # not a filter this function understands: require nothing
    return terms if depth == 0 else []


def guid_filter(guids: list[bytes]) -> str:
    """``(|(objectGUID=\\xx…)…)``: objects by GUID, every byte escaped."""
    terms = "".join("(objectGUID=" + "".join(f"\\{b:02x}" for b in g) + ")" for g in guids)
    return f"(|{terms})"
