"""GptTmpl.inf (MS-GPSB 2.2): a GPO's security template, read and written as data.

The file is UTF-16LE with a byte-order mark and CRLF line ends. It holds ``[Section]``
headers and lines under them. :class:`GptTmpl` keeps every section and every line exactly
as read (key case, ``%SystemRoot%``, ``"path",2,"D:PAR(...)"``), so a file Windows or
Samba wrote serializes back byte for byte; only blank lines are dropped, because Samba's
``GptTmplInfParser`` (which ``samba-tool`` uses) crashes on them.

Typed views read the sections the GPO engine manages (:mod:`adsuite.formats.gpttmpl_sections`
builds them): ``system_access`` and ``event_audit`` (``key = number``), ``privilege_rights``
(``SeRight = *S-1-...,*S-1-...``), ``group_membership`` (``*S-1-5-32-544__Members = ...``,
``__Memberof``), ``registry_values`` (``MACHINE\\path\\name=type,data``) and ``services``
(``[Service General Setting]``, MS-GPSB 2.2.8: ``"AppIDSvc",2,""`` — service name, startup
mode 2 automatic / 3 manual / 4 disabled, security descriptor as SDDL or ``""`` for none;
name and SDDL may be quoted or not, as the grammar allows, and are written quoted as
Windows and Samba write them).

Written files put ``[Unicode]`` and ``[Version]`` first and then the sections in Samba's
order (the MS-GPSB 2.2 grammar also puts the two preambles first; Windows itself writes
``[Version]`` after ``[System Access]`` and either order is read), ``key = value`` lines
and no blank lines.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from adsuite.errors import InputError

log = logging.getLogger(__name__)

UNICODE = "Unicode"
VERSION = "Version"
SYSTEM_ACCESS = "System Access"
EVENT_AUDIT = "Event Audit"
REGISTRY_VALUES = "Registry Values"
PRIVILEGE_RIGHTS = "Privilege Rights"
GROUP_MEMBERSHIP = "Group Membership"
SYSTEM_LOG = "System Log"
SECURITY_LOG = "Security Log"
APPLICATION_LOG = "Application Log"
SERVICE_GENERAL_SETTING = "Service General Setting"

SECTION_ORDER: tuple[str, ...] = (
    UNICODE,
    VERSION,
    SYSTEM_ACCESS,
    "Kerberos Policy",
    SYSTEM_LOG,
    SECURITY_LOG,
    APPLICATION_LOG,
    EVENT_AUDIT,
    REGISTRY_VALUES,
    PRIVILEGE_RIGHTS,
    SERVICE_GENERAL_SETTING,
    "Registry Keys",
    "File Security",
    GROUP_MEMBERSHIP,
)
"""Where each known section goes in a written file: Samba's writer order."""

_HEADER = re.compile(r"\[(?P<name>[^\[\]]*)\]")
_REGISTRY_VALUE = re.compile(r"(?P<path>.+?)=(?P<type>\d+),(?P<data>.*)\Z", re.S)
_NUMBER = re.compile(r"-?\d+\Z")
_SERVICE = re.compile(
    r'\s*(?:"(?P<qname>[^"]*)"|(?P<name>[^",]*?))\s*,\s*(?P<mode>\d+)\s*,'
    r'\s*(?:"(?P<qsddl>[^"]*)"|(?P<sddl>[^"]*?))\s*\Z'
)
SERVICE_NAME = re.compile(r"[A-Za-z0-9!#-+\-.:-@\[\]-`{-~]{1,256}\Z")
"""MS-GPSB 2.2.8 ServiceName: 1 to 256 IdCharacters (no space, quote, comma, / or \\)."""
STARTUP_MODES = (2, 3, 4)


def _rank(name: str) -> int:
    folded = [known.casefold() for known in SECTION_ORDER]
    key = name.casefold()
    return folded.index(key) if key in folded else len(SECTION_ORDER)


