"""A GPO's directory strings, read and written as data: ``gPLink`` on the OUs and the
domain that link GPOs, and ``gPCMachineExtensionNames`` / ``gPCUserExtensionNames`` on
the groupPolicyContainer.

gPLink (MS-GPOL 2.2.2): ``[LDAP://cn={GUID},cn=policies,cn=system,DC=...;options]`` per
link, where options bit 0 disables the link and bit 1 enforces it. The string holds the
links in reverse link order: the *last* entry is link order 1, the one that wins, and a
new link is put first (lowest precedence), as GPMC and ``samba-tool gpo setlink`` do.
:class:`GpLink` keeps links in link order (1 first); :func:`parse_gplink` and
:func:`serialize_gplink` turn the string around.

Extension names (MS-GPOL 2.2.4): ``[{CSE GUID}{tool GUID}...]`` groups. GPMC lists the
groups in ascending order of CSE GUID and the tool GUIDs of a group in ascending order,
comparing the upper-case strings (so do the values Samba provisions and its own tests),
and clients are known to skip extensions of an unsorted list, so
:func:`serialize_extension_names` always writes that order.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from adsuite.errors import InputError

log = logging.getLogger(__name__)

LINK_DISABLED = 0x1
LINK_ENFORCED = 0x2
_GUID = re.compile(
    r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}"
)
_LINK = re.compile(r"\[LDAP://(?P<dn>[^;\]]+);(?P<options>\d+)\]", re.I)
_GROUP = re.compile(r"\[(?P<guids>(?:\{[^{}\[\]]*\})+)\]")


def check_guid(text: str) -> str:
    """``{6AC1786C-016F-11D2-945F-00C04FB984F9}`` in upper case; anything else is refused."""
    value = text.strip()
    if not value.startswith("{"):
        value = "{" + value + "}"
    if not _GUID.fullmatch(value):
        raise InputError(f"{text!r} is not a GUID like {{31B2F340-016D-11D2-945F-00C04FB984F9}}")
    return value.upper()


@dataclass(frozen=True)
class Link:
    """One link: the GPO's DN as written, and the options bits."""

    dn: str
    options: int = 0

    @property
    def enabled(self) -> bool:
        return not self.options & LINK_DISABLED

    @property
    def enforced(self) -> bool:
        return bool(self.options & LINK_ENFORCED)

    @property
    def guid(self) -> str | None:
        """The GPO's GUID, from the first RDN (``cn={GUID}``)."""
        match = _GUID.search(self.dn.split(",", 1)[0])
        return match.group(0).upper() if match else None


def link_options(*, enabled: bool = True, enforced: bool = False) -> int:
    return (0 if enabled else LINK_DISABLED) | (LINK_ENFORCED if enforced else 0)


def gpo_dn(guid: str, base_dn: str) -> str:
    """The DN of a groupPolicyContainer, spelled as GPMC writes it in gPLink."""
    return f"cn={check_guid(guid)},cn=policies,cn=system,{base_dn}"


def parse_gplink(text: str) -> tuple[Link, ...]:
    """The links of a gPLink value, in link order (link order 1 first)."""
    links: list[Link] = []
    position = 0
    stripped = text.strip()
    for match in _LINK.finditer(stripped):
        if stripped[position : match.start()].strip():
            break
        links.append(Link(match["dn"], int(match["options"])))
        position = match.end()
    if stripped[position:].strip():
        raise InputError(f"gPLink {text[:120]!r} is malformed near {stripped[position:][:40]!r}")
    return tuple(reversed(links))


def serialize_gplink(links: Iterable[Link]) -> str:
    """The gPLink value for *links* given in link order (link order 1 first)."""
    ordered = list(links)
    for link in ordered:
        if not 0 <= link.options <= 0xFFFFFFFF or any(c in link.dn for c in ";[]"):
            raise InputError(f"link {link.dn!r};{link.options} cannot be written in gPLink")
    return "".join(f"[LDAP://{link.dn};{link.options}]" for link in reversed(ordered))


def parse_extension_names(text: str | None) -> dict[str, tuple[str, ...]]:
    """``{CSE GUID: (tool GUIDs...)}`` from an extension-names value (GUIDs upper-cased)."""
    found: dict[str, tuple[str, ...]] = {}
    stripped = (text or "").strip()
    position = 0
    for match in _GROUP.finditer(stripped):
        if stripped[position : match.start()].strip():
            break
        guids = [check_guid(g) for g in re.findall(r"\{[^{}]*\}", match["guids"])]
        cse, tools = guids[0], guids[1:]
        found[cse] = tuple(dict.fromkeys((*found.get(cse, ()), *tools)))
        position = match.end()
    if stripped[position:].strip():
        raise InputError(f"extension names {stripped[:120]!r} are malformed")
    return found


def serialize_extension_names(groups: Mapping[str, Iterable[str]]) -> str:
    """Groups sorted by CSE GUID, tool GUIDs sorted within each: Windows' order."""
    parts = []
    for cse in sorted(check_guid(c) for c in groups):
        source = next(tools for c, tools in groups.items() if check_guid(c) == cse)
        tools = sorted({check_guid(t) for t in source})
        parts.append("[" + cse + "".join(tools) + "]")
    return "".join(parts)


def with_extensions(
    current: Mapping[str, tuple[str, ...]],
    wanted: Mapping[str, str],
    managed: Iterable[str],
) -> dict[str, tuple[str, ...]]:
    """*current* with each managed CSE present exactly when *wanted* names it (with its
    tool GUID added); CSEs adsuite does not manage are kept as they are."""
    out = {cse: tools for cse, tools in current.items() if cse not in set(managed)}
    for cse, tool in wanted.items():
        out[cse] = tuple(dict.fromkeys((*current.get(cse, ()), tool)))
    return out
