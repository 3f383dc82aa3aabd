"""Registry.pol (PReg, MS-GPREG 2.2.1): the registry settings of one half of a GPO, as data.

A file is the 8-byte header ``PReg`` + version 1 (little-endian DWORD), then entries
``[key;value;type;size;data]`` where the brackets and semicolons are UTF-16LE characters,
key and value name are NUL-terminated UTF-16LE strings, type and size are little-endian
DWORDs and data is exactly ``size`` bytes. Because ``size`` says where the data ends, data
bytes that happen to look like ``]`` or ``;`` (DWORD 0x5d, a 4-character string, a 59-byte
blob) are read correctly; a regex over the text is not.

Value names starting with ``**`` are instructions to the client (matched case-insensitively,
as Windows' userenv does): ``**del.<name>`` deletes one value (what an ADMX policy set to
"Disabled" writes when it has no disabledValue), ``**delvals.`` deletes every value of the
key, ``**DeleteValues`` / ``**DeleteKeys`` delete the ``;``-separated names in the data,
``**SecureKey`` (DWORD 1/0) secures the key, ``**soft.<name>`` sets a value only if it is
absent, ``**Comment:`` is ignored. :attr:`PolEntry.action` says which; the class methods
build them the way the Group Policy editor writes them (REG_SZ ``" "`` for the deletes).

Data is held as its natural type: ``str`` (REG_SZ, REG_EXPAND_SZ), ``int`` (REG_DWORD,
REG_DWORD_BIG_ENDIAN, REG_QWORD), ``tuple[str, ...]`` (REG_MULTI_SZ), ``bytes``
(REG_BINARY, REG_NONE). Data whose bytes are not the canonical encoding of such a value
(a REG_SZ without its terminating NUL, a 2-byte DWORD) is kept as ``bytes``, so every file
re-serializes byte for byte. Bad input raises :class:`InputError` naming the byte offset.
"""

from __future__ import annotations

import enum
import logging
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from adsuite.errors import InputError

log = logging.getLogger(__name__)

SIGNATURE = b"PReg"
FILE_VERSION = 1
_OPEN, _SEP, _CLOSE = (c.encode("utf-16-le") for c in "[;]")
_NUL = b"\0\0"
_TEXT_ERRORS = "surrogatepass"  # keep unpaired surrogates: names are arbitrary UTF-16


class RegType(enum.IntEnum):
    """Registry value types a Registry.pol entry may carry (winnt.h numbering)."""

    REG_NONE = 0
    REG_SZ = 1
    REG_EXPAND_SZ = 2
    REG_BINARY = 3
    REG_DWORD = 4
    REG_DWORD_BIG_ENDIAN = 5
    REG_MULTI_SZ = 7
    REG_QWORD = 11


class Action(enum.Enum):
    """What an entry tells the client to do, from its value name."""

    SET = "set"
    SET_IF_ABSENT = "set if absent"
    DELETE_VALUE = "delete value"
    DELETE_ALL_VALUES = "delete all values"
    DELETE_VALUES = "delete values"
    DELETE_KEYS = "delete keys"
    SECURE_KEY = "secure key"
    COMMENT = "comment"


_PREFIXES: tuple[tuple[str, Action], ...] = (
    ("**delvals.", Action.DELETE_ALL_VALUES),
    ("**del.", Action.DELETE_VALUE),
    ("**soft.", Action.SET_IF_ABSENT),
    ("**deletevalues", Action.DELETE_VALUES),
    ("**deletekeys", Action.DELETE_KEYS),
    ("**securekey", Action.SECURE_KEY),
    ("**comment:", Action.COMMENT),
)
_NAMED_TARGET = (Action.SET, Action.SET_IF_ABSENT, Action.DELETE_VALUE)
_NO_VALUE = " "  # the data the Group Policy editor writes for delete instructions

RegData = str | int | bytes | tuple[str, ...]
_INT_RANGE = {
    RegType.REG_DWORD: 1 << 32,
    RegType.REG_DWORD_BIG_ENDIAN: 1 << 32,
    RegType.REG_QWORD: 1 << 64,
}
_INT_FORMAT = {RegType.REG_DWORD: "<I", RegType.REG_DWORD_BIG_ENDIAN: ">I", RegType.REG_QWORD: "<Q"}


