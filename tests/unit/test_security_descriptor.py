"""Binary security descriptors and SIDs, cross-checked against Samba's own NDR code."""

from __future__ import annotations

import random
import struct
import uuid

import pytest
from samba_oracle import (
    EXAMPLE_DOMAIN_SID,
    PROVISIONED_DESCRIPTORS,
    PROVISIONED_DOMAIN_SID,
    REALISTIC_SDDL,
    samba_pack_many,
    samba_unpack,
    samba_unpack_many,
)

from adsuite.errors import InputError
from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.security_descriptor import (
    ACL_REVISION,
    ACL_REVISION_DS,
    AccessMask,
    Ace,
    AceFlags,
    AceType,
    Acl,
    Control,
    SecurityDescriptor,
)
from adsuite.formats.sid import read_sid, sid_from_bytes, sid_to_bytes

USER_CLASS = uuid.UUID("bf967aba-0de6-11d0-a285-00aa003049e2")
WEB_INFORMATION = uuid.UUID("e45795b3-9455-11d1-aebd-0000f80367c1")
EVERYONE = "S-1-1-0"


@pytest.mark.parametrize("name", sorted(PROVISIONED_DESCRIPTORS))
def test_descriptor_stored_by_samba_re_emits_byte_for_byte(name: str) -> None:
    raw = PROVISIONED_DESCRIPTORS[name]
    assert sdlib.to_bytes(sdlib.parse(raw)) == raw
    assert samba_unpack(raw, PROVISIONED_DOMAIN_SID)[1] == raw


def test_parse_reads_the_domain_controllers_ou_descriptor() -> None:
    sd = sdlib.parse(PROVISIONED_DESCRIPTORS["OU=Domain Controllers"])
    domain_admins = f"{PROVISIONED_DOMAIN_SID}-512"
    assert (sd.owner, sd.group) == (domain_admins, domain_admins)
    assert sd.control == (
        Control.SE_SELF_RELATIVE
        | Control.SE_DACL_PRESENT
        | Control.SE_SACL_PRESENT
        | Control.SE_DACL_AUTO_INHERITED
        | Control.SE_SACL_AUTO_INHERITED
        | Control.SE_OWNER_DEFAULTED
        | Control.SE_GROUP_DEFAULTED
    )
    assert sd.dacl is not None and sd.sacl is not None
    assert sd.dacl.aces[0] == Ace(
        AceType.ACCESS_ALLOWED,
        0,
        AccessMask.READ_PROP | AccessMask.LIST_CHILDREN | AccessMask.LIST_OBJECT | AccessMask.RC,
        "S-1-5-11",
    )
    inherited = sd.dacl.aces[4]
    assert inherited.ace_type == AceType.ACCESS_ALLOWED_OBJECT
    assert inherited.flags == AceFlags.CI | AceFlags.IO | AceFlags.ID
    assert inherited.object_type == uuid.UUID("4c164200-20c0-11d0-a768-00aa006e0529")
    assert inherited.inherited_object_type == uuid.UUID("4828cc14-1437-45bc-9b07-ad6f015e5f28")
    assert inherited.sid == "S-1-5-32-554"
    assert [ace.ace_type for ace in sd.sacl.aces][-1] == AceType.SYSTEM_AUDIT_OBJECT


def test_descriptors_samba_builds_from_sddl_re_emit_byte_for_byte() -> None:
    blobs = samba_pack_many(list(REALISTIC_SDDL.values()), EXAMPLE_DOMAIN_SID)
    for sddl, blob in zip(REALISTIC_SDDL.values(), blobs, strict=True):
        assert sdlib.to_bytes(sdlib.parse(blob)) == blob, sddl


def test_windows_layout_is_re_emitted_in_samba_order_as_samba_does() -> None:
    owner, group = sid_to_bytes("S-1-5-32-544"), sid_to_bytes("S-1-5-18")
    dacl = sdlib.acl_to_bytes(Acl(ACL_REVISION, (Ace(0, 0, AccessMask.GA, EVERYONE),)))
    sacl = sdlib.acl_to_bytes(Acl(ACL_REVISION, (Ace(2, 0x40, AccessMask.WD, EVERYONE),)))
    at = [20, 20 + len(sacl), 20 + len(sacl) + len(dacl)]
    control = 0x8014 | Control.SE_DACL_PRESENT
    header = struct.pack("<BBHIIII", 1, 0, control, at[2], at[2] + len(owner), at[0], at[1])
    windows = header + sacl + dacl + owner + group
    sd = sdlib.parse(windows)
    assert (sd.owner, sd.group) == ("S-1-5-32-544", "S-1-5-18")
    assert sdlib.to_bytes(sd) == samba_unpack(windows, EXAMPLE_DOMAIN_SID)[1]
    assert sdlib.to_bytes(sd)[20:] == owner + group + sacl + dacl


