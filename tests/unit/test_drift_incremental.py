"""When an incremental drift must read everything again, which searches it may answer
from a snapshot, extended DNs taken apart, and the snapshot file kept private."""

from __future__ import annotations

import marshal
import os
from pathlib import Path

import pytest

from adsuite.engine import drift_snapshot as snap
from adsuite.engine.drift_rules import eligible, in_scope, naming_context, stored_from
from adsuite.engine.drift_snapshot import Attr, Dc, Snapshot, Stored, decide
from adsuite.formats import extended_dn as ext
from adsuite.formats.ldap_query import Entry, Query

BASE = "DC=group,DC=example,DC=com"
NCS = (BASE, f"CN=Configuration,{BASE}", f"CN=Schema,CN=Configuration,{BASE}")
DC = Dc("ldaps://dc1", f"CN=NTDS Settings,CN=DC1,CN=Servers,{NCS[1]}", "ab" * 16, 5000)
NOW = 1_000_000.0
GUID = bytes(range(16))


def taken(dc: Dc = DC, hours_ago: float = 1.0) -> Snapshot:
    return Snapshot(dc, NOW - hours_ago * 3600, {})


@pytest.mark.parametrize(
    ("snapshot", "live", "full", "because"),
    [
        (taken(), DC, True, "--full"),
        (None, DC, False, "no snapshot"),
        (taken(), Dc("ldaps://dc2", DC.service, DC.invocation, 5000), False, "another DC"),
        (taken(), Dc(DC.url, "CN=NTDS Settings,CN=DC2", DC.invocation, 5000), False, "another DC"),
        (taken(), Dc(DC.url, DC.service, "cd" * 16, 5000), False, "restored"),
        (taken(), Dc(DC.url, DC.service, DC.invocation, 4999), False, "went back"),
        (taken(hours_ago=25), DC, False, "25.0 h old"),
        (taken(hours_ago=-1), DC, False, "h old"),
    ],
)
def test_a_full_read_is_forced_and_says_why(
    snapshot: Snapshot | None, live: Dc, full: bool, because: str
) -> None:
    reason = decide(snapshot, live, NOW, full=full, max_age_hours=24)
    assert reason is not None and because in reason


def test_a_recent_snapshot_of_the_same_dc_is_used() -> None:
    later = Dc(DC.url, DC.service, DC.invocation, 5100)
    assert decide(taken(hours_ago=23.9), later, NOW, full=False, max_age_hours=24) is None
    assert decide(taken(hours_ago=2), later, NOW, full=False, max_age_hours=1) is not None


SCHEMA = {
    "samaccountname": Attr("2.5.5.12", 0, 18),
    "description": Attr("2.5.5.12", 0, 16),
    "member": Attr("2.5.5.1", 2, 18),
    "memberof": Attr("2.5.5.1", 3, 17),  # a back link, not replicated
    "objectguid": Attr("2.5.5.10", 0, 19),  # flagged not replicated, never changes
    "lastlogon": Attr("2.5.5.16", 0, 17),
    "tokengroups": Attr("2.5.5.17", 0, 134217748),  # constructed
    "objectclass": Attr("2.5.5.2", 0, 18),
    "objectcategory": Attr("2.5.5.1", 0, 18),
    "ms-mcs-admpwd": Attr("2.5.5.5", 0, 16, 0x80),  # confidential
}


@pytest.mark.parametrize(
    ("query", "ok"),
    [
        (Query(BASE, "(objectClass=group)", ("sAMAccountName", "member", "objectGUID")), True),
        (Query(BASE, "(&(objectCategory=person)(sAMAccountName=a*))", ("description",)), True),
        (Query(BASE, "(objectClass=user)", ("memberOf",)), False),
        (Query(BASE, "(objectClass=user)", ("lastLogon",)), False),
        (Query(BASE, "(objectClass=user)", ("tokenGroups",), "base"), False),
        (Query(BASE, "(objectClass=user)", ("ms-Mcs-AdmPwd",)), False),
        (Query(BASE, "(objectClass=user)", ("unknownAttribute",)), False),
        (Query(BASE, "(objectClass=user)", ("*",)), False),
        (Query(BASE, "(member=CN=x,DC=y)", ("description",)), False),  # a DN in the filter
        (Query(BASE, "(memberOf:1.2.840.113556.1.4.1941:=CN=g)", ("description",)), False),
        (Query(BASE, "(objectClass=user)", ("description",), size_limit=1), False),
        (Query(BASE, "(isDeleted=TRUE)", ("description",), show_deleted=True), False),
        (Query("", "(objectClass=*)", ("description",), "base"), False),  # the rootDSE
        (Query("CN=elsewhere", "(objectClass=*)", ("description",)), False),
    ],
)
def test_only_searches_whose_results_change_with_usnchanged_are_answered_from_a_snapshot(
    query: Query, ok: bool
) -> None:
    assert eligible(query, SCHEMA, NCS) is ok


def test_a_base_belongs_to_the_deepest_naming_context_holding_it() -> None:
    assert naming_context(f"CN=x,{NCS[2]}", NCS) == NCS[2]
    assert naming_context(f"OU=a,{BASE}", NCS) == BASE
    assert naming_context("DC=other,DC=org", NCS) is None