@dataclass(frozen=True)
class InfSection:
    """One ``[name]`` section and its lines, verbatim and without line ends."""

    name: str
    lines: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        if not self.name.strip() or any(c in self.name for c in "[]\r\n"):
            raise InputError(f"section name {self.name!r} cannot be written in an INF file")
        for line in self.lines:
            if not line.strip() or "\r" in line or "\n" in line or _HEADER.fullmatch(line.strip()):
                raise InputError(f"[{self.name}] line {line!r} is blank, multi-line or a header")

    def pairs(self) -> list[tuple[str, str]]:
        """``key = value`` lines split at the first ``=`` and stripped, in order."""
        result = []
        for line in self.lines:
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise InputError(f"[{self.name}] line {line!r} is not 'key = value'")
            result.append((key.strip(), value.strip()))
        return result

    def mapping(self) -> dict[str, str]:
        """:meth:`pairs` as a dict; a key given twice (case-insensitively) is an error."""
        result: dict[str, str] = {}
        seen: set[str] = set()
        for key, value in self.pairs():
            if key.casefold() in seen:
                raise InputError(f"[{self.name}] sets {key!r} twice")
            seen.add(key.casefold())
            result[key] = value
        return result


@dataclass(frozen=True)
class GroupMembership:
    """Restricted Groups for one group: ``None`` leaves that half unmanaged.

    ``members`` (``<group>__Members``) replaces the group's whole membership, so ``()``
    empties it; ``memberof`` (``<group>__Memberof``) only adds the group to the listed ones.
    """

    members: tuple[str, ...] | None = None
    memberof: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for field in ("members", "memberof"):
            value = getattr(self, field)
            if value is not None:
                object.__setattr__(self, field, tuple(value))


@dataclass(frozen=True)
class RegistryValue:
    """A ``[Registry Values]`` entry: type number and data (int for 4, tuple for 7)."""

    type: int
    data: int | str | tuple[str, ...]


@dataclass(frozen=True)
class ServiceSetting:
    """A ``[Service General Setting]`` entry: startup mode (2, 3, 4) and SDDL (``""``: none)."""

    startup: int
    sddl: str = ""


def parse_service_line(line: str) -> tuple[str, ServiceSetting]:
    """``"AppIDSvc",2,"D:AR(...)"`` (quotes optional) -> name and setting."""
    match = _SERVICE.fullmatch(line)
    name = match["qname"] if match and match["qname"] is not None else match and match["name"]
    if match is None or not name or not SERVICE_NAME.match(name):
        raise InputError(f"[{SERVICE_GENERAL_SETTING}] line {line!r} is not 'name,mode,sddl'")
    if int(match["mode"]) not in STARTUP_MODES:
        raise InputError(
            f"[{SERVICE_GENERAL_SETTING}] {name} startup mode {match['mode']} is not 2, 3 or 4"
        )
    sddl = match["qsddl"] if match["qsddl"] is not None else match["sddl"]
    return name, ServiceSetting(int(match["mode"]), sddl.strip())


def service_line(name: str, setting: ServiceSetting) -> str:
    """The line Windows and Samba write: ``"name",mode,"sddl"``."""
    if not SERVICE_NAME.match(name):
        raise InputError(f"service name {name!r} is not 1 to 256 letters, digits or symbols")
    if setting.startup not in STARTUP_MODES:
        raise InputError(f"service {name} startup mode {setting.startup!r} is not 2, 3 or 4")
    if any(c in setting.sddl for c in '"\r\n'):
        raise InputError(f"service {name} SDDL holds a quote or a line break")
    return f'"{name}",{setting.startup},"{setting.sddl}"'