def test_object_ace_carries_presence_flags_and_guids_in_bytes_le_order() -> None:
    ace = Ace(AceType.ACCESS_ALLOWED_OBJECT, 0, AccessMask.RP, EVERYONE, None, USER_CLASS)
    encoded = sdlib.ace_to_bytes(ace)
    assert encoded[:8] == struct.pack("<BBHI", 5, 0, len(encoded), 0x10)
    assert encoded[8:12] == struct.pack("<I", sdlib.ACE_INHERITED_OBJECT_TYPE_PRESENT)
    assert encoded[12:28] == bytes.fromhex("ba7a96bfe60dd011a28500aa003049e2")
    assert encoded[28:] == sid_to_bytes(EVERYONE)


def test_callback_ace_application_data_round_trips_verbatim() -> None:
    condition = b"artx\x00\x00\x00\x00"
    ace = Ace(
        AceType.ACCESS_ALLOWED_CALLBACK, 0, AccessMask.FA, EVERYONE, application_data=condition
    )
    sd = SecurityDescriptor(1, 0x8004, None, None, Acl(ACL_REVISION, (ace,)), None)
    raw = sdlib.to_bytes(sd)
    assert raw.endswith(sid_to_bytes(EVERYONE) + condition)
    assert sdlib.parse(raw) == sd and sdlib.to_bytes(sdlib.parse(raw)) == raw


def random_ace(rng: random.Random, in_sacl: bool, samba_safe: bool) -> Ace:
    """One ACE of any layout; ``samba_safe`` keeps to what Samba 4.17 marshals intact."""
    types = [2, 3, 7, 8] if in_sacl else [0, 1, 5, 6]
    if not samba_safe:
        types += [0x0D, 0x0F] if in_sacl else [0x09, 0x0A, 0x0B, 0x0C]
    ace_type = rng.choice(types)
    flags = rng.choice([0, 0x01, 0x02, 0x03, 0x0B, 0x12, 0x1F]) | (0xC0 if in_sacl else 0)
    mask = rng.choice([rng.getrandbits(32), rng.getrandbits(9), 0xF01FF, 0x1301BF, 0x10000000])
    longest = "S-1-5-21-" + "-".join(["4294967295"] * 14)
    domain_sid = f"{EXAMPLE_DOMAIN_SID}-{rng.randint(500, 70000)}"
    sid = rng.choice(
        [EVERYONE, "S-1-5-32-544", domain_sid, "S-1-0x123456789abc-7", "S-1-5", longest]
    )
    guids: list[uuid.UUID | None] = [None, None]
    if ace_type in sdlib.OBJECT_ACE_TYPES:
        guids = [rng.choice([None, uuid.UUID(int=rng.getrandbits(128))]) for _ in "oi"]
    data = b"" if samba_safe or ace_type in (0, 1, 2, 3, 5, 6, 7, 8) else rng.randbytes(8)
    return Ace(ace_type, flags, mask, sid, guids[0], guids[1], data)


def random_descriptor(rng: random.Random, samba_safe: bool) -> SecurityDescriptor:
    def acl(in_sacl: bool) -> Acl | None:
        if rng.random() < 0.2:
            return None
        count = rng.randint(0, 12)
        aces = tuple(random_ace(rng, in_sacl, samba_safe) for _ in range(count))
        return Acl(rng.choice([ACL_REVISION, ACL_REVISION_DS]), aces)

    dacl, sacl = acl(False), acl(True)
    control = 0x8000 | rng.getrandbits(14) & ~0x0014
    control |= (0x4 if dacl else 0) | (0x10 if sacl else 0)
    owner = rng.choice([None, "S-1-5-32-544", f"{EXAMPLE_DOMAIN_SID}-512"])
    group = rng.choice([None, "S-1-5-18", f"{EXAMPLE_DOMAIN_SID}-513"])
    return SecurityDescriptor(1, control, owner, group, dacl, sacl)


def test_generated_descriptors_round_trip() -> None:
    rng = random.Random(20240611)
    for _ in range(500):
        sd = random_descriptor(rng, samba_safe=False)
        raw = sdlib.to_bytes(sd)
        assert sdlib.parse(raw) == sd
        assert sdlib.to_bytes(sdlib.parse(raw)) == raw


def test_samba_re_marshals_generated_descriptors_unchanged() -> None:
    rng = random.Random(7)
    descriptors = [random_descriptor(rng, samba_safe=True) for _ in range(300)]
    assert sum(len(sd.dacl.aces) for sd in descriptors if sd.dacl is not None) > 1000
    blobs = [sdlib.to_bytes(sd) for sd in descriptors]
    for blob, (_, repacked) in zip(
        blobs, samba_unpack_many(blobs, EXAMPLE_DOMAIN_SID), strict=True
    ):
        assert repacked == blob