def test_scopes_hold_what_the_directory_would_search() -> None:
    one = Query(f"OU=a,{BASE}", "(objectClass=*)", (), "one")
    assert in_scope(f"CN=u,OU=a,{BASE}", one)
    assert not in_scope(f"CN=u,OU=b,OU=a,{BASE}", one)
    assert in_scope(f"CN=u,OU=b,OU=a,{BASE}", Query(f"OU=a,{BASE}", "(x=*)", ()))
    assert not in_scope(f"OU=a,{BASE}", Query(f"CN=u,OU=a,{BASE}", "(x=*)", (), "base"))


def test_extended_dns_come_apart_into_the_plain_value_and_the_guid() -> None:
    hexed = GUID.hex().encode()
    assert ext.split(b"<GUID=" + hexed + b">;<SID=0105>;CN=x,DC=y") == (b"CN=x,DC=y", GUID)
    assert ext.split(b"B:4:ABCD:<GUID=" + hexed + b">;CN=x") == (b"B:4:ABCD:CN=x", GUID)
    assert ext.split(b"CN=plain,DC=y") == (b"CN=plain,DC=y", None)
    dashed = b"03020100-0504-0706-0809-0a0b0c0d0e0f"
    assert ext.split(b"<GUID=" + dashed + b">;CN=x") == (b"CN=x", GUID)


def test_a_stored_entry_keeps_plain_values_and_the_guids_it_names() -> None:
    other = bytes(16)
    raw = Entry(
        f"<GUID={GUID.hex()}>;CN=g,{BASE}",
        {"member": (f"<GUID={other.hex()}>;<SID=01>;CN=u,{BASE}".encode(),),
         "description": (b"<GUID=not-a-dn>;kept as it is",)},
    )  # fmt: skip
    stored = stored_from(raw, SCHEMA)
    assert stored == Stored(
        GUID,
        Entry(f"CN=g,{BASE}", {"member": (f"CN=u,{BASE}".encode(),),
                               "description": (b"<GUID=not-a-dn>;kept as it is",)}),
        frozenset({other}),
    )  # fmt: skip


def test_filters_name_the_attributes_they_test() -> None:
    names = ext.filter_attributes("(&(objectClass=user)(!(cn>=b))(sn~=x)(mail=*))")
    assert names == {"objectclass", "cn", "sn", "mail"}
    assert "*" in ext.filter_attributes("(member:1.2.840.113556.1.4.1941:=CN=g)")


def test_a_snapshot_round_trips_through_a_private_file(tmp_path: Path) -> None:
    query = Query(BASE, "(objectClass=user)", ("description",), sd_flags=4)
    entry = Entry(f"CN=u,{BASE}", {"description": (b"\x00\xff bytes \xe4",)})
    kept = Snapshot(DC, NOW, SCHEMA, {query: [Stored(GUID, entry, frozenset({bytes(16)}))]})
    kept.ancestors = {GUID: (BASE.lower(), "00")}
    path = tmp_path / "drift" / "one.snapshot"
    sha256 = snap.save(path, kept)
    assert os.stat(path).st_mode & 0o777 == 0o600
    raw = snap.read(path)
    assert raw is not None and sha256 == snap.digest(raw)
    assert snap.load(raw, sha256) == kept
    path.write_text("{not json", encoding="utf-8")
    garbage = path.read_bytes()
    assert snap.load(garbage, snap.digest(garbage)) is None


def test_a_snapshot_whose_values_are_not_what_save_writes_is_no_snapshot(tmp_path: Path) -> None:
    query = Query(BASE, "(objectClass=user)", ("description",))
    kept = Snapshot(DC, NOW, SCHEMA, {query: [Stored(GUID, Entry(f"CN=u,{BASE}"), frozenset())]})
    path = tmp_path / "drift" / "one.snapshot"
    snap.save(path, kept)
    doc = marshal.loads(path.read_bytes()[len(snap.MAGIC) :])
    doc["queries"][0][1][0] = (GUID, f"CN=u,{BASE}", {"description": ("text, not bytes",)}, ())
    raw = snap.MAGIC + marshal.dumps(doc)
    assert snap.load(raw, snap.digest(raw)) is None  # even with its digest vouched for


@pytest.mark.parametrize(
    ("search", "classes"),
    [
        ("(objectClass=organizationalUnit)", {"organizationalunit"}),
        ("(&(objectClass=group)(|(sAMAccountName=a)(sAMAccountName=b)))", {"group"}),
        ("(&(objectClass=user)(objectClass=person)(sAMAccountName=*))", {"user", "person"}),
        ("(objectClass=*)", set()),  # presence: any object
        ("(|(objectClass=user)(objectClass=group))", set()),  # either: neither required
        ("(!(objectClass=user))", set()),
        ("(&(|(objectClass=user)(objectClass=group))(cn=x))", set()),  # not top level
        ("(&(cn=a\\28objectClass=user\\29))", set()),  # parentheses in a value are escaped
        ("(&(objectClass=user)", set()),  # not a filter: nothing is assumed
    ],
)
def test_the_classes_a_filter_requires_are_only_those_every_match_must_have(
    search: str, classes: set[str]
) -> None:
    assert ext.required_classes(search) == classes
