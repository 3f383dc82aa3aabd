"""The pure DACL helpers delegation uses: coverage, the canonical edit, ACEs in words."""

from __future__ import annotations

import uuid

import pytest

from adsuite.formats import sddl
from adsuite.formats import security_descriptor as sdlib
from adsuite.resources.delegation import dacl

DOMAIN_SID = "S-1-5-21-1-2-3"
ADMINS = f"{DOMAIN_SID}-1101"
USER = uuid.UUID("bf967aba-0de6-11d0-a285-00aa003049e2")
PWD_LAST_SET = uuid.UUID("bf967a0a-0de6-11d0-a285-00aa003049e2")
RESET_PASSWORD = uuid.UUID("00299570-246d-11d0-a768-00aa006e0529")


def ace(text: str) -> sdlib.Ace:
    """One ACE from its SDDL form, e.g. ``(OA;CI;CCDC;<user>;;<sid>)``."""
    acl = sddl.from_sddl("D:" + text, DOMAIN_SID).dacl
    assert acl is not None and len(acl.aces) == 1
    return acl.aces[0]


def raw(text: str) -> bytes:
    return sdlib.to_bytes(sddl.from_sddl(text, DOMAIN_SID))


def text(data: bytes) -> str:
    return sddl.to_sddl(sdlib.parse(data), DOMAIN_SID)


CREATE_USERS = f"(OA;CI;CCDC;{USER};;{ADMINS})"
MANAGE_USERS = f"(OA;CIIO;CCDCLCSWRPWPDTLOCRSDRCWDWO;;{USER};{ADMINS})"


@pytest.mark.parametrize(
    ("have", "want", "covered"),
    [
        (CREATE_USERS, CREATE_USERS, True),
        (f"(A;CI;GA;;;{ADMINS})", CREATE_USERS, True),  # generic all on all objects
        (f"(A;CI;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{ADMINS})", MANAGE_USERS, True),
        (f"(OA;CI;CC;{USER};;{ADMINS})", CREATE_USERS, False),  # create only, no delete
        (f"(OA;;CCDC;{USER};;{ADMINS})", CREATE_USERS, False),  # not inherited below
        (f"(OA;CIIO;CCDC;{USER};;{ADMINS})", CREATE_USERS, False),  # not on the OU itself
        (f"(OA;CINP;CCDC;{USER};;{ADMINS})", CREATE_USERS, False),  # one level only
        (f"(OA;CIID;CCDC;{USER};;{ADMINS})", CREATE_USERS, False),  # inherited: not ours
        (f"(OD;CI;CCDC;{USER};;{ADMINS})", CREATE_USERS, False),  # a deny grants nothing
        (f"(OA;CI;CCDC;{USER};;{DOMAIN_SID}-1102)", CREATE_USERS, False),  # someone else
        (f"(OA;CIIO;CR;{RESET_PASSWORD};{USER};{ADMINS})", MANAGE_USERS, False),
        (
            f"(OA;CIIO;RPWP;{PWD_LAST_SET};;{ADMINS})",  # every class, so user objects too
            f"(OA;CIIO;RPWP;{PWD_LAST_SET};{USER};{ADMINS})",
            True,
        ),
    ],
)
def test_covers_means_grants_at_least_as_much_to_the_same_trustee(
    have: str, want: str, covered: bool
) -> None:
    assert dacl.covers(ace(have), ace(want)) is covered


def test_edit_puts_new_aces_after_the_explicit_ones_and_before_inherited_ones() -> None:
    before = "D:AI(D;;DTSD;;;WD)(A;;RPWP;;;DA)(A;CIID;LC;;;AU)"
    after = dacl.edit(raw(before), [ace(CREATE_USERS), ace(MANAGE_USERS)], [])
    assert text(after) == (
        f"D:AI(D;;DTSD;;;WD)(A;;RPWP;;;DA){CREATE_USERS}{MANAGE_USERS}(A;CIID;LC;;;AU)"
    )


def test_edit_adds_nothing_twice_and_returns_unchanged_bytes_untouched() -> None:
    data = raw(f"D:(A;;RPWP;;;DA){CREATE_USERS}")
    assert dacl.edit(data, [ace(CREATE_USERS)], []) is data


def test_edit_removes_the_explicit_ace_but_never_an_inherited_one() -> None:
    inherited = CREATE_USERS.replace("OA;CI;", "OA;CIID;")
    data = raw(f"D:(A;;RPWP;;;DA){CREATE_USERS}{inherited}")
    assert text(dacl.edit(data, [], [ace(CREATE_USERS), ace(inherited)])) == (
        f"D:(A;;RPWP;;;DA){inherited}"
    )


def test_edit_raises_the_acl_revision_for_object_aces() -> None:
    start = sdlib.SecurityDescriptor(
        1,
        int(sdlib.Control.SE_SELF_RELATIVE | sdlib.Control.SE_DACL_PRESENT),
        None,
        None,
        sdlib.Acl(sdlib.ACL_REVISION, (ace("(A;;RPWP;;;DA)"),)),
        None,
    )
    edited = sdlib.parse(dacl.edit(sdlib.to_bytes(start), [ace(CREATE_USERS)], []))
    assert edited.dacl is not None and edited.dacl.revision == sdlib.ACL_REVISION_DS


@pytest.mark.parametrize(
    ("ace_text", "words"),
    [
        (f"(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{ADMINS})", "full control"),
        (f"(A;;GA;;;{ADMINS})", "full control"),
        ("(D;;SDDT;;;WD)", "deny delete tree, delete"),
        (CREATE_USERS, "create child, delete child (user) on this object and descendants"),
        (MANAGE_USERS, "full control on descendant user objects"),
        (
            f"(OA;CIIO;CR;{RESET_PASSWORD};{USER};{ADMINS})",
            "extended right (User-Force-Change-Password) on descendant user objects",
        ),
        (
            f"(OA;;RP;{uuid.UUID(int=7)};;{ADMINS})",
            f"read property ({uuid.UUID(int=7)})",
        ),
        (f"(A;CIIO;0x10000000;;;{ADMINS})", "full control on descendant objects"),
    ],
)
def test_describe_says_an_ace_in_the_words_of_the_security_dialog(
    ace_text: str, words: str
) -> None:
    names = {USER: "user", RESET_PASSWORD: "User-Force-Change-Password"}
    assert dacl.describe(ace(ace_text), names) == words


def test_shape_for_sid_makes_an_object_ace_only_when_it_names_a_guid() -> None:
    plain = dacl.AceShape(int(sdlib.AceFlags.CI), dacl.FULL_CONTROL).for_sid(ADMINS)
    assert plain.ace_type == sdlib.AceType.ACCESS_ALLOWED
    typed = dacl.AceShape(int(sdlib.AceFlags.CI), 3, USER).for_sid(ADMINS)
    assert typed == ace(CREATE_USERS)