def test_sids_encode_like_samba_and_decode_back() -> None:
    sids = ["S-1-1-0", "S-1-5-32-544", f"{PROVISIONED_DOMAIN_SID}-1105", "S-1-5", "S-1-16-12288"]
    sddls = [f"O:{sid}" for sid in sids]
    for sid, blob in zip(sids, samba_pack_many(sddls, EXAMPLE_DOMAIN_SID), strict=True):
        encoded = sid_to_bytes(sid)
        assert blob[20:] == encoded
        assert sid_from_bytes(encoded) == sid
    assert read_sid(b"\xff" + sid_to_bytes("S-1-5-18") + b"\x00", 1) == ("S-1-5-18", 13)


def test_large_identifier_authority_is_written_in_hex_as_samba_writes_it() -> None:
    # Samba 4.17 mis-parses "S-1-0x..." in SDDL, so the binary goes to Samba instead.
    sid = "S-1-0x1234567890ab-21-7"
    assert sid_to_bytes(sid)[2:8] == bytes.fromhex("1234567890ab")
    sd = SecurityDescriptor(1, Control.SE_SELF_RELATIVE, sid, None, None, None)
    assert samba_unpack(sdlib.to_bytes(sd), EXAMPLE_DOMAIN_SID)[0] == f"O:{sid}"
    assert sid_from_bytes(sid_to_bytes("S-1-4294967296-1")) == "S-1-0x100000000-1"
    with pytest.raises(InputError, match="trailing"):
        sid_from_bytes(sid_to_bytes(sid) + b"\x00")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x01\x00\x04\x80", "too short"),
        (b"\x02" + bytes(19), "revision 2"),
        (b"\x01\x01\x04\x80" + bytes(16), "resource-manager"),
        (struct.pack("<BBHIIII", 1, 0, 0x8000, 8, 0, 0, 0) + bytes(8), "header"),
        (struct.pack("<BBHIIII", 1, 0, 0x8000, 20, 0, 0, 0) + b"\x01\x05", "truncated SID"),
        (struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 20) + b"\x04\x00\x40\x00", "outside"),
        (
            struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 20) + b"\x09\x00\x08\x00" + bytes(4),
            "bad ACL",
        ),
    ],
)
def test_malformed_descriptor_is_refused(raw: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        sdlib.parse(raw)


def _dacl_with(ace_bytes: bytes) -> bytes:
    acl = struct.pack("<BBHHH", 4, 0, 8 + len(ace_bytes), 1, 0) + ace_bytes
    return struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 20) + acl


