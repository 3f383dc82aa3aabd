"""The health check's wire codecs as data: a DNS SRV question and answers (compressed
names, truncation, answers to another question, loops), a Kerberos AS-REQ and KRB-ERROR
replies. The live DC reads both (tests/integration/test_health.py)."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest

from adsuite.formats import dns_srv, krb_probe
from adsuite.formats.dns_srv import DnsError, SrvRecord
from adsuite.formats.krb_probe import KerberosReplyError

NAME = "_ldap._tcp.dc._msdcs.group.example.com"


def answer(query_id: int, targets: list[str], *, flags: int = 0x8180) -> bytes:
    """A reply as a DNS server writes one: the question, then SRV records whose owner
    name points back at the question (offset 12) and whose targets are spelled out."""
    question = dns_srv.srv_query(NAME, query_id)[12:]
    body = b""
    for target in targets:
        name = b"".join(bytes([len(p)]) + p.encode() for p in target.split(".")) + b"\0"
        rdata = struct.pack("!HHH", 0, 100, 389) + name
        body += b"\xc0\x0c" + struct.pack("!HHIH", 33, 1, 600, len(rdata)) + rdata
    header = struct.pack("!HHHHHH", query_id, flags, 1, len(targets), 0, 0)
    return header + question + body


def test_a_srv_question_asks_for_srv_records_of_the_name() -> None:
    query = dns_srv.srv_query(NAME, 0x1234)
    assert query[:2] == b"\x12\x34" and query[2:4] == b"\x01\x00"  # id, recursion desired
    assert b"\x05_ldap\x04_tcp\x02dc\x06_msdcs\x05group\x07example\x03com\x00" in query
    assert query.endswith(b"\x00\x21\x00\x01")  # SRV, IN


def test_srv_records_of_an_answer_are_read_with_lower_case_targets() -> None:
    reply = answer(7, ["DC1.group.example.com", "dc2.group.example.com"])
    parsed = dns_srv.parse_srv(reply, 7)
    assert parsed.rcode == 0 and not parsed.truncated
    assert parsed.records == (
        SrvRecord(0, 100, 389, "dc1.group.example.com"),
        SrvRecord(0, 100, 389, "dc2.group.example.com"),
    )


def test_a_truncated_answer_says_so_for_a_retry_over_tcp() -> None:
    assert dns_srv.parse_srv(answer(7, [], flags=0x8380), 7).truncated


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (answer(8, ["dc1.group.example.com"]), "does not answer the query sent"),
        (answer(7, [], flags=0x0100), "does not answer the query sent"),  # a question
        (answer(7, ["dc1.group.example.com"])[:-5], "runs past"),
        (b"\x00\x07", "shorter than its header"),
    ],
)
def test_an_answer_to_another_question_or_cut_short_is_refused(reply: bytes, words: str) -> None:
    with pytest.raises(DnsError, match=words):
        dns_srv.parse_srv(reply, 7)


def test_a_name_compression_loop_is_refused_not_followed_forever() -> None:
    header = struct.pack("!HHHHHH", 7, 0x8180, 1, 0, 0, 0)
    with pytest.raises(DnsError, match="loops"):
        dns_srv.parse_srv(header + b"\xc0\x0c", 7)


def tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag, len(body)]) + body


def krb_error(code: int, realm: str = "GROUP.EXAMPLE.COM") -> bytes:
    fields = [
        tlv(0xA0, tlv(0x02, b"\x05")),
        tlv(0xA1, tlv(0x02, b"\x1e")),
        tlv(0xA4, tlv(0x18, b"20261206184048Z")),
        tlv(0xA5, tlv(0x02, b"\x00")),
        tlv(0xA6, tlv(0x02, bytes([code]))),
        tlv(0xA9, tlv(0x1B, realm.encode())),
    ]
    return tlv(0x7E, tlv(0x30, b"".join(fields)))


def test_a_krb_error_gives_its_code_realm_and_the_kdcs_clock() -> None:
    reply = krb_probe.parse_reply(krb_error(25))
    assert (reply.kind, reply.error_code, reply.realm) == ("error", 25, "GROUP.EXAMPLE.COM")
    assert reply.server_time == datetime(2026, 12, 6, 18, 40, 48, tzinfo=UTC)
    assert reply.words == "KDC_ERR_PREAUTH_REQUIRED"


@pytest.mark.parametrize(
    "data", [b"", b"\x30\x00", krb_error(25)[:-4], b"\x7e\x84\xff\xff\xff\xff"]
)
def test_what_is_not_a_kerberos_reply_is_refused(data: bytes) -> None:
    with pytest.raises(KerberosReplyError):
        krb_probe.parse_reply(data)


def test_the_as_req_names_the_client_the_realm_and_krbtgt_with_no_preauth() -> None:
    request = krb_probe.as_req("Administrator", "group.example.com", 12345)
    tag, body, end = krb_probe._read_tlv(request, 0)
    assert (tag, end) == (0x6A, len(request))  # [APPLICATION 10] AS-REQ, nothing after it
    _, sequence, _ = krb_probe._read_tlv(body, 0)
    fields = krb_probe._fields(sequence)
    assert sorted(fields) == [1, 2, 4], "pvno, msg-type, req-body; no padata: no secret"
    assert (fields[1], fields[2]) == (b"\x05", b"\x0a")
    assert b"\x1b\x0dAdministrator" in fields[4]
    assert b"\x1b\x06krbtgt\x1b\x11GROUP.EXAMPLE.COM" in fields[4]
