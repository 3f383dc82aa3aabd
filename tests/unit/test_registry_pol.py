"""Registry.pol (PReg) codec: round trips, the bytes that break regex parsers, Samba as oracle.

The oracle is Samba's ``GPPolParser`` (``samba-tool gpo backup/restore``), run through the
system Python. What Samba does differently is pinned by its own test below: it drops the
data of a REG_NONE entry, and shows an empty REG_MULTI_SZ as one empty string.
"""

from __future__ import annotations

import base64
import random
import struct

import pytest
from samba_gp_oracle import samba_read, samba_read_many, samba_write

from adsuite.errors import InputError
from adsuite.formats.registry_pol import (
    Action,
    PolEntry,
    RegData,
    RegistryPol,
    RegType,
    encode_data,
    parse_registry_pol,
    reg_type,
    serialize_registry_pol,
)

KEY = "Software\\Policies\\Microsoft\\Windows\\System"
HEADER = b"PReg" + struct.pack("<I", 1)


def u16(text: str) -> bytes:
    return text.encode("utf-16-le")


def raw_entry(key: str, name: str, kind: int, data: bytes) -> bytes:
    """One entry built by hand from MS-GPREG 2.2.1, independently of the codec."""
    return (
        u16("[" + key + "\0;" + name + "\0;")
        + struct.pack("<I", kind)
        + u16(";")
        + struct.pack("<I", len(data))
        + u16(";")
        + data
        + u16("]")
    )


# The entries the PyPI registrypol package drops or truncates: data bytes that read as
# "]" / ";" / newline in UTF-16, and sizes whose low byte is ";".
TRICKY = (
    PolEntry(KEY, "DwordNewline", RegType.REG_DWORD, 10),
    PolEntry(KEY, "DwordSemicolon", RegType.REG_DWORD, 0x3B),
    PolEntry(KEY, "DwordBracket", RegType.REG_DWORD, 0x5D),
    PolEntry(KEY, "FourChars", RegType.REG_SZ, "abcd"),
    PolEntry(KEY, "Blob59", RegType.REG_BINARY, bytes(range(59))),
    PolEntry(KEY, "Delimiters", RegType.REG_SZ, "a];b;\n]c"),
    PolEntry(KEY + "\\odd];key", "name;with]", RegType.REG_EXPAND_SZ, "%SystemRoot%\\x"),
    PolEntry(KEY, "BigEndian", RegType.REG_DWORD_BIG_ENDIAN, 0x3B5D0A00),
    PolEntry(KEY, "Qword", RegType.REG_QWORD, 0x5D0000003B00000A),
    PolEntry(KEY, "Multi", RegType.REG_MULTI_SZ, ("one]", ";two", "three\n")),
)


def test_entries_whose_bytes_look_like_delimiters_round_trip() -> None:
    data = serialize_registry_pol(RegistryPol(TRICKY))
    assert parse_registry_pol(data) == RegistryPol(TRICKY)
    expected = HEADER + b"".join(
        raw_entry(e.key, e.value_name, e.type, encode_data(e.type, e.data)) for e in TRICKY
    )
    assert data == expected
    assert raw_entry(KEY, "DwordNewline", 4, b"\n\0\0\0") in data


def test_natural_data_types_encode_as_the_spec_says() -> None:
    assert encode_data(RegType.REG_SZ, "ab") == u16("ab\0")
    assert encode_data(RegType.REG_MULTI_SZ, ("a", "bc")) == u16("a\0bc\0\0")
    assert encode_data(RegType.REG_MULTI_SZ, ()) == u16("\0")
    assert encode_data(RegType.REG_DWORD, 1) == b"\1\0\0\0"
    assert encode_data(RegType.REG_DWORD_BIG_ENDIAN, 1) == b"\0\0\0\1"
    assert encode_data(RegType.REG_QWORD, 1) == b"\1" + b"\0" * 7


def _random_text(rng: random.Random) -> str:
    alphabet = "abcXYZ019 ]:;[\\\n\t%*.é集团\U0001f600"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))