def encode_data(reg_type: RegType, data: RegData) -> bytes:
    """The bytes of ``data`` as a value of ``reg_type`` (``bytes`` pass through)."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return (data + "\0").encode("utf-16-le", _TEXT_ERRORS)
    if isinstance(data, tuple):
        return ("".join(item + "\0" for item in data) + "\0").encode("utf-16-le", _TEXT_ERRORS)
    return struct.pack(_INT_FORMAT[reg_type], data)


def _natural(reg_type: RegType, raw: bytes) -> RegData:
    """The natural value whose canonical encoding is ``raw``, else ``raw`` itself."""
    value: RegData
    if reg_type in _INT_FORMAT:
        if len(raw) != struct.calcsize(_INT_FORMAT[reg_type]):
            return raw
        (value,) = struct.unpack(_INT_FORMAT[reg_type], raw)
        return value
    if reg_type not in (RegType.REG_SZ, RegType.REG_EXPAND_SZ, RegType.REG_MULTI_SZ):
        return raw
    if len(raw) % 2 or not raw.endswith(_NUL):
        return raw
    text = raw.decode("utf-16-le", _TEXT_ERRORS)[:-1]
    if reg_type is RegType.REG_MULTI_SZ:
        value = tuple(text[:-1].split("\0")) if text else ()
    else:
        value = text
    return value if _valid_natural(reg_type, value) and encode_data(reg_type, value) == raw else raw


def _valid_natural(reg_type: RegType, value: RegData) -> bool:
    if reg_type in (RegType.REG_SZ, RegType.REG_EXPAND_SZ):
        return isinstance(value, str) and "\0" not in value
    if reg_type is RegType.REG_MULTI_SZ:
        return isinstance(value, tuple) and all(
            isinstance(item, str) and item and "\0" not in item for item in value
        )
    if reg_type in _INT_RANGE:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and 0 <= value < _INT_RANGE[reg_type]
        )
    return False


_EXPECTED = {
    RegType.REG_SZ: "a string without NUL characters",
    RegType.REG_EXPAND_SZ: "a string without NUL characters",
    RegType.REG_MULTI_SZ: "a list of non-empty strings without NUL characters",
    RegType.REG_DWORD: "an integer from 0 to 4294967295",
    RegType.REG_DWORD_BIG_ENDIAN: "an integer from 0 to 4294967295",
    RegType.REG_QWORD: "an integer from 0 to 18446744073709551615",
    RegType.REG_BINARY: "bytes",
    RegType.REG_NONE: "bytes",
}


def reg_type(value: int | str) -> RegType:
    """A :class:`RegType` from its number or name (``4``, ``"REG_DWORD"``, ``"dword"``)."""
    try:
        if isinstance(value, str):
            name = value.strip().upper()
            return RegType[name if name.startswith("REG_") else "REG_" + name]
        return RegType(value)
    except (KeyError, ValueError):
        raise InputError(unknown_type_message(value)) from None


# what people write for a type, and the registry type they mean
_MEANT = {"string": "sz", "str": "sz", "text": "sz", "int": "dword", "integer": "dword"}
_MEANT |= {"number": "dword", "list": "multi_sz", "bytes": "binary", "hex": "binary"}


def type_names() -> list[str]:
    """The type names a playbook may write, in ``RegType`` order (``sz``, ``dword``, …)."""
    return [t.name.removeprefix("REG_").lower() for t in RegType]


def unknown_type_message(value: object) -> str:
    """Why *value* is no registry type, naming what is accepted (and what was likely meant)."""
    meant = _MEANT.get(value.strip().lower()) if isinstance(value, str) else None
    guess = f" (did you mean '{meant}'?)" if meant else ""
    accepted = ", ".join(type_names())
    return f"unknown registry type {value!r}{guess}; accepted: {accepted} (or REG_SZ, REG_DWORD, …)"


@dataclass(frozen=True)
class PolEntry:
    """One ``[key;value;type;size;data]`` instruction."""

    key: str
    value_name: str
    type: RegType
    data: RegData

    def __post_init__(self) -> None:
        for label, text in (("key", self.key), ("value name", self.value_name)):
            if not isinstance(text, str) or "\0" in text:
                raise InputError(f"registry {label} {text!r} must be text without NUL")
        kind = reg_type(self.type)
        data = self.data
        if isinstance(data, bytearray | memoryview):
            data = bytes(data)
        if isinstance(data, list):
            data = tuple(data)
        if isinstance(data, bytes):
            data = _natural(kind, data)
        elif not _valid_natural(kind, data):
            raise InputError(
                f"{kind.name} data of {self.key}\\{self.value_name} must be "
                f"{_EXPECTED[kind]}, not {data!r}"
            )
        object.__setattr__(self, "type", kind)
        object.__setattr__(self, "data", data)

    @property
    def action(self) -> Action:
        """The instruction this entry's value name encodes."""
        folded = self.value_name.lower()
        for prefix, action in _PREFIXES:
            if folded.startswith(prefix):
                return action
        return Action.SET

    @property
    def target(self) -> str:
        """The value the entry sets or deletes (prefix removed); ``""`` for key-wide ones."""
        action = self.action
        if action not in _NAMED_TARGET:
            return ""
        prefix = next((p for p, a in _PREFIXES if a is action), "")
        return self.value_name[len(prefix) :]

    @property
    def names(self) -> tuple[str, ...]:
        """The ``;``-separated value or subkey names of DeleteValues / DeleteKeys."""
        if self.action not in (Action.DELETE_VALUES, Action.DELETE_KEYS):
            return ()
        if not isinstance(self.data, str):
            return ()
        return tuple(name for name in self.data.strip().split(";") if name.strip())

    def encoded_data(self) -> bytes:
        """The data bytes as they appear in the file."""
        return encode_data(self.type, self.data)

    @classmethod
    def set_value(cls, key: str, name: str, kind: RegType | int | str, data: RegData) -> PolEntry:
        """Set ``key\\name`` (refuses names that would read as ``**`` instructions)."""
        entry = cls(key, name, reg_type(kind), data)
        if entry.action is not Action.SET:
            raise InputError(f"value name {name!r} reads as a {entry.action.value} instruction")
        return entry

    @classmethod
    def set_if_absent(
        cls, key: str, name: str, kind: RegType | int | str, data: RegData
    ) -> PolEntry:
        """``**soft.<name>``: set the value only where it does not exist yet."""
        return cls(key, "**soft." + name, reg_type(kind), data)

    @classmethod
    def delete_value(cls, key: str, name: str) -> PolEntry:
        """``**del.<name>``: delete one value (an ADMX policy set to Disabled)."""
        return cls(key, "**del." + name, RegType.REG_SZ, _NO_VALUE)

    @classmethod
    def delete_all_values(cls, key: str) -> PolEntry:
        """``**delvals.``: delete every value of the key (written before list policies)."""
        return cls(key, "**delvals.", RegType.REG_SZ, _NO_VALUE)

    @classmethod
    def delete_values(cls, key: str, names: Iterable[str]) -> PolEntry:
        """``**DeleteValues``: delete the named values."""
        return cls(key, "**DeleteValues", RegType.REG_SZ, _join_names(names))

    @classmethod
    def delete_keys(cls, key: str, subkeys: Iterable[str]) -> PolEntry:
        """``**DeleteKeys``: delete the named subkeys."""
        return cls(key, "**DeleteKeys", RegType.REG_SZ, _join_names(subkeys))

    @classmethod
    def secure_key(cls, key: str, secure: bool = True) -> PolEntry:
        """``**SecureKey``: 1 gives administrators and SYSTEM full control, users read."""
        return cls(key, "**SecureKey", RegType.REG_DWORD, int(secure))