@dataclass(frozen=True)
class GptTmpl:
    """A whole GptTmpl.inf: its sections in file order."""

    sections: tuple[InfSection, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "sections", tuple(self.sections))
        seen: set[str] = set()
        for section in self.sections:
            if section.name.casefold() in seen:
                raise InputError(f"section [{section.name}] appears twice")
            seen.add(section.name.casefold())

    def section(self, name: str) -> InfSection | None:
        """The section called ``name`` (case-insensitive), if present."""
        wanted = name.casefold()
        return next((s for s in self.sections if s.name.casefold() == wanted), None)

    def with_section(self, section: InfSection) -> GptTmpl:
        """Replace the section of that name in place, or insert it where it belongs."""
        wanted = section.name.casefold()
        if any(s.name.casefold() == wanted for s in self.sections):
            return GptTmpl(
                tuple(section if s.name.casefold() == wanted else s for s in self.sections)
            )
        rank = _rank(section.name)
        at = next((i for i, s in enumerate(self.sections) if _rank(s.name) > rank), None)
        at = len(self.sections) if at is None else at
        return GptTmpl((*self.sections[:at], section, *self.sections[at:]))

    def without_section(self, name: str) -> GptTmpl:
        """This template without the section called ``name``."""
        wanted = name.casefold()
        return GptTmpl(tuple(s for s in self.sections if s.name.casefold() != wanted))

    def _mapping(self, name: str) -> dict[str, str]:
        section = self.section(name)
        return section.mapping() if section is not None else {}

    @property
    def system_access(self) -> dict[str, int | str]:
        """``[System Access]``: numbers as int, anything else (``"Guest"``) as written."""
        return {
            k: int(v) if _NUMBER.match(v) else v for k, v in self._mapping(SYSTEM_ACCESS).items()
        }

    @property
    def event_audit(self) -> dict[str, int]:
        """``[Event Audit]``: 0 none, 1 success, 2 failure, 3 both."""
        result = {}
        for key, value in self._mapping(EVENT_AUDIT).items():
            if value not in ("0", "1", "2", "3"):
                raise InputError(f"[{EVENT_AUDIT}] {key} = {value!r} is not 0, 1, 2 or 3")
            result[key] = int(value)
        return result

    @property
    def privilege_rights(self) -> dict[str, tuple[str, ...]]:
        """``[Privilege Rights]``: each right's principals as written (``*S-1-...`` or names)."""
        return {k: _split_list(v) for k, v in self._mapping(PRIVILEGE_RIGHTS).items()}

    @property
    def group_membership(self) -> dict[str, GroupMembership]:
        """``[Group Membership]`` by group (``*S-1-...`` or name as written)."""
        halves: dict[str, dict[str, tuple[str, ...]]] = {}
        for key, value in self._mapping(GROUP_MEMBERSHIP).items():
            group, _, half = key.rpartition("__")
            if not group or half.casefold() not in ("members", "memberof"):
                raise InputError(
                    f"[{GROUP_MEMBERSHIP}] key {key!r} ends in neither __Members nor __Memberof"
                )
            halves.setdefault(group, {})[half.casefold()] = _split_list(value)
        return {
            group: GroupMembership(parts.get("members"), parts.get("memberof"))
            for group, parts in halves.items()
        }

    @property
    def registry_values(self) -> dict[str, RegistryValue]:
        """``[Registry Values]`` by registry path (``MACHINE\\...\\Name``)."""
        section = self.section(REGISTRY_VALUES)
        result: dict[str, RegistryValue] = {}
        for line in section.lines if section else ():
            match = _REGISTRY_VALUE.match(line)
            if match is None:
                raise InputError(f"[{REGISTRY_VALUES}] line {line!r} is not 'path=type,data'")
            if match["path"].casefold() in (p.casefold() for p in result):
                raise InputError(f"[{REGISTRY_VALUES}] sets {match['path']!r} twice")
            result[match["path"]] = registry_value_from_text(int(match["type"]), match["data"])
        return result

    @property
    def services(self) -> dict[str, ServiceSetting]:
        """``[Service General Setting]`` by service name (as written)."""
        section = self.section(SERVICE_GENERAL_SETTING)
        result: dict[str, ServiceSetting] = {}
        for line in section.lines if section else ():
            name, setting = parse_service_line(line)
            if name.casefold() in (n.casefold() for n in result):
                raise InputError(f"[{SERVICE_GENERAL_SETTING}] sets {name!r} twice")
            result[name] = setting
        return result