def _random_entry(rng: random.Random) -> PolEntry:
    kind = rng.choice(list(RegType))
    data: RegData
    if kind in (RegType.REG_SZ, RegType.REG_EXPAND_SZ):
        data = _random_text(rng)
    elif kind is RegType.REG_MULTI_SZ:
        data = tuple(_random_text(rng) or "x" for _ in range(rng.randint(0, 4)))
    elif kind is RegType.REG_QWORD:
        data = rng.getrandbits(64)
    elif kind in (RegType.REG_DWORD, RegType.REG_DWORD_BIG_ENDIAN):
        data = rng.choice([0, 10, 0x3B, 0x5D, 0xFFFFFFFF, rng.getrandbits(32)])
    else:
        data = rng.randbytes(rng.randint(0, 70))
    return PolEntry(_random_text(rng) or "K", _random_text(rng), kind, data)


def test_generated_files_round_trip() -> None:
    rng = random.Random(4)
    for _ in range(300):
        pol = RegistryPol(tuple(_random_entry(rng) for _ in range(rng.randint(0, 8))))
        data = serialize_registry_pol(pol)
        assert parse_registry_pol(data) == pol
        assert serialize_registry_pol(parse_registry_pol(data)) == data


def test_data_that_is_not_canonical_is_kept_as_bytes_and_rewritten_unchanged() -> None:
    rng = random.Random(7)
    for kind in RegType:
        for size in (0, 1, 2, 3, 4, 5, 8, 9):
            raw = rng.randbytes(size)
            entry = PolEntry(KEY, "v", kind, raw)
            assert entry.encoded_data() == raw
            blob = serialize_registry_pol([entry])
            assert serialize_registry_pol(parse_registry_pol(blob)) == blob
    assert PolEntry(KEY, "v", RegType.REG_SZ, u16("ab")).data == u16("ab")  # no NUL
    assert PolEntry(KEY, "v", RegType.REG_SZ, u16("ab\0")).data == "ab"
    assert PolEntry(KEY, "v", RegType.REG_DWORD, b"\1\0").data == b"\1\0"
    assert PolEntry(KEY, "v", RegType.REG_MULTI_SZ, u16("\0\0")).data == u16("\0\0")


def test_special_value_names_are_read_case_insensitively() -> None:
    cases = {
        "**del.NoRun": (Action.DELETE_VALUE, "NoRun"),
        "**DEL.NoRun": (Action.DELETE_VALUE, "NoRun"),
        "**delvals.": (Action.DELETE_ALL_VALUES, ""),
        "**DelVals.": (Action.DELETE_ALL_VALUES, ""),
        "**DeleteValues": (Action.DELETE_VALUES, ""),
        "**deletekeys": (Action.DELETE_KEYS, ""),
        "**SecureKey": (Action.SECURE_KEY, ""),
        "**soft.Wallpaper": (Action.SET_IF_ABSENT, "Wallpaper"),
        "**Comment:made by hand": (Action.COMMENT, ""),
        "**unknown": (Action.SET, "**unknown"),
        "NoRun": (Action.SET, "NoRun"),
    }
    for name, (action, target) in cases.items():
        entry = PolEntry(KEY, name, RegType.REG_SZ, " ")
        assert (entry.action, entry.target) == (action, target), name


