"""A pipelined batch of paged searches returns exactly what sequential reads return.

Against the real lab DC: a tree of this test's own (1,600 users, a group holding all of
them), read with a small page so that every
query spans several pages, plus the odd cases the pipeline leaves to the sequential
read (a missing base, a size limit, a bad filter, a DN the DC refuses).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from labkit import Lab

from adsuite.connectors import ldap as ldapmod
from adsuite.connectors import ldap_pipeline
from adsuite.connectors.credentials import Secret
from adsuite.connectors.ldap import Directory, Endpoint
from adsuite.errors import DirectoryError
from adsuite.formats.ldap_query import Entry, Query

USERS = 1_600  # over 1,500: AD would return the group's member values in ranges
PAGE = 150


@pytest.fixture(scope="module")
def tree(lab_env: Lab) -> str:
    """The test's own tree, made once for the module (the lab is provisioned per run)."""
    status = lab_env.status
    endpoint = Endpoint(
        status.ldap_url, str(status.ca_file), status.tls_name, status.admin_username
    )
    password = Secret(Path(status.secret_file).read_text(encoding="utf-8").strip())
    top = f"P{uuid.uuid4().hex[:8]}"
    ou = f"OU={top},{status.base_dn}"
    with Directory.connect(endpoint, password) as directory:
        directory.add(ou, {"objectClass": ["organizationalUnit"]})
        for child in ("A", "B"):
            directory.add(f"OU={child},{ou}", {"objectClass": ["organizationalUnit"]})
        members = []
        for index in range(USERS):
            dn = f"CN=p{index:04d},OU={'AB'[index % 2]},{ou}"
            directory.add(dn, {"objectClass": ["user"], "sAMAccountName": f"{top}-{index:04d}"})
            members.append(dn)
        group = f"CN=big,{ou}"
        directory.add(group, {"objectClass": ["group"], "sAMAccountName": f"{top}-big"})
        directory.modify(group, {"member": ("add", members)})
    return ou


def _queries(ou: str) -> list[Query]:
    return [
        Query(ou, "(objectClass=user)", ("sAMAccountName", "objectGUID", "memberOf")),
        Query(ou, "(objectClass=group)", ("sAMAccountName", "member")),  # 1,600 values
        Query(ou, "(objectClass=organizationalUnit)", ("ou", "nTSecurityDescriptor"), "sub", 0x04),
        Query(f"OU=A,{ou}", "(objectClass=user)", ("sAMAccountName",), "one", extended_dn=True),
        Query(ou, "(sAMAccountName=*)", (), "sub"),  # no attributes: DNs only
        Query(f"OU=gone,{ou}", "(objectClass=*)", ("name",)),  # no such object: nothing
        Query(ou, "(objectClass=user)", ("name",), size_limit=5),  # with a size limit
        Query(ou, "(objectClass=*)", ("name",), "base"),
        Query(f"OU=B,{ou}", "(objectClass=user)", ("sAMAccountName", "whenCreated"), "one"),
    ]


def test_a_batch_read_is_exactly_the_sequential_read(
    directory: Directory, tree: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ldapmod, "PAGE_SIZE", PAGE)
    queries = _queries(tree)
    sequential = {q: list(directory.search_wire(q)) for q in queries}
    before = directory.round_trips
    batch = directory.search_many_wire(queries)
    assert list(batch) == queries
    for query in queries:
        assert batch[query] == sequential[query], query
    assert len(sequential[queries[0]]) == USERS and len(sequential[queries[4]]) == USERS + 1
    assert len(sequential[queries[3]]) == USERS // 2 > PAGE  # several pages, one level
    (group,) = sequential[queries[1]]
    assert len(group.raw("member")) == USERS
    assert sequential[queries[5]] == []  # (Samba pages past a size limit: both do)
    assert directory.round_trips - before >= 3 * (USERS // PAGE)  # pages, not one request
    assert directory.alive()


def test_the_pipeline_reads_plain_queries_itself(
    directory: Directory, tree: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing of a plain batch is left to the sequential read (Samba 4.17 returned the
    1,600 members of the group unranged); a missing base is simply empty."""
    monkeypatch.setattr(ldapmod, "PAGE_SIZE", PAGE)
    queries = _queries(tree)
    batch = ldap_pipeline.Pipeline(directory._conn, ldapmod._controls, PAGE).run(queries)
    assert batch.redo == []
    assert batch.results[queries[5]] == []
    assert batch.pages >= 3 * (USERS // PAGE)


@pytest.mark.parametrize("bad", ["(objectClass=user", "not a DN"])
def test_a_failing_query_fails_the_batch_as_it_fails_alone(
    directory: Directory, tree: str, monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setattr(ldapmod, "PAGE_SIZE", PAGE)
    broken = (
        Query(tree, bad, ("name",)) if bad.startswith("(") else Query(bad, "(objectClass=*)", ())
    )
    queries = [*_queries(tree)[:2], broken, *_queries(tree)[2:4]]
    with pytest.raises(DirectoryError) as alone:
        list(directory.search_wire(broken))
    with pytest.raises(DirectoryError) as batched:
        directory.search_many_wire(queries)
    assert str(batched.value) == str(alone.value)
    # nothing of the failed batch is left on the connection: the next batch is whole
    again = directory.search_many_wire(_queries(tree))
    assert again == {q: list(directory.search_wire(q)) for q in _queries(tree)}


def test_entries_keep_their_order_and_their_names_lower_cased(
    directory: Directory, tree: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ldapmod, "PAGE_SIZE", PAGE)
    query = Query(tree, "(objectClass=user)", ("sAMAccountName",))
    (found,) = directory.search_many_wire([query]).values()
    assert [e.dn for e in found] == [e.dn for e in directory.search_wire(query)]
    assert all(isinstance(e, Entry) and set(e.attributes) == {"samaccountname"} for e in found)
