"""Object-level recovery, the pure parts: ldbsearch's LDIF, tombstones chained back to the
DNs they had, and the plan (source per attribute, memberships, what cannot come back).
The entries are shaped as the lab DC (Samba 4.17) returns them; the lab test
(tests/integration/test_recover_lab.py) proves the same against the real DC."""

from __future__ import annotations

import uuid

import pytest

from adsuite.errors import InputError
from adsuite.formats import ldif
from adsuite.formats.ldap_query import Entry
from adsuite.recovery import recover_plan, tombstones

BASE = "DC=group,DC=example,DC=com"
DELETED = f"CN=Deleted Objects,{BASE}"
OU_GUID, ALICE_GUID, OLD_OU_GUID = (str(uuid.UUID(int=n)) for n in (1, 2, 3))


def stone(rdn: str, value: str, guid: str, parent: str, changed: str, **extra: str) -> Entry:
    attributes = {
        "name": (f"{value}\nDEL:{guid}".encode(),),
        "objectguid": (uuid.UUID(guid).bytes_le,),
        "lastknownparent": (parent.encode(),),
        "whenchanged": (changed.encode(),),
        "isdeleted": (b"TRUE",),
        **{k.lower(): (v.encode(),) for k, v in extra.items()},
    }
    return Entry(f"{rdn}={value}\\0ADEL:{guid},{DELETED}", attributes)


def ou_stone(guid: str = OU_GUID, changed: str = "20261206190355.0Z") -> Entry:
    return stone("OU", "Rec", guid, BASE, changed, objectClass="organizationalUnit")


def alice_stone() -> Entry:
    parent = f"OU=Rec\\0ADEL:{OU_GUID},{DELETED}"  # the link follows the OU into Deleted Objects
    return stone(
        "CN", "Alice One", ALICE_GUID, parent, "20261206190355.0Z",
        objectClass="user", sAMAccountName="alice1", userAccountControl="512",
    )  # fmt: skip


def alice_copy() -> Entry:
    return Entry(
        f"CN=Alice One,OU=Rec,{BASE}",
        {
            "objectguid": (ALICE_GUID.encode(),),  # ldbsearch prints GUIDs as text
            "objectclass": (b"top", b"person", b"organizationalPerson", b"user"),
            "samaccountname": (b"alice1",),
            "useraccountcontrol": (b"514",),  # the tombstone's newer 512 wins
            "description": (b"first user",),
            "unicodepwd": (b"hash",),
            "memberof": (f"CN=Outside,CN=Users,{BASE}".encode(), f"CN=Gone,{BASE}".encode()),
        },
    )


def test_ldbsearch_ldif_unfolds_lines_decodes_base64_and_skips_comments_and_referrals() -> None:
    text = (
        "# record 1\ndn: CN=Alice One,OU=Rec,DC=group,DC=example,DC=com\n"
        "description: a long\n  value\ncn:: QWxpY2UgT25l\nmemberOf: CN=A\nmemberOf: CN=B\n\n"
        "# Referral\nref: ldap:///CN=Configuration,DC=group\n\n# returned 2 records\n"
    )
    entries = ldif.parse(text)
    assert [e.dn for e in entries] == [f"CN=Alice One,OU=Rec,{BASE}"]
    assert entries[0].text("description") == "a long value"
    assert entries[0].text("cn") == "Alice One"
    assert entries[0].texts("memberOf") == ["CN=A", "CN=B"]


def test_a_user_deleted_with_its_ou_gets_back_its_dn_under_the_ou_parents_first() -> None:
    found = tombstones.parse([alice_stone(), ou_stone()])
    assert tombstones.original_dns(found) == {
        OU_GUID: f"OU=Rec,{BASE}",
        ALICE_GUID: f"CN=Alice One,OU=Rec,{BASE}",
    }
    chosen = tombstones.subtree(found, f"ou=rec,{BASE.lower()}")
    assert [t.guid for t in chosen] == [OU_GUID, ALICE_GUID]


def test_of_an_ou_deleted_twice_the_newest_deletion_is_recovered_with_its_own_children() -> None:
    found = tombstones.parse(
        [alice_stone(), ou_stone(OLD_OU_GUID, "20250101000000.0Z"), ou_stone()]
    )
    assert [t.guid for t in tombstones.subtree(found, f"OU=Rec,{BASE}")] == [OU_GUID, ALICE_GUID]
    assert tombstones.subtree(found, f"OU=Other,{BASE}") == []


