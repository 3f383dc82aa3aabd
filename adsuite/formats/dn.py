"""Distinguished names (RFC 4514): escape, parse, normalise, and OU paths.

An OU path is how playbooks name OUs: ``HQ/Users`` under the domain's base DN is
``OU=Users,OU=HQ,DC=group,DC=example,DC=com``. A ``/`` inside an OU name is written
``\\/`` in a path.
"""

from __future__ import annotations

import functools
import re

from ldap3.core.exceptions import LDAPInvalidDnError
from ldap3.utils.dn import parse_dn

_SPECIAL = set(',+"\\<>;=')
_DN_START = re.compile(r"^\s*(CN|OU|DC|O|L|ST|C|UID)\s*=", re.IGNORECASE)
MAX_RDN_VALUE = 64
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_PATH_SEPARATOR = re.compile(r"(?<!\\)/")
# RDNs of type=value, types as RFC 4514 names them, values without any character that
# escaping, quoting or multi-valued RDNs involve; spaces only inside values. A '#' is
# special only as a value's first character (a hex-encoded value): mid-value it is plain
# text (AD allows CN=a#b), and ldap3's general parser, which refuses it, never sees it.
_VALUE_FIRST = r'[^ ,=+"\\<>;#\x00-\x1f]'
_VALUE_CHAR = r'[^,=+"\\<>;\x00-\x1f]'
_VALUE_LAST = r'[^ ,=+"\\<>;\x00-\x1f]'
_PLAIN_RDN = rf" *[A-Za-z][A-Za-z0-9-]* *= *{_VALUE_FIRST}(?:{_VALUE_CHAR}*{_VALUE_LAST})? *"
_PLAIN_DN = re.compile(rf"{_PLAIN_RDN}(?:,{_PLAIN_RDN})*\Z")
# a plain DN already in canonical spelling (upper-case types, no spaces around , and =),
# as join writes it: split, normalize, depth and rdn_value need not parse it
_NORMAL_RDN = rf"[A-Z][A-Z0-9-]*={_VALUE_FIRST}(?:{_VALUE_CHAR}*{_VALUE_LAST})?"
_NORMAL_DN = re.compile(rf"{_NORMAL_RDN}(?:,{_NORMAL_RDN})*\Z")


_NEEDS_ESCAPE = re.compile(r'[,+"\\<>;=\x00]|^[ #]| $')


def escape_value(value: str) -> str:
    """Escape an attribute value for use in an RDN."""
    if not _NEEDS_ESCAPE.search(value):
        return value  # the common case, and planning calls this for every DN it reads
    out = []
    for i, char in enumerate(value):
        leading = i == 0 and char in " #"
        trailing = i == len(value) - 1 and char == " "
        if char in _SPECIAL or leading or trailing:
            out.append("\\" + char)
        elif char == "\x00":
            out.append("\\00")
        else:
            out.append(char)
    return "".join(out)


def split(dn: str) -> list[tuple[str, str]]:
    """``[(type, unescaped value), ...]``; ValueError for a malformed DN."""
    return list(_split(dn))


@functools.lru_cache(maxsize=65536)
def _split(dn: str) -> tuple[tuple[str, str], ...]:
    # plans compare the same DNs many times over: parse each one once
    plain = _plain_split(dn)
    if plain is not None:
        return plain
    try:
        parts = parse_dn(dn, escape=False, strip=True)
    except (LDAPInvalidDnError, IndexError, ValueError) as error:
        raise ValueError(f"malformed DN {dn!r}") from error
    if not parts:
        raise ValueError("empty DN")
    return tuple((kind.upper(), _unescape(value)) for kind, value, _sep in parts)


def _plain_split(dn: str) -> tuple[tuple[str, str], ...] | None:
    """The DNs a directory returns are almost all plain — no escapes, quotes or
    multi-valued RDNs — and split on ``,`` and ``=`` exactly as RFC 4514 parses them:
    ten times faster than the general parser, which takes everything else (None)."""
    if not _PLAIN_DN.match(dn):
        return None
    out = []
    for part in dn.split(","):
        kind, _, value = part.partition("=")
        out.append((kind.strip().upper(), value.strip()))
    return tuple(out)


def join(parts: list[tuple[str, str]]) -> str:
    return ",".join(f"{kind}={escape_value(value)}" for kind, value in parts)


