"""SDDL text, cross-checked against Samba's ``from_sddl`` / ``as_sddl``.

Where our text differs from Samba 4.17's it is in spelling, never in meaning, and only
in the ways ``canonical`` below undoes: the order of rights letters (we write Windows'
ascending-bit order, Samba 4.17 its own table order), hex width (``0x1301bf`` against
``0x001301bf``) and FA/FR/FW/FX for exact file masks (Samba 4.17 writes hex). Samba 4.17
also reads ``FA`` as 0x1ff and octal or decimal masks as 0, against MS-DTYP (those two
points have their own tests), and cannot parse ``D:PAIS:...`` (flags of an empty ACL
followed by a section): text of ours that Samba must read goes through ``for_samba_417``.
Samba 4.17 writes nothing for a NULL DACL; we write ``D:NO_ACCESS_CONTROL``.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import re
import string
import uuid

import pytest
from samba_oracle import (
    EXAMPLE_DOMAIN_SID,
    PROVISIONED_DESCRIPTORS,
    PROVISIONED_DOMAIN_SID,
    REALISTIC_SDDL,
    ask_samba,
    samba_pack,
    samba_pack_many,
    samba_unpack,
    samba_unpack_many,
)

from adsuite.errors import InputError
from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.sddl import from_sddl, rights_from_sddl, rights_to_sddl, to_sddl
from adsuite.formats.security_descriptor import (
    ACL_REVISION_DS,
    Ace,
    AceType,
    Acl,
    Control,
    SecurityDescriptor,
)
from adsuite.formats.sid import (
    SDDL_DOMAIN_RID_ALIASES,
    SDDL_ROOT_DOMAIN_RID_ALIASES,
    SDDL_SID_ALIASES,
    alias_to_sid,
    sid_from_bytes,
)

DOMAIN = EXAMPLE_DOMAIN_SID
FILE_MASKS = {"FA": 0x1F01FF, "FR": 0x120089, "FW": 0x120116, "FX": 0x1200A0}  # MS-DTYP
DEFAULTED = (
    Control.SE_OWNER_DEFAULTED
    | Control.SE_GROUP_DEFAULTED
    | Control.SE_DACL_DEFAULTED
    | Control.SE_SACL_DEFAULTED
)
_ACE = re.compile(r"\(([^;()]*);([^;()]*);([^;()]*);([^;()]*);([^;()]*);([^;()]*)\)")


def canonical(sddl: str) -> str:
    """Undo the documented spelling differences; meaning is left untouched."""

    def rights(text: str) -> str:
        if text.startswith("0x"):
            return f"{int(text, 16):#x}"
        if text in FILE_MASKS:
            return f"{FILE_MASKS[text]:#x}"
        return "".join(sorted(text[i : i + 2] for i in range(0, len(text), 2)))

    def ace(match: re.Match[str]) -> str:
        fields = list(match.groups())
        fields[2] = rights(fields[2])
        return "(" + ";".join(fields) + ")"

    return _ACE.sub(ace, sddl)


def for_samba_417(sddl: str) -> str:
    """Our SDDL in a form Samba 4.17 reads as MS-DTYP means it (same meaning, new spelling).

    Samba 4.17 reads the FA right as 0x1ff, so FA is spelled in hex; and it cannot parse
    the flags of an empty ACL followed by another section (``D:PAIS:...``), so such a
    DACL section is moved to the end.
    """

    def spell_out_fa(match: re.Match[str]) -> str:
        fields = list(match.groups())
        fields[2] = "0x1f01ff" if fields[2] == "FA" else fields[2]
        return "(" + ";".join(fields) + ")"

    text = _ACE.sub(spell_out_fa, sddl)
    empty_dacl = re.search(r"D:(?:P|AR|AI)+(?=S:)", text)
    if empty_dacl is not None:
        text = text[: empty_dacl.start()] + text[empty_dacl.end() :] + empty_dacl.group()
    return text


def test_from_sddl_builds_the_bytes_samba_builds() -> None:
    texts = list(REALISTIC_SDDL.values())
    samba_blobs = samba_pack_many([for_samba_417(text) for text in texts], DOMAIN)
    for text, samba_blob in zip(texts, samba_blobs, strict=True):
        assert sdlib.to_bytes(from_sddl(text, DOMAIN)) == samba_blob, text


def samba_made_descriptors() -> list[tuple[bytes, str]]:
    """(binary, domain SID) pairs: realistic SDDL packed by Samba, and provisioned ones."""
    texts = [for_samba_417(text) for text in REALISTIC_SDDL.values()]
    pairs = [(blob, DOMAIN) for blob in samba_pack_many(texts, DOMAIN)]
    return pairs + [(raw, PROVISIONED_DOMAIN_SID) for raw in PROVISIONED_DESCRIPTORS.values()]


def test_to_sddl_says_what_samba_as_sddl_says() -> None:
    for blob, domain in samba_made_descriptors():
        ours = to_sddl(sdlib.parse(blob), domain)
        samba_text = samba_unpack(blob, domain)[0]
        assert canonical(ours) == canonical(samba_text)
        assert samba_pack(for_samba_417(ours), domain) == samba_pack(samba_text, domain)


def test_our_sddl_reads_back_to_the_same_descriptor_less_defaulted_bits() -> None:
    for blob, domain in samba_made_descriptors():
        sd = sdlib.parse(blob)
        again = from_sddl(to_sddl(sd, domain), domain)
        assert again == dataclasses.replace(sd, control=sd.control & ~DEFAULTED)


def test_defaulted_control_bits_do_not_travel_through_sddl_for_samba_either() -> None:
    raw = PROVISIONED_DESCRIPTORS["OU=Domain Controllers"]
    sd = sdlib.parse(raw)
    assert sd.control & DEFAULTED == Control.SE_OWNER_DEFAULTED | Control.SE_GROUP_DEFAULTED
    samba_text = samba_unpack(raw, PROVISIONED_DOMAIN_SID)[0]
    samba_again = sdlib.parse(samba_pack(samba_text, PROVISIONED_DOMAIN_SID))
    ours_again = from_sddl(to_sddl(sd, PROVISIONED_DOMAIN_SID), PROVISIONED_DOMAIN_SID)
    assert ours_again.control == samba_again.control == sd.control & ~DEFAULTED


def test_file_all_access_follows_ms_dtyp_where_samba_417_differs() -> None:
    ours = from_sddl("D:(A;OICI;FA;;;BA)")
    assert ours.dacl is not None and ours.dacl.aces[0].mask == 0x1F01FF
    assert to_sddl(ours) == "D:(A;OICI;FA;;;BA)"
    samba_sd = sdlib.parse(samba_pack("D:(A;OICI;FA;;;BA)", DOMAIN))
    assert samba_sd.dacl is not None and samba_sd.dacl.aces[0].mask in (0x1FF, 0x1F01FF)


def test_octal_and_decimal_masks_follow_ms_dtyp_where_samba_417_reads_zero() -> None:
    ours = from_sddl("D:(A;;017;;;WD)(A;;1179817;;;WD)")
    assert ours.dacl is not None and [ace.mask for ace in ours.dacl.aces] == [0o17, 0x1200A9]
    samba_sd = sdlib.parse(samba_pack("D:(A;;017;;;WD)(A;;1179817;;;WD)", DOMAIN))
    assert samba_sd.dacl is not None
    assert [ace.mask for ace in samba_sd.dacl.aces] in ([0, 0], [0o17, 0x1200A9])


def test_null_dacl_is_written_as_no_access_control_which_samba_417_omits() -> None:
    sd = from_sddl("O:BAD:NO_ACCESS_CONTROL")
    assert sd.dacl is None and sd.control & Control.SE_DACL_PRESENT
    assert sdlib.to_bytes(sd)[16:20] == b"\x00\x00\x00\x00"
    assert to_sddl(sd) == "O:BAD:NO_ACCESS_CONTROL"
    assert samba_unpack(sdlib.to_bytes(sd), DOMAIN)[0] == "O:BA"


@pytest.mark.parametrize(
    ("mask", "text"),
    [
        (0xF01FF, "CCDCLCSWRPWPDTLOCRSDRCWDWO"),
        (0x20094, "LCRPLORC"),
        (0xF0000000, "GAGXGWGR"),
        (0x1F01FF, "FA"),
        (0x120089, "FR"),
        (0x120116, "FW"),
        (0x1200A0, "FX"),
        (0x1301BF, "0x1301bf"),
        (0x01000000, "0x1000000"),
        (0, ""),
    ],
)
def test_rights_are_spelled_like_windows(mask: int, text: str) -> None:
    assert rights_to_sddl(mask) == text
    assert rights_from_sddl(text) == mask


@pytest.mark.parametrize(
    ("text", "mask"),
    [
        ("RPWPCRCCDCLCLORCWOWDSDDTSW", 0xF01FF),
        ("WPRP", 0x30),
        ("KA", 0xF003F),
        ("KRKW", 0x2001F),
        ("KX", 0x20019),
        ("FAGA", 0x101F01FF),
        ("0x00000010", 0x10),
        ("0XFFFFFFFF", 0xFFFFFFFF),
        ("0", 0),
        ("017", 15),
        ("1179817", 0x1200A9),
    ],
)
def test_rights_are_read_in_every_form_ms_dtyp_allows(text: str, mask: int) -> None:
    assert rights_from_sddl(text) == mask


def test_every_sid_alias_resolves_as_samba_resolves_it() -> None:
    codes = ["".join(pair) for pair in itertools.product(string.ascii_uppercase, repeat=2)]
    ours = {**SDDL_SID_ALIASES, **SDDL_DOMAIN_RID_ALIASES, **SDDL_ROOT_DOMAIN_RID_ALIASES}
    replies = ask_samba([{"op": "pack", "sddl": f"O:{code}", "domain": DOMAIN} for code in codes])
    samba = {
        code: sid_from_bytes(bytes.fromhex(reply["hex"])[20:])
        for code, reply in zip(codes, replies, strict=True)
        if "error" not in reply
    }
    assert set(samba) == set(ours)
    for code, sid in samba.items():
        assert alias_to_sid(code, DOMAIN) == sid, code
        owner_only = SecurityDescriptor(1, Control.SE_SELF_RELATIVE, sid, None, None, None)
        assert to_sddl(owner_only, DOMAIN) == f"O:{code}"


def test_domain_relative_alias_needs_a_domain_sid() -> None:
    with pytest.raises(InputError, match=r"column 3, 'DA': .*domain SID"):
        from_sddl("O:DA")
    sd = from_sddl("O:DAG:BA", DOMAIN)
    assert to_sddl(sd) == f"O:{DOMAIN}-512G:BA"
    assert to_sddl(sd, DOMAIN) == "O:DAG:BA"


def test_forest_root_aliases_use_the_root_domain_sid() -> None:
    root, child = "S-1-5-21-100-200-300", "S-1-5-21-400-500-600"
    sd = from_sddl("O:EAG:DAD:(A;;RP;;;SA)(A;;RP;;;RO)", child, root_domain_sid=root)
    assert (sd.owner, sd.group) == (f"{root}-519", f"{child}-512")
    assert sd.dacl is not None and [a.sid for a in sd.dacl.aces] == [f"{root}-518", f"{root}-498"]
    assert to_sddl(sd, child, root_domain_sid=root) == "O:EAG:DAD:(A;;RP;;;SA)(A;;RP;;;RO)"
    assert to_sddl(sd, child).startswith(f"O:{root}-519G:DA")


def random_sddl_descriptor(rng: random.Random) -> SecurityDescriptor:
    """A descriptor SDDL can carry exactly: ACL revision 4, no defaulted bits."""

    def ace(in_sacl: bool) -> Ace:
        ace_type = rng.choice([2, 3, 7, 8] if in_sacl else [0, 1, 5, 6])
        flags = rng.getrandbits(5) | (rng.choice([0x40, 0x80, 0xC0]) if in_sacl else 0)
        mask = rng.choice([rng.getrandbits(32), rng.getrandbits(9), 0x1301BF, 0x120089, 0x1F01FF])
        sid = rng.choice(
            [*SDDL_SID_ALIASES.values(), f"{DOMAIN}-{rng.choice([512, 519, 1105, 553])}"]
        )
        guids: list[uuid.UUID | None] = [None, None]
        if ace_type in sdlib.OBJECT_ACE_TYPES:
            guids = [rng.choice([None, uuid.UUID(int=rng.getrandbits(128))]) for _ in "oi"]
        return Ace(ace_type, flags, mask, sid, guids[0], guids[1])

    dacl = Acl(ACL_REVISION_DS, tuple(ace(False) for _ in range(rng.randint(0, 10))))
    sacl = Acl(ACL_REVISION_DS, tuple(ace(True) for _ in range(rng.randint(1, 4))))
    control = 0x8014 | rng.choice([0, 0x1000, 0x1400, 0x0500]) | rng.choice([0, 0x2A00])
    return SecurityDescriptor(1, control, f"{DOMAIN}-512", "S-1-5-18", dacl, sacl)


def test_generated_descriptors_survive_sddl_and_samba_agrees() -> None:
    rng = random.Random(42)
    descriptors = [random_sddl_descriptor(rng) for _ in range(200)]
    texts = [to_sddl(sd, DOMAIN) for sd in descriptors]
    for sd, text in zip(descriptors, texts, strict=True):
        assert from_sddl(text, DOMAIN) == sd, text
    samba_blobs = samba_pack_many([for_samba_417(text) for text in texts], DOMAIN)
    samba_texts = samba_unpack_many([sdlib.to_bytes(sd) for sd in descriptors], DOMAIN)
    for sd, text, blob, (samba_text, _) in zip(
        descriptors, texts, samba_blobs, samba_texts, strict=True
    ):
        assert blob == sdlib.to_bytes(sd), text
        assert canonical(text) == canonical(samba_text)


def test_whitespace_between_sections_and_aces_is_allowed() -> None:
    text = "O:BA\n G:SY\n D:PAI\n  (A;;GA;;;WD)\n  (A;;GR;;;AU)\n S:(AU;SA;WD;;;WD) "
    assert to_sddl(from_sddl(text)) == "O:BAG:SYD:PAI(A;;GA;;;WD)(A;;GR;;;AU)S:(AU;SA;WD;;;WD)"


def test_sections_may_come_in_any_order_and_guids_in_any_case() -> None:
    text = "S:(OU;SA;WP;F30E3BBE-9FF0-11D1-B603-0000F80367C1;;WD)D:(A;;RC;;;AU)G:SYO:BA"
    assert to_sddl(from_sddl(text)) == (
        "O:BAG:SYD:(A;;RC;;;AU)S:(OU;SA;WP;f30e3bbe-9ff0-11d1-b603-0000f80367c1;;WD)"
    )


@pytest.mark.parametrize(
    ("text", "column", "token", "problem"),
    [
        ("D:(A;;XY;;;WD)", 7, "XY", "unknown access right"),
        ("D:(A;;RPWPXY;;;WD)", 11, "XY", "unknown access right"),
        ("D:(A;;RPW;;;WD)", 9, "W", "unknown access right"),
        ("D:(Q;;GA;;;WD)", 4, "Q", "unknown ACE type"),
        ("D:(A;QQ;GA;;;WD)", 6, "QQ", "unknown ACE flag"),
        ("D:(A;;GA;;;WD", 3, "(A;;GA;;;WD", "no closing"),
        ("D:(A;;GA;;WD)", 3, "(A;;GA;;WD)", "6 ';'-separated fields"),
        ('D:(XA;;FA;;;WD;(@User.Title=="PM"))', 4, "XA", "not supported"),
        ("D:(OA;;CC;not-a-guid;;WD)", 11, "not-a-guid", "bad GUID"),
        ("D:(A;;CC;bf967aba-0de6-11d0-a285-00aa003049e2;;WD)", 10, "bf967aba", "not an object"),
        ("D:(A;;GA;;;XX)", 12, "XX", "unknown SDDL SID alias"),
        ("D:(A;;GA;;;S-1-5-21-abc)", 12, "S-1-5-21-abc", "bad SID"),
        ("D:(A;;0x1FFFFFFFF;;;WD)", 7, "0x1FFFFFFFF", "numeric access mask"),
        ("D:(A;;08;;;WD)", 7, "08", "numeric access mask"),
        ("D:(AU;SA;GA;;;WD)", 4, "AU", "not allowed in a DACL"),
        ("S:(A;;GA;;;WD)", 4, "A", "not allowed in a SACL"),
        ("O:BAO:SY", 5, "O:", "given twice"),
        ("Q:BA", 1, "Q", "expected O:, G:, D: or S:"),
        ("D:PZ(A;;GA;;;WD)", 4, "Z", "unexpected text"),
        ("O:BAX", 3, "BAX", "bad SID"),
        ("O:S-1-5-21-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15", 3, "S-1-5-21-1-2", "not a SID"),
        ("D:NO_ACCESS_CONTROL(A;;GA;;;WD)", 20, "(", "unexpected text"),
    ],
)
def test_bad_sddl_names_column_token_and_problem(
    text: str, column: int, token: str, problem: str
) -> None:
    with pytest.raises(InputError) as caught:
        from_sddl(text, DOMAIN)
    message = str(caught.value)
    assert message.startswith(f"bad SDDL at column {column}, '{token}"), message
    assert problem in message, message


@pytest.mark.parametrize(
    ("ace", "problem"),
    [
        (Ace(AceType.ACCESS_ALLOWED_CALLBACK, 0, 1, "S-1-1-0", application_data=b"artx"), "type"),
        (Ace(AceType.ACCESS_ALLOWED, 0, 1, "S-1-1-0", application_data=b"\0\0\0\0"), "data"),
        (Ace(AceType.SYSTEM_MANDATORY_LABEL, 0, 1, "S-1-16-4096"), "type 0x11"),
        (Ace(AceType.ACCESS_ALLOWED, 0x20, 1, "S-1-1-0"), "flags 0x20"),
    ],
)
def test_to_sddl_refuses_what_sddl_cannot_show(ace: Ace, problem: str) -> None:
    sd = SecurityDescriptor(1, 0x8004, None, None, Acl(ACL_REVISION_DS, (ace,)), None)
    with pytest.raises(InputError, match=problem):
        to_sddl(sd)
