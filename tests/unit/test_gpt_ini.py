"""GPT.INI codec and version arithmetic, cross-checked against Samba's readers.

Two independent Samba readers: ``GPTIniParser`` (configparser, what samba-tool gpo uses)
and the C ``gpo_get_sysvol_gpt_version`` (libgpo, what samba-gpupdate uses; its binding returns the DWORD as a signed number,
as LDAP's versionNumber holds it). Samba's own
writer rewrites the file through configparser (``Version = N``, LF, a blank line at the
end, UTF-8); we read that too, and write ``Version=N`` with CRLF as Windows does.
"""

from __future__ import annotations

import codecs
import random

import pytest
from samba_gp_oracle import samba_read_many, samba_write

from adsuite.errors import InputError
from adsuite.formats.gpt_ini import (
    GptIni,
    bump_version,
    from_version_number,
    join_version,
    new_gpt_ini,
    parse_gpt_ini,
    serialize_gpt_ini,
    split_version,
    to_version_number,
)

# What Samba 4.17 writes, from samba/provision/__init__.py (create_gpo_struct, the two
# default GPOs of a provisioned domain) and samba/netcmd/gpo.py (samba-tool gpo create).
SAMBA_PROVISIONED = b"[General]\r\nVersion=0"
SAMBA_TOOL_CREATED = b"[General]\r\nVersion=0\r\n"
WINDOWS_LAYOUT = b"[General]\r\nVersion=65539\r\ndisplayName=New Group Policy Object\r\n"


def test_files_samba_and_windows_write_round_trip_byte_for_byte() -> None:
    for data, version in ((SAMBA_PROVISIONED, 0), (SAMBA_TOOL_CREATED, 0), (WINDOWS_LAYOUT, 65539)):
        ini = parse_gpt_ini(data)
        assert serialize_gpt_ini(ini) == data
        assert ini.version == version
    windows = parse_gpt_ini(WINDOWS_LAYOUT)
    assert (windows.user_version, windows.machine_version) == (1, 3)
    assert windows.display_name == "New Group Policy Object"


def test_the_version_packs_user_high_and_machine_low() -> None:
    assert split_version(65539) == (1, 3)
    assert join_version(1, 3) == 65539
    assert bump_version(0, user=True) == 65536
    assert bump_version(0, machine=True) == 1
    assert bump_version(join_version(4, 9), user=True, machine=True) == join_version(5, 10)
    assert bump_version(join_version(0xFFFF, 0xFFFF), user=True, machine=True) == join_version(1, 1)
    rng = random.Random(5)
    for _ in range(500):
        version = rng.getrandbits(32)
        user, machine = split_version(version)
        assert join_version(user, machine) == version
        assert split_version(bump_version(version, user=True))[1] == machine
        assert split_version(bump_version(version, machine=True))[0] == user


def test_ldap_version_number_is_the_same_dword_signed() -> None:
    assert to_version_number(65539) == 65539
    assert to_version_number(join_version(0x8000, 1)) == -(1 << 31) + 1
    for version in (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF):
        assert from_version_number(to_version_number(version)) == version
    with pytest.raises(InputError, match="does not fit 32 bits"):
        from_version_number(1 << 31)


def test_bumping_rewrites_only_the_version_line() -> None:
    ini = parse_gpt_ini(WINDOWS_LAYOUT).bump(user=True)
    assert serialize_gpt_ini(ini) == WINDOWS_LAYOUT.replace(b"65539", b"131075")
    provisioned = parse_gpt_ini(SAMBA_PROVISIONED).bump(machine=True)
    assert serialize_gpt_ini(provisioned) == b"[General]\r\nVersion=1"
    other = parse_gpt_ini(b"[Other]\r\nx=1\r\n").with_version(7)
    assert serialize_gpt_ini(other) == b"[General]\r\nVersion=7\r\n[Other]\r\nx=1\r\n"
    spaced = parse_gpt_ini(b"[general]\nversion = 4\n\n[Other]\nVersion=9\n").bump(machine=True)
    assert serialize_gpt_ini(spaced) == b"[general]\nversion =5\n\n[Other]\nVersion=9\n"