def test_constructors_write_what_the_group_policy_editor_writes() -> None:
    assert PolEntry.delete_value(KEY, "NoRun") == PolEntry(KEY, "**del.NoRun", RegType.REG_SZ, " ")
    assert PolEntry.delete_all_values(KEY).value_name == "**delvals."
    assert PolEntry.delete_all_values(KEY).encoded_data() == u16(" \0")
    delete = PolEntry.delete_values(KEY, ["NoRun", "NoFind"])
    assert (delete.value_name, delete.data, delete.names) == (
        "**DeleteValues",
        "NoRun;NoFind",
        ("NoRun", "NoFind"),
    )
    assert PolEntry.delete_keys(KEY, ["A", "B"]).names == ("A", "B")
    assert PolEntry.secure_key(KEY) == PolEntry(KEY, "**SecureKey", RegType.REG_DWORD, 1)
    assert PolEntry.secure_key(KEY, False).data == 0
    assert PolEntry.set_if_absent(KEY, "W", "REG_SZ", "x").value_name == "**soft.W"
    assert PolEntry.set_value(KEY, "NoRun", "dword", 1) == PolEntry(
        KEY, "NoRun", RegType.REG_DWORD, 1
    )
    with pytest.raises(InputError, match="reads as a delete value instruction"):
        PolEntry.set_value(KEY, "**del.NoRun", RegType.REG_DWORD, 1)
    with pytest.raises(InputError, match="contains ';'"):
        PolEntry.delete_values(KEY, ["a;b"])


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        (RegType.REG_DWORD, "1", "REG_DWORD data of .* must be an integer"),
        (RegType.REG_DWORD, True, "must be an integer"),
        (RegType.REG_DWORD, 1 << 32, "must be an integer from 0 to 4294967295"),
        (RegType.REG_QWORD, -1, "must be an integer from 0 to 18446744073709551615"),
        (RegType.REG_SZ, 5, "REG_SZ data .* must be a string"),
        (RegType.REG_SZ, "a\0b", "must be a string without NUL"),
        (RegType.REG_MULTI_SZ, ("a", ""), "non-empty strings"),
        (RegType.REG_BINARY, "text", "must be bytes"),
        (6, b"", "unknown registry type 6"),
    ],
)
def test_wrong_data_for_a_type_is_refused(kind: int, data: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        PolEntry(KEY, "Value", kind, data)  # type: ignore[arg-type]


def test_types_are_found_by_number_or_name() -> None:
    assert reg_type("REG_EXPAND_SZ") is RegType.REG_EXPAND_SZ
    assert reg_type("qword") is RegType.REG_QWORD
    assert reg_type(5) is RegType.REG_DWORD_BIG_ENDIAN
    with pytest.raises(InputError, match="unknown registry type 'REG_LINK'"):
        reg_type("REG_LINK")


GOOD = raw_entry("K", "V", 4, b"\1\0\0\0")


@pytest.mark.parametrize(
    ("data", "offset", "problem"),
    [
        (b"PRe", 0, "3 bytes is too short for the PReg header"),
        (b"PREG\1\0\0\0", 0, "signature is b'PREG'"),
        (b"PReg\2\0\0\0", 4, "file version 2 is not supported"),
        (HEADER + GOOD[2:], 8, "expected '\\[' to open an entry"),
        (HEADER + u16("[K"), 10, "the key has no terminating NUL"),
        (HEADER + u16("[K\0:"), 14, "expected ';' after the key"),
        (HEADER + raw_entry("K", "V", 6, b"abcd"), 22, "unknown registry type 6"),
        (HEADER + GOOD[:20] + struct.pack("<I", 99) + GOOD[24:], 28, "size 99 runs past the end"),
        (HEADER + GOOD[:-2] + u16(")"), 38, "expected '\\]' to close the entry for K\\\\V"),
        (HEADER + GOOD + b"\0", 40, "expected '\\[' to open an entry, found bytes 00"),
        (HEADER + GOOD[:24], 32, "expected ';' after the size, found the end of the file"),
        (HEADER + GOOD[:16], 22, "the file ends inside the type"),
    ],
)
def test_bad_input_names_the_byte_offset(data: bytes, offset: int, problem: str) -> None:
    with pytest.raises(InputError, match=f"Registry.pol byte {offset}: {problem}") as caught:
        parse_registry_pol(data, source="\\\\dc1\\sysvol\\Registry.pol")
    assert str(caught.value).startswith("\\\\dc1\\sysvol\\Registry.pol: Registry.pol byte")


def test_a_windows_layout_file_round_trips_with_its_instructions() -> None:
    """The layout gpedit writes: a list policy (delvals + numbered values), a disabled
    policy (del.), a key created by a REG_NONE entry without data."""
    list_key = (
        "Software\\Policies\\Microsoft\\Windows\\DeviceInstall\\Restrictions\\DenyDeviceClasses"
    )
    data = HEADER + b"".join(
        [
            raw_entry(list_key, "**delvals.", 1, u16(" \0")),
            raw_entry(list_key, "1", 1, u16("{d48179be-ec20-11d1-b6b8-00c04fa372a7}\0")),
            raw_entry(KEY, "**del.EnableSmartScreen", 1, u16(" \0")),
            raw_entry(KEY + "\\Certificates", "", 0, b""),
            raw_entry(KEY, "DisableCMD", 4, b"\1\0\0\0"),
        ]
    )
    pol = parse_registry_pol(data)
    assert [e.action for e in pol] == [
        Action.DELETE_ALL_VALUES,
        Action.SET,
        Action.DELETE_VALUE,
        Action.SET,
        Action.SET,
    ]
    assert pol.entries[2].target == "EnableSmartScreen"
    assert pol.entries[1].data == "{d48179be-ec20-11d1-b6b8-00c04fa372a7}"
    assert serialize_registry_pol(pol) == data


# --- Samba as the independent reader and writer -------------------------------------


def _samba_values(entry: PolEntry) -> list[str]:
    """How Samba's XML form (samba-tool gpo backup) shows an entry's data."""
    if entry.type is RegType.REG_MULTI_SZ:
        return list(entry.data) or [""]  # type: ignore[arg-type]
    if entry.type is RegType.REG_NONE:
        return ["None"]
    if isinstance(entry.data, bytes):
        return [base64.b64encode(entry.data).decode()]
    return [str(entry.data)]


SAMBA_CASES = (
    *TRICKY,
    PolEntry.delete_value(KEY, "NoControlPanel"),
    PolEntry.delete_all_values(KEY + "\\List"),
    PolEntry.delete_values(KEY, ["A", "B"]),
    PolEntry.delete_keys(KEY, ["Sub1", "Sub2"]),
    PolEntry.secure_key(KEY),
    PolEntry(KEY, "", RegType.REG_SZ, "default value"),
    PolEntry(KEY, "Empty", RegType.REG_SZ, ""),
    PolEntry(KEY, "EmptyList", RegType.REG_MULTI_SZ, ()),
    PolEntry(KEY, "Nothing", RegType.REG_BINARY, b""),
    PolEntry(KEY + "\\Created", "", RegType.REG_NONE, b""),
    PolEntry("Software\\Policies\\集团", "名称", RegType.REG_SZ, "值 \U0001f600"),
)


def test_samba_reads_what_we_write_with_the_same_values() -> None:
    ours = serialize_registry_pol(RegistryPol(SAMBA_CASES))
    seen = samba_read("pol", ours)
    assert [(e["type"], e["key"], e["name"], e["values"]) for e in seen["entries"]] == [
        (e.type, e.key, e.value_name, _samba_values(e)) for e in SAMBA_CASES
    ]
    assert bytes.fromhex(seen["repacked"]) == ours
    assert bytes.fromhex(seen["rewritten"]) == ours


def test_we_read_what_samba_writes_byte_for_byte() -> None:
    entries = [
        {"type": e.type, "key": e.key, "name": e.value_name, "values": _samba_values(e)}
        for e in SAMBA_CASES
        if e.type is not RegType.REG_NONE and e.data != ()
    ]
    samba_bytes = samba_write("pol", entries=entries)
    pol = parse_registry_pol(samba_bytes)
    assert serialize_registry_pol(pol) == samba_bytes
    assert list(pol) == [e for e in SAMBA_CASES if e.type is not RegType.REG_NONE and e.data != ()]


def test_samba_drops_reg_none_data_which_we_keep() -> None:
    """A Samba limitation (NDR has no REG_NONE payload); Windows writes REG_NONE empty."""
    entry = PolEntry(KEY, "Raw", RegType.REG_NONE, b"abc")
    ours = serialize_registry_pol([entry])
    (seen,) = samba_read_many("pol", [ours])
    assert bytes.fromhex(seen["repacked"]) != ours
    assert parse_registry_pol(bytes.fromhex(seen["repacked"])).entries[0].data == b""
    assert parse_registry_pol(ours).entries[0].data == b"abc"
