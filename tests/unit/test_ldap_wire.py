"""adsuite's searchResEntry decoder gives the raw bytes ldap3's own decoder gives.

Messages are BER-encoded with ldap3's RFC 4511 ASN.1 definitions (pyasn1's encoder),
then decoded both ways: ldap3's generic decoder is the oracle.
"""

from __future__ import annotations

from ldap3.operation.search import search_result_entry_response_to_dict_fast
from ldap3.protocol.rfc4511 import (
    LDAPDN,
    AttributeDescription,
    AttributeValue,
    LDAPMessage,
    MessageID,
    PartialAttribute,
    PartialAttributeList,
    ProtocolOp,
    SearchResultDone,
    SearchResultEntry,
    Vals,
)
from ldap3.strategy.base import BaseStrategy
from ldap3.utils.asn1 import decode_message_fast
from pyasn1.codec.ber import encoder

from adsuite.connectors.ldap_wire import search_entry, split_messages

BIG = bytes(range(256)) * 300  # 76,800 bytes: a three-octet BER length
SD = b"\x01\x00\x04\x8c" + bytes(200)  # a binary value over 127 bytes: two-octet length
ATTRIBUTES: dict[str, list[bytes]] = {
    "sAMAccountName": ["jörg.müller".encode()],
    "objectGUID": [bytes(range(16))],
    "nTSecurityDescriptor": [SD],
    "member": [f"CN=u{i},OU=Bench,DC=group,DC=example,DC=com".encode() for i in range(40)],
    "thumbnailPhoto": [BIG],
    "description": [b""],
    "member;range=0-1499": [b"CN=a,DC=x", b"CN=b,DC=x"],
}
DN = "CN=Jörg Müller\\, HQ,OU=Bench,DC=group,DC=example,DC=com"


def _entry_message(message_id: int, dn: str, attributes: dict[str, list[bytes]]) -> bytes:
    entry = SearchResultEntry()
    entry["object"] = LDAPDN(dn)
    partials = PartialAttributeList()
    for index, (name, values) in enumerate(attributes.items()):
        partial = PartialAttribute()
        partial["type"] = AttributeDescription(name)
        vals = Vals()
        for position, value in enumerate(values):
            vals.setComponentByPosition(position, AttributeValue(value))
        partial["vals"] = vals
        partials.setComponentByPosition(index, partial)
    entry["attributes"] = partials
    message = LDAPMessage()
    message["messageID"] = MessageID(message_id)
    message["protocolOp"] = ProtocolOp().setComponentByName("searchResEntry", entry)
    return bytes(encoder.encode(message))


def _ldap3_says(message: bytes) -> dict[str, list[bytes]]:
    decoded = decode_message_fast(message)
    entry = search_result_entry_response_to_dict_fast(decoded["payload"], None, None, False)
    return {name.lower(): values for name, values in entry["raw_attributes"].items()}


def test_an_entry_decodes_to_the_bytes_ldap3_decodes() -> None:
    message = _entry_message(7, DN, ATTRIBUTES)
    found = search_entry(message)
    assert found is not None
    message_id, entry = found
    assert message_id == 7
    assert entry["dn"] == DN
    assert entry["raw_attributes"] == _ldap3_says(message)
    assert entry["raw_attributes"]["thumbnailphoto"] == [BIG]


def test_only_ranged_values_are_kept_for_ldap3s_auto_range() -> None:
    _, entry = search_entry(_entry_message(3, DN, ATTRIBUTES)) or (0, {})
    assert entry["attributes"] == {"member;range=0-1499": [b"CN=a,DC=x", b"CN=b,DC=x"]}
    assert (
        entry["attributes"]["member;range=0-1499"]
        is not entry["raw_attributes"]["member;range=0-1499"]
    )  # ldap3 extends both lists: sharing one would double the values


def test_an_entry_without_attributes_and_a_large_message_id() -> None:
    found = search_entry(_entry_message(2**31 - 1, "DC=group,DC=example,DC=com", {}))
    assert found is not None
    assert found[0] == 2**31 - 1
    assert found[1]["raw_attributes"] == {}


def test_other_messages_are_left_to_ldap3() -> None:
    done = SearchResultDone()
    done["resultCode"] = 0
    done["matchedDN"] = LDAPDN("")
    done["diagnosticMessage"] = ""
    message = LDAPMessage()
    message["messageID"] = MessageID(9)
    message["protocolOp"] = ProtocolOp().setComponentByName("searchResDone", done)
    assert search_entry(bytes(encoder.encode(message))) is None


def test_a_truncated_entry_is_left_to_ldap3_not_misread() -> None:
    message = _entry_message(5, DN, ATTRIBUTES)
    assert search_entry(message[: len(message) // 2]) is None


def test_an_entry_with_a_wrong_tag_inside_is_left_to_ldap3() -> None:
    message = _entry_message(5, DN, {"description": [b"x"], "sn": [b"y"]})
    at = message.index(b"description") + len("description")
    assert message[at] == 0x31  # the value set
    for tag in (0x04, 0x30):
        assert search_entry(message[:at] + bytes([tag]) + message[at + 1 :]) is None
    first = message.index(b"\x30", message.index(DN.encode()) + len(DN.encode()) + 2)
    assert search_entry(message[:first] + b"\x31" + message[first + 1 :]) is None


def _ldap3_splits(stream: bytes) -> list[bytes]:
    """ldap3's own rule (compute_ldap_message_size), message by message."""
    out = []
    while (size := BaseStrategy.compute_ldap_message_size(stream)) != -1 and len(stream) >= size:
        out.append(stream[:size])
        stream = stream[size:]
    return out


def test_a_stream_read_in_any_chunks_splits_into_the_messages_ldap3_finds() -> None:
    sizes = [{}, {"sn": [b"x"]}, ATTRIBUTES, {"description": [b"y" * 200]}]
    messages = [_entry_message(i, DN, sizes[i % 4]) for i in range(1, 13)]
    stream = b"".join(messages)
    assert _ldap3_splits(stream) == messages
    for chunk in (1, 2, 3, 7, 100, 4096, len(stream)):
        found, pending = [], b""
        for at in range(0, len(stream), chunk):
            whole, pending = split_messages(pending + stream[at : at + chunk])
            found += whole
        assert found == messages and pending == b""


def test_a_partial_message_is_kept_for_the_next_read() -> None:
    message = _entry_message(4, DN, ATTRIBUTES)  # a three-octet length
    for cut in (1, 2, 3, 4, 5, len(message) - 1):
        assert split_messages(message[:cut]) == ([], message[:cut])
    assert split_messages(message + message[:3]) == ([message], message[:3])
