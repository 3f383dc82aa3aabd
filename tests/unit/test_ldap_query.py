"""The one home of bulk name and SID lookups (adsuite/formats/ldap_query.py): filters
escaped as RFC 4515 says (checked against ldap3's own escaping), SIDs in their binary
form, names 500 to a filter and one scan past 1000, and a lookup that reports the first
account it could not find. The searches here are a dict of query -> entries, so what is
checked is which queries are asked and what is made of their answers."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from ldap3.utils.conv import escape_filter_chars

from adsuite.errors import DirectoryError
from adsuite.formats import ldap_query as lq
from adsuite.formats.sid import sid_to_bytes

BASE = "DC=group,DC=example,DC=com"
SID = "S-1-5-21-1-2-3-1105"


def entry(name: str, sid: str) -> lq.Entry:
    return lq.Entry(
        f"CN={name},{BASE}", {"samaccountname": (name.encode(),), "objectsid": (sid_to_bytes(sid),)}
    )


@pytest.mark.parametrize("value", ["plain", "a*b", "(x)", "back\\slash", "nul\0", "陈(财务)*"])
def test_escape_matches_ldap3(value: str) -> None:
    assert lq.escape(value) == escape_filter_chars(value)


def test_names_go_500_to_a_filter_and_past_1000_as_one_scan() -> None:
    names = [f"User{i}" for i in range(900)] + ["user1"]  # a duplicate in another case
    queries = lq.by_names(BASE, names, ("sAMAccountName",), "(objectClass=user)")
    assert [q.filter.count("(sAMAccountName=") for q in queries] == [500, 400]
    assert all(q.filter.startswith("(&(objectClass=user)(|") for q in queries)
    (scan,) = lq.by_names(BASE, [f"u{i}" for i in range(1001)])
    assert scan.filter == "(&(sAMAccountName=*))"
    assert scan.attributes == lq.ACCOUNT_ATTRIBUTES


def test_a_sid_goes_into_a_filter_in_binary_form() -> None:
    (query,) = lq.by_sids(BASE, [SID, SID])
    assert query.filter == "(|(objectSid=" + "".join(f"\\{b:02x}" for b in sid_to_bytes(SID)) + "))"
    assert len(lq.by_sids(BASE, [f"S-1-5-21-1-2-3-{r}" for r in range(1000, 2001)])) == 3


def test_dns_keep_their_order_and_chunk_as_asked() -> None:
    dns = [f"CN=g{i},{BASE}" for i in range(5)] + [f"CN=g0,{BASE}"]
    queries = lq.by_dns(BASE, dns, ("member",), per=2)
    assert [q.filter.count("(distinguishedName=") for q in queries] == [2, 2, 1]
    assert queries[0].filter.index("CN=g0") < queries[0].filter.index("CN=g1")


def search_of(found: Iterable[lq.Entry]) -> lq.Search:
    entries = list(found)

    def search(query: lq.Query) -> list[lq.Entry]:
        return [e for e in entries if (e.text("sAMAccountName") or "").lower() in query.filter
                or any(lq.sid_value(s) in query.filter for s in [lq.entry_sid(e) or ""] if s)]  # fmt: skip

    return search


def test_lookups_keep_only_what_was_asked_and_name_the_first_missing() -> None:
    search = search_of([entry("bob", SID), entry("alice", "S-1-5-21-1-2-3-1106")])
    assert lq.sids_of(search, BASE, ["BOB"]) == {"bob": SID}
    assert lq.names_of(search, BASE, [SID]) == {SID: "bob"}
    assert lq.sids_required(search, BASE, [], "to do anything") == {}
    with pytest.raises(DirectoryError, match=r"^no account named 'carol' to grant rights$"):
        lq.sids_required(search, BASE, ["bob", "carol"], "to grant rights")


def test_well_known_and_fixed_authority_sids_are_not_looked_up() -> None:
    assert lq.nameable({"S-1-1-0", "S-1-5-18", "S-1-22-1-0", SID}) == {SID}