@pytest.mark.parametrize(
    ("ace_bytes", "message"),
    [
        (struct.pack("<BBHI", 0, 0, 0x40, 1) + sid_to_bytes(EVERYONE), "bad size"),
        (struct.pack("<BBHI", 0, 0, 12, 1) + sid_to_bytes(EVERYONE)[:4], "truncated SID"),
        (struct.pack("<BBHI", 0, 0, 16, 1) + sid_to_bytes(EVERYONE), "overruns"),
        (struct.pack("<BBHI", 0x14, 0, 20, 1) + sid_to_bytes(EVERYONE), "unsupported ACE type"),
        (struct.pack("<BBHII", 5, 0, 24, 1, 1) + sid_to_bytes(EVERYONE), "truncated object GUID"),
    ],
)
def test_malformed_ace_is_refused(ace_bytes: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        sdlib.parse(_dacl_with(ace_bytes))


def test_ace_refuses_guids_on_a_non_object_type_and_normalises_its_sid() -> None:
    with pytest.raises(InputError, match="cannot carry object GUIDs"):
        Ace(AceType.ACCESS_ALLOWED, 0, 1, EVERYONE, USER_CLASS)
    assert Ace(AceType.ACCESS_ALLOWED, 0, 1, "s-1-0x5-32-0544").sid == "S-1-5-32-544"
    with pytest.raises(InputError, match="not a SID"):
        Ace(AceType.ACCESS_ALLOWED, 0, 1, "BA")


def test_helpers_edit_a_dacl_without_touching_the_rest() -> None:
    sd = sdlib.parse(PROVISIONED_DESCRIPTORS["domain root"])
    assert sd.dacl is not None
    deny = Ace(AceType.ACCESS_DENIED, 0, AccessMask.DELETE | AccessMask.DELETE_TREE, EVERYONE)
    protected = sd.with_dacl(sd.dacl.with_ace_first(deny))
    assert protected.dacl is not None and protected.dacl.aces[0] == deny
    assert protected.dacl.aces[1:] == sd.dacl.aces
    assert (protected.owner, protected.sacl, protected.control) == (sd.owner, sd.sacl, sd.control)
    assert protected.dacl.has_ace(deny) and not sd.dacl.has_ace(deny)
    assert protected.dacl.has_ace(lambda ace: ace.ace_type == AceType.ACCESS_DENIED)
    restored = protected.with_dacl(protected.dacl.without(lambda ace: ace == deny))
    assert sdlib.to_bytes(restored) == PROVISIONED_DESCRIPTORS["domain root"]


def test_with_dacl_keeps_the_present_bit_in_step() -> None:
    bare = SecurityDescriptor(1, Control.SE_SELF_RELATIVE, None, None, None, None)
    with_dacl = bare.with_dacl(Acl(ACL_REVISION, ()))
    assert with_dacl.control == Control.SE_SELF_RELATIVE | Control.SE_DACL_PRESENT
    assert with_dacl.with_dacl(None).control == Control.SE_SELF_RELATIVE
    with_sacl = bare.with_sacl(Acl(ACL_REVISION, ()))
    assert with_sacl.control & Control.SE_SACL_PRESENT


def test_with_ace_first_raises_the_acl_revision_for_object_aces() -> None:
    plain = Acl(ACL_REVISION, ())
    object_ace = Ace(AceType.ACCESS_ALLOWED_OBJECT, 0, AccessMask.RP, EVERYONE, WEB_INFORMATION)
    assert plain.with_ace_first(object_ace).revision == ACL_REVISION_DS
    assert plain.with_ace_first(Ace(0, 0, 1, EVERYONE)).revision == ACL_REVISION


@pytest.mark.parametrize(
    ("names", "value"),
    [
        (["FA", "FILE_ALL_ACCESS"], 0x001F01FF),
        (["FR", "FILE_GENERIC_READ"], 0x00120089),
        (["FW", "FILE_GENERIC_WRITE"], 0x00120116),
        (["FX", "FILE_GENERIC_EXECUTE"], 0x001200A0),
        (["KA", "KEY_ALL_ACCESS"], 0x000F003F),
        (["KR", "KX", "KEY_READ", "KEY_EXECUTE"], 0x00020019),
        (["KW", "KEY_WRITE"], 0x00020006),
        (["DT", "DELETE_TREE", "DS_DELETE_TREE"], 0x00000040),
        (["SD", "DELETE"], 0x00010000),
        (["CR", "CONTROL_ACCESS", "DS_CONTROL_ACCESS"], 0x00000100),
        (["ACCESS_SYSTEM_SECURITY"], 0x01000000),
        (["GA", "GENERIC_ALL"], 0x10000000),
        (["GR", "GENERIC_READ"], 0x80000000),
    ],
)
def test_access_mask_names_match_ms_dtyp_values(names: list[str], value: int) -> None:
    assert [int(AccessMask[name]) for name in names] == [value] * len(names)


def test_directory_full_control_is_the_sum_of_its_letters() -> None:
    letters = ["CC", "DC", "LC", "SW", "RP", "WP", "DT", "LO", "CR", "SD", "RC", "WD", "WO"]
    full = 0
    for letter in letters:
        full |= AccessMask[letter]
    assert full == int(AccessMask.DS_FULL_CONTROL) == 0x000F01FF


# What Samba 4.17 serves for a file created in a GPT folder whose DACL holds the "Apply
# Group Policy" object ACE: the file's inherited copy has no GUIDs and undefined flag
# bits 0x8d015400 (read over SMB from a lab DC; Samba's own NDR reader ignores them).
SAMBA_FILE_IN_GPT = bytes.fromhex(
    "0100048014000000240000000000000040000000010200000000000520000000200200000105000000"
    "000005150000001ddd2237633d5366947a5f41010200000200bc000700000000002400ff011f000105"
    "000000000005150000001ddd2237633d5366947a5f410002000000002400ff011f00010500000000000"
    "5150000001ddd2237633d5366947a5f410702000000001800ff011f000102000000000005200000002002"
    "000000001400ff011f0001010000000000051200000000001400a900120001010000000000050b000000"
    "05001800000000000054018d01010000000000050b00000000001400a9001200010100000000000509000000"
)


def test_undefined_object_flag_bits_samba_leaves_are_kept_verbatim() -> None:
    parsed = sdlib.parse(SAMBA_FILE_IN_GPT)
    assert parsed.dacl is not None
    (odd,) = [ace for ace in parsed.dacl.aces if ace.is_object]
    assert (odd.sid, odd.object_type, odd.inherited_object_type) == ("S-1-5-11", None, None)
    assert odd.object_flags_extra == 0x8D015400
    assert sdlib.to_bytes(parsed) == SAMBA_FILE_IN_GPT


def test_presence_bits_are_not_extra_bits() -> None:
    with pytest.raises(InputError, match="not extra bits"):
        sdlib.Ace(5, 0, 1, EVERYONE, object_flags_extra=1)
    with pytest.raises(InputError, match="cannot carry object GUIDs"):
        sdlib.Ace(0, 0, 1, EVERYONE, object_flags_extra=4)
