"""GPT.INI (MS-GPOL 2.2.4, 3.3.5.4): a GPO's file-system version and display name.

``[General]`` holds ``Version=N``, a DWORD packing the user version in its high 16 bits
and the machine (computer) version in its low 16 bits (MS-GPOL 3.3.4.5), and optionally
``displayName=...``. Clients compare ``Version`` with the groupPolicyContainer's
``versionNumber`` and process nothing new until both move, so the two are bumped together.
A bumped half that wraps to 0 becomes 1 (MS-GPOL 3.3.4.5).

Windows writes the file in the ANSI code page, Samba with Python's default (UTF-8); Samba
reads UTF-8 and falls back to Latin-1. Both write ``Version=N`` without spaces; Samba's
provisioning omits the final line end. GPMC does not read a GPT.INI that starts with a
UTF-8 byte-order mark, so none is ever written (one that is read is dropped). The model
keeps the lines verbatim, the line-end style and the encoding, so a file written by
Windows or Samba re-serializes byte for byte.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass

from adsuite.errors import InputError

log = logging.getLogger(__name__)

GENERAL = "General"
_HEADER = re.compile(r"\s*\[(?P<name>[^\[\]]*)\]\s*\Z")
_MAX_HALF = 0xFFFF


def split_version(version: int) -> tuple[int, int]:
    """``Version`` -> (user version, machine version)."""
    _check_dword(version)
    return version >> 16, version & _MAX_HALF


def join_version(user: int, machine: int) -> int:
    """(user version, machine version) -> ``Version``."""
    for half in (user, machine):
        if not 0 <= half <= _MAX_HALF:
            raise InputError(f"GPO version half {half} is outside 0..65535")
    return user << 16 | machine


def _bumped(half: int) -> int:
    return (half + 1) & _MAX_HALF or 1


def bump_version(version: int, *, user: bool = False, machine: bool = False) -> int:
    """``version`` with the user and/or machine half incremented (wrapping 65535 to 1)."""
    user_half, machine_half = split_version(version)
    return join_version(
        _bumped(user_half) if user else user_half,
        _bumped(machine_half) if machine else machine_half,
    )


def to_version_number(version: int) -> int:
    """The signed 32-bit integer LDAP stores as ``versionNumber`` for this DWORD."""
    _check_dword(version)
    return version - (1 << 32) if version >= 1 << 31 else version


def from_version_number(number: int) -> int:
    """The DWORD for a (possibly negative) LDAP ``versionNumber``."""
    if not -(1 << 31) <= number < 1 << 31:
        raise InputError(f"versionNumber {number} does not fit 32 bits")
    return number & 0xFFFFFFFF


def _check_dword(version: int) -> None:
    if isinstance(version, bool) or not 0 <= version <= 0xFFFFFFFF:
        raise InputError(f"GPO version {version!r} is not a 32-bit unsigned number")


@dataclass(frozen=True)
class GptIni:
    """A GPT.INI as lines (without line ends), with how they were written."""

    lines: tuple[str, ...] = ("[General]", "Version=0")
    newline: str = "\r\n"
    final_newline: bool = True
    encoding: str = "utf-8"

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        if self.newline not in ("\r\n", "\n"):
            raise InputError(f"GPT.INI line end {self.newline!r} is not CRLF or LF")
        if any("\r" in line or "\n" in line for line in self.lines):
            raise InputError("a GPT.INI line cannot contain a line break")

    def _general(self) -> tuple[int, int]:
        """(index of the [General] header or -1, index after its last line)."""
        start = -1
        for index, line in enumerate(self.lines):
            header = _HEADER.match(line)
            if header is None:
                continue
            if start >= 0:
                return start, index
            if header["name"].strip().casefold() == GENERAL.casefold():
                start = index
        return start, len(self.lines)

    def get(self, key: str) -> str | None:
        """The value of ``key`` in ``[General]`` (case-insensitive), stripped."""
        start, end = self._general()
        for line in self.lines[start + 1 : end] if start >= 0 else ():
            name, sep, value = line.partition("=")
            if sep and name.strip().casefold() == key.casefold():
                return value.strip()
        return None

    def with_value(self, key: str, value: str) -> GptIni:
        """This file with ``key=value`` set in ``[General]`` (in place, else appended)."""
        if set(value) & {"\r", "\n"} or "=" in key:
            raise InputError(f"GPT.INI cannot hold {key!r}={value!r}")
        lines = list(self.lines)
        start, end = self._general()
        if start < 0:
            lines[:0] = [f"[{GENERAL}]"]
            start, end = 0, 1
        for index in range(start + 1, end):
            name, sep, _ = lines[index].partition("=")
            if sep and name.strip().casefold() == key.casefold():
                lines[index] = f"{name}={value}"
                break
        else:
            lines.insert(end, f"{key}={value}")
        return GptIni(tuple(lines), self.newline, self.final_newline, self.encoding)

    @property
    def version(self) -> int:
        """The ``Version`` DWORD (0 when absent)."""
        text = self.get("Version")
        if text is None:
            return 0
        if not text.isdigit() or int(text) > 0xFFFFFFFF:
            raise InputError(f"GPT.INI Version {text!r} is not a 32-bit unsigned number")
        return int(text)

    @property
    def user_version(self) -> int:
        return split_version(self.version)[0]

    @property
    def machine_version(self) -> int:
        return split_version(self.version)[1]

    @property
    def display_name(self) -> str | None:
        return self.get("displayName")

    def with_version(self, version: int) -> GptIni:
        _check_dword(version)
        return self.with_value("Version", str(version))

    def bump(self, *, user: bool = False, machine: bool = False) -> GptIni:
        """This file with the user and/or machine half of ``Version`` incremented."""
        return self.with_version(bump_version(self.version, user=user, machine=machine))

    def with_display_name(self, name: str) -> GptIni:
        return self.with_value("displayName", name)


def new_gpt_ini(version: int = 0, display_name: str | None = None) -> GptIni:
    """A GPT.INI as Windows writes one: ``[General]``, ``Version=N``, optional displayName."""
    ini = GptIni().with_version(version)
    return ini if display_name is None else ini.with_display_name(display_name)


def parse_gpt_ini(data: bytes, *, source: str | None = None) -> GptIni:
    """Read GPT.INI bytes (UTF-8, else Latin-1 as Samba does; a UTF-8 BOM is dropped)."""
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        text, encoding = body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = body.decode("latin-1"), "latin-1"
    newline = "\r\n" if "\r\n" in text or "\n" not in text else "\n"
    final_newline = text.endswith("\n")
    lines = text.split(newline)
    if final_newline:
        lines.pop()
    try:
        ini = GptIni(tuple(lines), newline, final_newline, encoding)
    except InputError as error:
        raise InputError(f"{error.message} (mixed line ends?)", file=source) from None
    for number, line in enumerate(ini.lines, start=1):
        if (
            line.strip()
            and not _HEADER.match(line)
            and "=" not in line
            and not line.lstrip().startswith(";")
        ):
            raise InputError(
                f"GPT.INI line {line!r} is neither [section] nor key=value",
                file=source,
                line=number,
            )
    try:
        _ = ini.version
    except InputError as error:
        raise InputError(error.message, file=source) from None
    return ini


def serialize_gpt_ini(ini: GptIni) -> bytes:
    """The file bytes, in the file's own encoding, line ends and final line end."""
    text = ini.newline.join(ini.lines) + (ini.newline if ini.final_newline else "")
    try:
        return text.encode(ini.encoding)
    except UnicodeEncodeError as error:
        raise InputError(
            f"GPT.INI text {text[error.start : error.end]!r} cannot be written as {ini.encoding}"
        ) from None