def test_new_files_are_written_as_windows_writes_them() -> None:
    assert serialize_gpt_ini(new_gpt_ini()) == SAMBA_TOOL_CREATED
    assert serialize_gpt_ini(new_gpt_ini(65539, "New Group Policy Object")) == WINDOWS_LAYOUT


def test_encodings_are_kept_and_no_bom_is_written() -> None:
    latin1 = b"[General]\r\nVersion=1\r\ndisplayName=Caf\xe9\r\n"
    ini = parse_gpt_ini(latin1)
    assert (ini.display_name, ini.encoding) == ("Café", "latin-1")
    assert serialize_gpt_ini(ini) == latin1
    utf8 = "[General]\r\nVersion=1\r\ndisplayName=集团总部\r\n".encode()
    assert parse_gpt_ini(utf8).display_name == "集团总部"
    assert serialize_gpt_ini(parse_gpt_ini(utf8)) == utf8
    with_bom = parse_gpt_ini(codecs.BOM_UTF8 + SAMBA_TOOL_CREATED)
    assert serialize_gpt_ini(with_bom) == SAMBA_TOOL_CREATED
    with pytest.raises(InputError, match="cannot be written as latin-1"):
        serialize_gpt_ini(ini.with_display_name("集团"))


def test_generated_files_round_trip() -> None:
    rng = random.Random(8)
    for _ in range(200):
        ini = new_gpt_ini(rng.getrandbits(32), rng.choice([None, "GPO", "Résumé 集团"]))
        if rng.random() < 0.5:
            ini = GptIni(ini.lines, rng.choice(["\r\n", "\n"]), rng.random() < 0.5, ini.encoding)
        data = serialize_gpt_ini(ini)
        assert parse_gpt_ini(data) == ini


def test_both_samba_readers_see_our_version_and_name() -> None:
    files = [
        serialize_gpt_ini(new_gpt_ini(join_version(3, 7), "Restricted workstation")),
        serialize_gpt_ini(parse_gpt_ini(SAMBA_PROVISIONED).bump(user=True).bump(machine=True)),
        serialize_gpt_ini(new_gpt_ini(0xFFFFFFFF)),
    ]
    seen = samba_read_many("ini", files)
    # libgpo's binding hands the DWORD back signed, like LDAP's versionNumber
    assert [s["c_version"] for s in seen] == [join_version(3, 7), join_version(1, 1), -1]
    assert from_version_number(seen[2]["c_version"]) == 0xFFFFFFFF
    assert seen[0]["sections"] == {
        "General": [["Version", str(join_version(3, 7))], ["displayName", "Restricted workstation"]]
    }
    assert seen[1]["sections"] == {"General": [["Version", "65537"]]}


def test_we_read_what_samba_writes() -> None:
    samba_bytes = samba_write(
        "ini", sections={"General": [["Version", "131073"], ["displayName", "Audit DCs"]]}
    )
    assert samba_bytes == b"[General]\nVersion = 131073\ndisplayName = Audit DCs\n\n"
    ini = parse_gpt_ini(samba_bytes)
    assert (ini.user_version, ini.machine_version, ini.display_name) == (2, 1, "Audit DCs")
    assert serialize_gpt_ini(ini) == samba_bytes


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"[General]\r\nVersion=abc\r\n",
            "^GPT.INI: GPT.INI Version 'abc' is not a 32-bit unsigned number",
        ),
        (b"[General]\r\nVersion=4294967296\r\n", "is not a 32-bit unsigned number"),
        (b"[General]\r\nVersion\r\n", "^GPT.INI:2: GPT.INI line 'Version' is neither"),
        (b"[General]\r\nVersion=1\n\r\n", "mixed line ends"),
    ],
)
def test_malformed_files_are_one_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_gpt_ini(data, source="GPT.INI")


def test_versions_out_of_range_are_refused() -> None:
    with pytest.raises(InputError, match=r"outside 0\.\.65535"):
        join_version(0x10000, 0)
    with pytest.raises(InputError, match="not a 32-bit unsigned number"):
        new_gpt_ini(-1)
    with pytest.raises(InputError, match="cannot hold"):
        new_gpt_ini().with_display_name("two\r\nlines")