def test_a_name_finds_the_dn_by_rdn_or_account_name_and_two_places_are_refused() -> None:
    found = tombstones.parse([alice_stone(), ou_stone()])
    assert tombstones.dn_by_name(found, "ALICE1") == f"CN=Alice One,OU=Rec,{BASE}"
    assert tombstones.dn_by_name(found, "nobody") is None
    twin = stone("OU", "Alice One", OLD_OU_GUID, BASE, "20250101000000.0Z")
    with pytest.raises(InputError, match="2 deleted objects are named"):
        tombstones.dn_by_name(tombstones.parse([alice_stone(), ou_stone(), twin]), "alice one")


def test_a_reanimated_user_takes_what_the_tombstone_lost_from_the_backup_never_secrets() -> None:
    chosen = tombstones.parse([ou_stone(), alice_stone()])
    live = {f"cn=outside,cn=users,{BASE.lower()}"}
    copies = {ALICE_GUID: alice_copy()}
    plan = recover_plan.build(f"OU=Rec,{BASE}", chosen, "b.tar.bz2", copies, [], live)
    ou, alice = plan.objects
    assert (ou.kind, alice.kind, alice.tombstone_dn) == ("ou", "user", chosen[1].dn)
    assert alice.kept == ("samaccountname", "useraccountcontrol")
    assert dict(alice.restored) == {"description": (b"first user",)}
    assert recover_plan.PASSWORD_LOST in alice.lost
    assert ou.lost == ("attributes and memberships the tombstone lost: no backup holds "
                       f"objectGUID {OU_GUID}",)  # fmt: skip
    assert plan.memberships == (
        recover_plan.Membership(f"CN=Outside,CN=Users,{BASE}", f"CN=Alice One,OU=Rec,{BASE}"),
    )
    assert plan.lost == (
        f"membership of CN=Alice One,OU=Rec,{BASE} in CN=Gone,{BASE}: "
        f"CN=Gone,{BASE} no longer exists and is not recovered",
    )


def test_without_a_tombstone_the_backup_copy_is_created_disabled_and_says_its_sid_is_new() -> None:
    copy = alice_copy()
    plan = recover_plan.build(f"OU=Rec,{BASE}", [], "b.tar.bz2", {}, [copy], set(), "backup")
    (alice,) = plan.objects
    assert alice.tombstone_dn is None and alice.object_class == copy.raw("objectClass")
    assert alice.restored["useraccountcontrol"] == (b"514",)
    assert any("objectSid" in line for line in alice.lost)
    enabled = Entry(copy.dn, {**copy.attributes, "useraccountcontrol": (b"512",)})
    plan = recover_plan.build(f"OU=Rec,{BASE}", [], "b", {}, [enabled], set(), "backup")
    assert plan.objects[0].restored["useraccountcontrol"] == (b"514",)


def test_tombstone_only_creates_nothing_and_what_is_live_is_not_created_again() -> None:
    copy = alice_copy()
    assert recover_plan.build(copy.dn, [], "b", {}, [copy], set(), "tombstone").empty
    live = {copy.dn.lower()}
    assert recover_plan.build(copy.dn, [], "b", {}, [copy], live, "auto").empty


def test_with_no_backup_copy_the_journal_after_image_fills_in_and_says_so() -> None:
    chosen = tombstones.parse([ou_stone()])
    journaled = {f"ou=rec,{BASE.lower()}": {"description": (b"managed",), "ou": (b"Rec",)}}
    plan = recover_plan.build(f"OU=Rec,{BASE}", chosen, None, {}, [], set(), "auto", journaled)
    (ou,) = plan.objects
    assert (ou.restored_from, dict(ou.restored)) == ("journal", {"description": (b"managed",)})
    assert ou.lost == ("attributes adsuite never wrote, and memberships: no backup to read",)


def test_no_secret_attribute_of_a_backup_copy_reaches_the_plan() -> None:
    secrets = ("unicodePwd", "supplementalCredentials", "ntPwdHistory", "userPassword")
    copy = Entry(
        alice_copy().dn, {**alice_copy().attributes, **{s.lower(): (b"x",) for s in secrets}}
    )
    plan = recover_plan.build(copy.dn, [], "b", {}, [copy], set(), "backup")
    assert not {s.lower() for s in secrets} & set(plan.objects[0].restored)