def _join_names(names: Iterable[str]) -> str:
    listed = list(names)
    for name in listed:
        if not name or ";" in name:
            raise InputError(f"name {name!r} cannot be listed (empty or contains ';')")
    return ";".join(listed)


@dataclass(frozen=True)
class RegistryPol:
    """A whole Registry.pol: its entries in file order."""

    entries: tuple[PolEntry, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", tuple(self.entries))

    def __iter__(self) -> Iterator[PolEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def serialize_registry_pol(pol: RegistryPol | Iterable[PolEntry]) -> bytes:
    """The file bytes: header, then every entry in order."""
    parts = [SIGNATURE, struct.pack("<I", FILE_VERSION)]
    for entry in pol:
        data = entry.encoded_data()
        parts += [
            _OPEN,
            (entry.key + "\0").encode("utf-16-le", _TEXT_ERRORS),
            _SEP,
            (entry.value_name + "\0").encode("utf-16-le", _TEXT_ERRORS),
            _SEP,
            struct.pack("<I", entry.type),
            _SEP,
            struct.pack("<I", len(data)),
            _SEP,
            data,
            _CLOSE,
        ]
    return b"".join(parts)


def parse_registry_pol(data: bytes, *, source: str | None = None) -> RegistryPol:
    """Read a Registry.pol; anything malformed raises InputError naming the byte offset."""
    reader = _Reader(bytes(data), source)
    reader.header()
    entries = []
    while not reader.at_end():
        entries.append(reader.entry())
    log.debug("read %d Registry.pol entries from %s", len(entries), source or "bytes")
    return RegistryPol(tuple(entries))


class _Reader:
    """A cursor over the file bytes that knows how to fail with an offset."""

    def __init__(self, data: bytes, source: str | None) -> None:
        self.data = data
        self.pos = 0
        self.source = source

    def fail(self, at: int, problem: str) -> InputError:
        return InputError(f"Registry.pol byte {at}: {problem}", file=self.source)

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def header(self) -> None:
        if len(self.data) < 8:
            raise self.fail(0, f"{len(self.data)} bytes is too short for the PReg header")
        if self.data[:4] != SIGNATURE:
            raise self.fail(0, f"signature is {self.data[:4]!r}, not b'PReg'")
        (version,) = struct.unpack_from("<I", self.data, 4)
        if version != FILE_VERSION:
            raise self.fail(4, f"file version {version} is not supported (only 1)")
        self.pos = 8

    def expect(self, token: bytes, what: str) -> None:
        found = self.data[self.pos : self.pos + 2]
        if found != token:
            seen = "the end of the file" if not found else f"bytes {found.hex(' ')}"
            raise self.fail(
                self.pos, f"expected {token.decode('utf-16-le')!r} {what}, found {seen}"
            )
        self.pos += 2

    def string(self, what: str) -> str:
        end = self.data.find(_NUL, self.pos)
        while end != -1 and (end - self.pos) % 2:
            end = self.data.find(_NUL, end + 1)
        if end == -1:
            raise self.fail(self.pos, f"the {what} has no terminating NUL")
        text = self.data[self.pos : end].decode("utf-16-le", _TEXT_ERRORS)
        self.pos = end + 2
        return text

    def dword(self, what: str) -> int:
        if self.pos + 4 > len(self.data):
            raise self.fail(self.pos, f"the file ends inside the {what}")
        (value,) = struct.unpack_from("<I", self.data, self.pos)
        self.pos += 4
        return int(value)

    def entry(self) -> PolEntry:
        start = self.pos
        self.expect(_OPEN, "to open an entry")
        key = self.string("key")
        self.expect(_SEP, "after the key")
        name = self.string("value name")
        self.expect(_SEP, "after the value name")
        type_at = self.pos
        type_number = self.dword("type")
        self.expect(_SEP, "after the type")
        size_at = self.pos
        size = self.dword("size")
        self.expect(_SEP, "after the size")
        if self.pos + size > len(self.data):
            raise self.fail(size_at, f"size {size} runs past the end of the file")
        raw = self.data[self.pos : self.pos + size]
        self.pos += size
        self.expect(_CLOSE, f"to close the entry for {key}\\{name}")
        try:
            kind = RegType(type_number)
        except ValueError:
            raise self.fail(type_at, f"unknown registry type {type_number}") from None
        try:
            return PolEntry(key, name, kind, raw)
        except InputError as error:
            raise self.fail(start, error.message) from None
