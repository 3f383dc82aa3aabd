"""The pipeline's bookkeeping: which reply belongs to which search, and which pages it
leaves to the sequential read. Messages are BER-encoded with ldap3's RFC 4511 ASN.1
definitions; the connection is a real ldap3 one, never opened (these cases send nothing).
The reads themselves are proved against the lab DC (tests/integration/test_ldap_pipeline_lab.py).
"""

from __future__ import annotations

from collections import deque

import ldap3
import pytest
from ldap3.protocol.rfc4511 import LDAPDN, LDAPMessage, MessageID, ProtocolOp, SearchResultDone
from pyasn1.codec.ber import encoder
from test_ldap_wire import _entry_message

from adsuite.connectors import ldap_wire
from adsuite.connectors.ldap_pipeline import Pipeline, _Search
from adsuite.formats.ldap_query import Entry, Query

QUERY = Query("OU=T,DC=x", "(objectClass=user)", ("member",))


def _done(message_id: int, code: int) -> bytes:
    done = SearchResultDone()
    done["resultCode"] = code
    done["matchedDN"] = LDAPDN("")
    done["diagnosticMessage"] = ""
    message = LDAPMessage()
    message["messageID"] = MessageID(message_id)
    message["protocolOp"] = ProtocolOp().setComponentByName("searchResDone", done)
    return bytes(encoder.encode(message))


def _pipeline() -> Pipeline:
    conn = ldap3.Connection(ldap3.Server("dc.invalid"))
    ldap_wire.install(conn)
    return Pipeline(conn, lambda query: [], 1000)


def test_a_reply_is_known_by_its_message_id_and_kind() -> None:
    assert ldap_wire.message_head(_entry_message(7, "CN=a", {"cn": [b"a"]})) == (7, 0x64)
    assert ldap_wire.message_head(_done(300, 0)) == (300, 0x65)


def test_entries_are_kept_in_order_with_names_lower_cased() -> None:
    pipeline, search = _pipeline(), _Search(QUERY, [])
    for index in range(3):
        message = _entry_message(5, f"CN=u{index}", {"sAMAccountName": [b"u%d" % index]})
        pipeline._take(search, message, 0x64)
    assert search.entries == [
        Entry(f"CN=u{i}", {"samaccountname": (b"u%d" % i,)}) for i in range(3)
    ]
    assert not search.redo


def test_ranged_values_leave_the_search_to_the_sequential_read() -> None:
    pipeline, search = _pipeline(), _Search(QUERY, [])
    pipeline._take(search, _entry_message(5, "CN=g", {"member;range=0-1499": [b"CN=a"]}), 0x64)
    assert search.redo and search.entries == []


@pytest.mark.parametrize(
    ("code", "found", "redo"),
    [
        (0, False, False),  # the last page
        (4, True, False),  # size limit exceeded: what came is the answer
        (32, False, False),  # no such object: nothing
        (32, True, True),  # ... after entries: search_wire decides
        (10, False, True),  # a referral
        (50, False, True),  # insufficient access: search_wire raises it
    ],
)
def test_a_pages_end_decides_whether_the_search_is_done(code: int, found: bool, redo: bool) -> None:
    pipeline, search = _pipeline(), _Search(QUERY, [])
    search.page_found = found
    pipeline._by_id[12] = search
    pipeline._ended(12, search, _done(12, code), deque())
    assert search.redo is redo and 12 not in pipeline._by_id


def test_a_reply_to_no_request_of_the_batch_is_an_error() -> None:
    pipeline = _pipeline()
    pipeline._by_id[3] = _Search(QUERY, [])
    with pytest.raises(ldap3.core.exceptions.LDAPSocketReceiveError):
        pipeline._search_of(4)
    with pytest.raises(ldap3.core.exceptions.LDAPSessionTerminatedByServerError):
        pipeline._search_of(0)  # an unsolicited notice of disconnection


def test_the_head_of_a_reply_that_is_no_ldap_message_is_refused() -> None:
    with pytest.raises(ValueError):
        ldap_wire.message_head(b"\x04\x01x")  # an OCTET STRING, not an LDAPMessage
