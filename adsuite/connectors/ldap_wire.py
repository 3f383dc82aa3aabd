"""Search result entries straight from the wire, as raw bytes.

ldap3 decodes every LDAPMessage with a generic BER walker and then turns each value of
a search entry into text (four configuration lookups per value), although adsuite keeps
only the raw bytes. On a 10,000-user read that was about a quarter of the run
(BENCHMARKS.md). This module reads a ``searchResEntry`` (RFC 4511 §4.5.2) itself:

    LDAPMessage ::= SEQUENCE { messageID INTEGER,
        protocolOp [APPLICATION 4] SEQUENCE { objectName LDAPDN,
            attributes SEQUENCE OF SEQUENCE { type AttributeDescription,
                                               vals SET OF AttributeValue } }, ... }

and :class:`RawEntryStrategy` hands ldap3 every other message (results, referrals,
controls, notices of disconnection) to decode as it always did. Entries come out in
the shape ldap3's own search results have (``dn``, ``raw_attributes``), so paging,
``auto_range`` and the rest of ldap3 work unchanged; attribute names are lower-cased.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from ldap3 import DIGEST_MD5
from ldap3.core.exceptions import (
    LDAPExceptionError,
    LDAPSocketReceiveError,
    communication_exception_factory,
)
from ldap3.strategy.sync import SyncStrategy
from ldap3.utils.conv import to_unicode

log = logging.getLogger(__name__)

_SEQUENCE, _SET, _INTEGER, _OCTET_STRING, _SEARCH_ENTRY = 0x30, 0x31, 0x02, 0x04, 0x64
SOCKET_READ = 65536  # ldap3 reads 4 KB at a time; a page of entries is megabytes


def _length(message: bytes, at: int) -> tuple[int, int]:
    """(length, offset of the value) for the BER length octets at *at* (definite form)."""
    first = message[at]
    if first < 0x80:
        return first, at + 1
    count = first & 0x7F
    return int.from_bytes(message[at + 1 : at + 1 + count], "big"), at + 1 + count


def _expect(message: bytes, at: int, tag: int) -> tuple[int, int]:
    if message[at] != tag:
        raise ValueError(f"tag {message[at]:#04x} at {at}, expected {tag:#04x}")
    return _length(message, at + 1)


def search_entry(message: bytes) -> tuple[int, dict[str, Any]] | None:
    """(message id, entry) if *message* is a searchResEntry, else None.

    The entry is ``{"type", "dn", "raw_dn", "raw_attributes", "attributes"}``:
    ``raw_attributes`` maps lower-cased names to lists of bytes; ``attributes`` holds
    only ranged values (``member;range=0-1499``), which ldap3's auto_range merges.
    A message that does not parse as an entry is left to ldap3 (None).
    """
    try:
        _, at = _expect(message, 0, _SEQUENCE)
        size, at = _expect(message, at, _INTEGER)
        message_id = int.from_bytes(message[at : at + size], "big", signed=True)
        if message[at + size] != _SEARCH_ENTRY:
            return None
        _, at = _length(message, at + size + 1)
        size, at = _expect(message, at, _OCTET_STRING)
        raw_dn = message[at : at + size]
        size, at = _expect(message, at + size, _SEQUENCE)
        raw = _attributes(message, at, at + size)
    except (IndexError, ValueError) as error:
        log.debug("entry left to ldap3's decoder: %s", error)
        return None
    ranged = {name: list(values) for name, values in raw.items() if ";range=" in name}
    entry = {
        "type": "searchResEntry",
        "dn": _text(raw_dn),
        "raw_dn": raw_dn,
        "raw_attributes": raw,
        "attributes": ranged,
    }
    return message_id, entry


def message_head(message: bytes) -> tuple[int, int]:
    """(message id, protocolOp tag) of a whole LDAPMessage: whose reply, and of what kind."""
    _, at = _expect(message, 0, _SEQUENCE)
    size, at = _expect(message, at, _INTEGER)
    return int.from_bytes(message[at : at + size], "big", signed=True), message[at + size]


def _attributes(message: bytes, at: int, end: int) -> dict[str, list[bytes]]:
    # the hot loop of a bulk read: tags checked and short-form lengths read inline (a
    # call per header cost a third of the decoding), the long form by _length
    out: dict[str, list[bytes]] = {}
    while at < end:
        if message[at] != _SEQUENCE:
            raise ValueError(f"tag {message[at]:#04x} at {at}, expected an attribute")
        size = message[at + 1]  # unused: the value set's own length bounds the attribute
        at += 2 if size < 0x80 else 2 + (size & 0x7F)
        if message[at] != _OCTET_STRING:
            raise ValueError(f"tag {message[at]:#04x} at {at}, expected a type")
        size = message[at + 1]
        at += 2
        if size >= 0x80:
            size, at = _length(message, at - 1)
        name = message[at : at + size].decode("ascii").lower()
        at += size
        if message[at] != _SET:
            raise ValueError(f"tag {message[at]:#04x} at {at}, expected a value set")
        size = message[at + 1]
        at += 2
        if size >= 0x80:
            size, at = _length(message, at - 1)
        stop, values = at + size, []
        while at < stop:
            if message[at] != _OCTET_STRING:
                raise ValueError(f"tag {message[at]:#04x} at {at}, expected a value")
            size = message[at + 1]
            at += 2
            if size >= 0x80:
                count = size & 0x7F
                size = int.from_bytes(message[at : at + count], "big")
                at += count
            values.append(message[at : at + size])
            at += size
        if at != stop:
            raise ValueError("a value runs past its attribute")
        out[name] = values
    if at != end:
        raise ValueError("an attribute runs past the entry")
    return out


def split_messages(buffer: bytes) -> tuple[list[bytes], bytes]:
    """(the whole LDAPMessages at the start of *buffer*, the bytes after them).

    ldap3's loop copied the rest of its buffer once per message it took off the front
    (a 64 KB read holds about a hundred entries); this walks an offset instead.
    """
    messages, at, end = [], 0, len(buffer)
    while end - at > 2:
        first = buffer[at + 1]
        if first < 0x80:
            size = 2 + first
        else:
            count = first & 0x7F
            if end - at < 2 + count:
                break
            size = 2 + count + int.from_bytes(buffer[at + 2 : at + 2 + count], "big")
        if end - at < size:
            break
        messages.append(buffer[at : at + size])
        at += size
    return messages, buffer[at:] if at else buffer


def _text(raw_dn: bytes) -> str:
    try:
        return raw_dn.decode("utf-8")
    except UnicodeDecodeError:  # ldap3 knows the fallbacks some AD DNs need
        return str(to_unicode(raw_dn, from_server=True))


class RawEntryStrategy(SyncStrategy):  # type: ignore[misc]
    """ldap3's synchronous strategy, with search entries decoded by :func:`search_entry`.

    ``receiving`` takes the entries out of what arrives and keeps them aside;
    ldap3 decodes the rest (the search result done, referrals, other operations'
    replies) and ``_get_response`` puts the entries back in front of them.
    """

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        self.socket_size = SOCKET_READ
        self._entries: list[dict[str, Any]] = []
        self._message_id: int | None = None

    def _get_response(self, message_id: int, timeout: Any) -> Any:
        self._entries, self._message_id = [], message_id
        try:
            responses = super()._get_response(message_id, timeout)
        finally:
            entries, self._entries, self._message_id = self._entries, [], None
        if isinstance(responses, list):
            responses[:0] = entries
        return responses

    def receiving(self) -> list[bytes]:
        """The messages ldap3 must decode; entries are kept aside. An empty list only
        when the connection closed, as ldap3's own ``receiving`` does."""
        while True:
            messages = self._messages()
            rest = []
            for message in messages:
                found = search_entry(message) if self._message_id is not None else None
                if found is None:
                    rest.append(message)
                elif found[0] != self._message_id:
                    raise LDAPSocketReceiveError("invalid messageId received")
                else:
                    self._entries.append(found[1])
            if rest or not messages:
                return rest

    def messages(self) -> list[bytes]:
        """The whole messages that have arrived, undecoded (connectors/ldap_pipeline.py
        reads the replies of several requests itself)."""
        return self._messages()

    def _messages(self) -> list[bytes]:
        """ldap3's ``receiving``: read until the data ends on a message boundary (or the
        connection closes) and return the whole messages, split by offset."""
        if self.connection.sasl_mechanism == DIGEST_MD5:  # ldap3 checks its signatures
            received: list[bytes] = super().receiving()
            return received
        messages: list[bytes] = []
        pending = b""
        while True:
            data = self._recv()
            if not data:
                return messages
            found, pending = split_messages(pending + data if pending else data)
            messages += found
            if not pending:
                return messages

    def _recv(self) -> bytes:
        try:
            data: bytes = self.connection.socket.recv(self.socket_size)
        except (OSError, AttributeError) as error:  # as ldap3's own receiving says it
            self.connection.last_error = f"error receiving data: {error}"
            with contextlib.suppress(OSError, LDAPExceptionError):
                self.close()
            raise communication_exception_factory(LDAPSocketReceiveError, type(error)(str(error)))(
                self.connection.last_error
            ) from None
        return data


def install(connection: Any) -> None:
    """Give a not-yet-opened ldap3 Connection the raw-entry strategy.

    ldap3 binds the strategy's methods onto the connection when it is created, so they
    are bound again here.
    """
    strategy = RawEntryStrategy(connection)
    connection.strategy = strategy
    connection.send = strategy.send
    connection.open = strategy.open
    connection.get_response = strategy.get_response
    connection.post_send_single_response = strategy.post_send_single_response
    connection.post_send_search = strategy.post_send_search