def _split_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def registry_value_from_text(type_number: int, text: str) -> RegistryValue:
    """Decode the data after ``type,`` in a ``[Registry Values]`` line."""
    if type_number == 4:
        if not _NUMBER.match(text.strip()):
            raise InputError(f"REG_DWORD data {text!r} in [{REGISTRY_VALUES}] is not a number")
        return RegistryValue(4, int(text.strip()))
    if type_number in (1, 2):
        quoted = len(text) >= 2 and text.startswith('"') and text.endswith('"')
        return RegistryValue(type_number, text[1:-1] if quoted else text)
    if type_number == 7:
        return RegistryValue(7, tuple(text.split(",")) if text else ())
    return RegistryValue(type_number, text)


def registry_value_to_text(value: RegistryValue) -> str:
    """The data part of a ``[Registry Values]`` line, as Windows writes it."""
    data = value.data
    dword = isinstance(data, int) and not isinstance(data, bool) and 0 <= data < 1 << 32
    if value.type == 4 and dword:
        return f"4,{data}"
    if value.type in (1, 2) and isinstance(data, str) and '"' not in data:
        return f'{value.type},"{data}"'
    if value.type == 7 and isinstance(data, tuple) and all(i and "," not in i for i in data):
        return "7," + ",".join(data)
    if value.type not in (1, 2, 4, 7) and isinstance(data, str):
        return f"{value.type},{data}"
    raise InputError(f"registry value data {data!r} cannot be written as type {value.type}")


def parse_gpttmpl(data: bytes, *, source: str | None = None) -> GptTmpl:
    """Read a GptTmpl.inf; structural errors name the line (``file:line: ...``)."""
    if not data.startswith(codecs.BOM_UTF16_LE):
        raise InputError("GptTmpl.inf is not UTF-16LE with a byte-order mark", file=source)
    try:
        text = data[2:].decode("utf-16-le")
    except UnicodeDecodeError as error:
        raise InputError(
            f"GptTmpl.inf byte {error.start + 2} is not valid UTF-16LE", file=source
        ) from None
    sections: list[InfSection] = []
    name: str | None = None
    lines: list[str] = []
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        header = _HEADER.fullmatch(line.strip())
        if header is not None:
            if name is not None:
                sections.append(InfSection(name, tuple(lines)))
            name, lines = header["name"].strip(), []
            if not name or any(s.name.casefold() == name.casefold() for s in sections):
                raise InputError(
                    f"section header {line.strip()!r} is empty or repeated",
                    file=source,
                    line=number,
                )
        elif line.strip():
            if name is None:
                raise InputError(
                    f"{line!r} comes before the first [section]", file=source, line=number
                )
            lines.append(line)
    if name is not None:
        sections.append(InfSection(name, tuple(lines)))
    return GptTmpl(tuple(sections))


def serialize_gpttmpl(template: GptTmpl) -> bytes:
    """UTF-16LE with BOM, CRLF after every line, no blank lines."""
    out = []
    for section in template.sections:
        out.append(f"[{section.name}]")
        out.extend(section.lines)
    return codecs.BOM_UTF16_LE + "".join(line + "\r\n" for line in out).encode("utf-16-le")


def preamble() -> tuple[InfSection, InfSection]:
    """``[Unicode]`` and ``[Version]`` exactly as Windows and Samba write them."""
    return (
        InfSection(UNICODE, ("Unicode=yes",)),
        InfSection(VERSION, ('signature="$CHICAGO$"', "Revision=1")),
    )


def assemble(sections: Iterable[InfSection]) -> GptTmpl:
    """A template of the preamble plus ``sections`` (empty ones dropped), in order."""
    template = GptTmpl(preamble())
    for section in sections:
        if section.lines:
            template = template.with_section(section)
    return template
