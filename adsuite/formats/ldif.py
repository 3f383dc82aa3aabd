"""LDIF as ``ldbsearch`` prints it (RFC 2849, content records only), parsed into entries.

Pure. A record starts with ``dn:`` and ends at a blank line; a line that starts with one
space continues the one before; ``attr:: value`` is base64; lines starting with ``#``
and ``ref:`` records (referrals) are skipped. Values are kept as bytes, as
:class:`adsuite.formats.ldap_query.Entry` keeps what a DC returns.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterator

from adsuite.errors import RecoveryError
from adsuite.formats.ldap_query import Entry

log = logging.getLogger(__name__)


def parse(text: str) -> list[Entry]:
    """The entries in *text*, attribute names lowercased, values in file order."""
    entries = []
    for record in _records(text):
        dn = ""
        attributes: dict[str, list[bytes]] = {}
        for name, value in record:
            if name == "dn":
                dn = value.decode("utf-8")
            else:
                attributes.setdefault(name, []).append(value)
        if dn:
            entries.append(Entry(dn, {k: tuple(v) for k, v in attributes.items()}))
    return entries


def _records(text: str) -> Iterator[list[tuple[str, bytes]]]:
    record: list[tuple[str, bytes]] = []
    for line in _unfolded(text):
        if not line:
            if record:
                yield record
            record = []
        elif not line.startswith("#"):
            pair = _pair(line)
            if pair[0] == "ref":
                continue
            record.append(pair)
    if record:
        yield record


def _unfolded(text: str) -> Iterator[str]:
    current: str | None = None
    for line in text.splitlines():
        if line.startswith(" ") and current is not None:
            current += line[1:]
            continue
        if current is not None:
            yield current
        current = line
    if current is not None:
        yield current


def _pair(line: str) -> tuple[str, bytes]:
    name, sep, rest = line.partition(":")
    if not sep:
        raise RecoveryError("ldbsearch printed a line that is not LDIF")
    if rest.startswith(":"):
        try:
            return name.lower(), base64.b64decode(rest[1:].strip(), validate=True)
        except (binascii.Error, ValueError):
            raise RecoveryError(f"ldbsearch printed bad base64 for {name}") from None
    return name.lower(), rest.removeprefix(" ").encode("utf-8")