@functools.lru_cache(maxsize=65536)
def normalize(dn: str) -> str:
    """Canonical spelling: upper-case types, no spaces around separators."""
    if _NORMAL_DN.match(dn):
        return dn  # a 200,000-object plan normalizes as many DNs that join wrote
    return join(split(dn))


@functools.lru_cache(maxsize=65536)
def key(dn: str) -> str:
    """A comparison key: DNs are compared case-insensitively."""
    return normalize(dn).lower()


@functools.lru_cache(maxsize=65536)
def looks_like_dn(text: str) -> bool:
    if not _DN_START.match(text):
        return False
    if _NORMAL_DN.match(text):
        return True
    try:
        split(text)
    except ValueError:
        return False
    return True


def child(kind: str, value: str, parent_dn: str) -> str:
    """``join([(kind, value), *split(parent_dn)])`` for a *parent_dn* that join wrote."""
    return f"{kind}={escape_value(value)},{parent_dn}"


def parent(dn: str) -> str:
    if _NORMAL_DN.match(dn):
        return dn.partition(",")[2]  # join(split(dn)[1:]) would spell it the same
    return join(split(dn)[1:])


def rdn_value(dn: str) -> str:
    if _NORMAL_DN.match(dn):
        return dn.partition(",")[0].partition("=")[2]
    return split(dn)[0][1]


def depth(dn: str) -> int:
    if _NORMAL_DN.match(dn):
        return dn.count(",") + 1
    return len(split(dn))


def is_under(dn: str, base: str) -> bool:
    """True if *dn* is *base* or lies below it."""
    return key(dn) == key(base) or key(dn).endswith("," + key(base))


def ou_path_segments(path: str) -> list[str]:
    """``'HQ/Users'`` → ``['HQ', 'Users']``; ValueError naming what is wrong.

    A leading space or ``#`` is a legal AD name (escaped in the DN as RFC 4514 says);
    a trailing space is refused, as is anything that reads as a DN instead of a path.
    """
    return list(_ou_path_segments(path))


@functools.lru_cache(maxsize=4096)
def _ou_path_segments(path: str) -> tuple[str, ...]:
    # 10,000 users in a few OUs: each spec's validation checks the same few paths
    if _CONTROL.search(path):
        raise ValueError("bad OU path: it contains a control character")
    segments = tuple(s.replace("\\/", "/") for s in _PATH_SEPARATOR.split(path))
    for segment in segments:
        if not segment.strip():
            raise ValueError(f"bad OU path {path!r}: empty name between '/'")
        if _DN_START.match(segment):
            raise ValueError("bad OU path: write it as a path like HQ/Users, not as a DN")
        if segment != segment.rstrip():
            raise ValueError(f"bad OU path {path!r}: {segment!r} ends with a space")
        if len(segment) > MAX_RDN_VALUE:
            raise ValueError(f"bad OU path {path!r}: {segment[:20]!r}… is over 64 characters")
    return segments


@functools.lru_cache(maxsize=4096)
def ou_path_to_dn(path: str, base_dn: str) -> str:
    # a playbook names a few OUs for many objects: a 200,000-task plan asks 400,000 times
    parts = [("OU", segment) for segment in reversed(ou_path_segments(path))]
    return join(parts + split(base_dn))


def ou_path_from_dn(dn: str, base_dn: str) -> str:
    """``OU=Users,OU=HQ,<base>`` → ``HQ/Users``; ValueError if it is not an OU under base."""
    parts, base = split(dn), split(base_dn)
    inner = parts[: len(parts) - len(base)]
    if key(join(parts[len(inner) :])) != key(base_dn) or not inner:
        raise ValueError(f"{dn} is not under {base_dn}")
    if any(kind != "OU" for kind, _ in inner):
        raise ValueError(f"{dn} is not an OU path (only OUs can be named by path)")
    return "/".join(value.replace("/", "\\/") for _, value in reversed(inner))


def _unescape(value: str) -> str:
    """Undo RFC 4514 escapes; ``\\XX`` hex pairs are UTF-8 bytes."""
    out = bytearray()
    i = 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            pair = value[i + 1 : i + 3]
            if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
                out.append(int(pair, 16))
                i += 3
                continue
            out += value[i + 1].encode("utf-8")
            i += 2
            continue
        out += char.encode("utf-8")
        i += 1
    return out.decode("utf-8", errors="replace")
