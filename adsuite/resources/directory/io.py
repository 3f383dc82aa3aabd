"""LDAP as a protocol of the pipeline: the reader of :class:`Query` (one paged search
each), the writer of :class:`LdapWrite` (add, modify, delete, move, and a
read-modify-write of a security descriptor) and the checker of :class:`Expect` (the
target still as the plan saw it). Passwords a write carries as :class:`SecretRef` are
resolved here, at write time, and never leave the UTF-16 ``unicodePwd`` value.
"""

from __future__ import annotations

import logging
import secrets
import string
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from adsuite.connectors.credentials import Secret
from adsuite.connectors.ldap import Directory
from adsuite.errors import ConflictError, DirectoryError
from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry, Query
from adsuite.resources.base import Expect, LdapWrite, SecretRef
from adsuite.runtime.connections import Connections
from adsuite.runtime.progress import Progress

log = logging.getLogger(__name__)

SecretLookup = Callable[[str], Secret]


def read_ldap(conn: Connections, queries: Sequence[Query], progress: Progress) -> dict[Any, Any]:
    progress.start("reading the directory", len(queries))
    out: dict[Any, Any] = dict(conn.ldap.search_many(queries))  # pipelined on the connection
    for query, entries in out.items():
        log.debug("%d entries under %s for %s", len(entries), query.base, query.filter[:80])
    progress.advance(len(queries))
    progress.finish()
    return out


def generate_password(length: int = 24) -> Secret:
    """A random password that meets AD complexity rules (all four character classes)."""
    classes = [string.ascii_uppercase, string.ascii_lowercase, string.digits, "!#%+-.:=?@_~"]
    chars = [secrets.choice(c) for c in classes]
    chars += [secrets.choice("".join(classes)) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return Secret("".join(chars))


def encode_password(secret: Secret) -> bytes:
    """``unicodePwd`` as AD wants it: the password in double quotes, UTF-16LE."""
    return ('"' + secret.reveal() + '"').encode("utf-16-le")


def check_expectation(conn: Connections, dn: str, expect: Expect) -> None:
    names = {*expect.raw, *expect.has_dns, *expect.lacks_dns, "objectGUID"}
    entry = conn.ldap.read(dn, sorted(names), sd_flags=expect.sd_flags)
    if expect.exists is False and entry is not None:
        raise ConflictError(f"{dn} was created by someone else since the plan")
    if entry is None:
        if expect.exists:
            raise ConflictError(f"{dn} no longer exists")
        return
    _check_values(dn, entry, expect)


def _check_values(dn: str, entry: Entry, expect: Expect) -> None:
    for name, values in expect.raw.items():
        if sorted(entry.raw(name)) != sorted(values):
            raise ConflictError(f"{dn}: {name} changed since the plan")
    for name, dns in expect.has_dns.items():
        present = {dnlib.key(v) for v in entry.texts(name)}
        if any(dnlib.key(v) not in present for v in dns):
            raise ConflictError(f"{dn}: {name} changed since the plan (a value is gone)")
    for name, dns in expect.lacks_dns.items():
        present = {dnlib.key(v) for v in entry.texts(name)}
        if any(dnlib.key(v) in present for v in dns):
            raise ConflictError(f"{dn}: {name} changed since the plan (a value was added)")


def execute(conn: Connections, write: LdapWrite) -> None:
    directory = conn.ldap
    if write.op == "add":
        directory.add(write.dn, _resolve_secrets(write.attributes, conn.secret))
    elif write.op == "modify":
        directory.modify(write.dn, write.changes, sd_flags=write.sd_flags)
    elif write.op == "delete":
        directory.delete(write.dn)
    elif write.op == "move":
        assert write.new_parent is not None
        directory.move(write.dn, write.new_parent)
    elif write.op == "sd_edit":
        _edit_security_descriptor(directory, write)
    else:
        raise ValueError(f"unknown write operation {write.op!r}")


def _edit_security_descriptor(directory: Directory, write: LdapWrite) -> None:
    assert write.sd_edit is not None
    entry = directory.read(write.dn, ["nTSecurityDescriptor"], sd_flags=write.sd_flags)
    raw = entry.raw("nTSecurityDescriptor") if entry else ()
    if not raw:
        raise DirectoryError(f"read {write.dn}: no security descriptor returned")
    edited = write.sd_edit(raw[0])
    if edited != raw[0]:
        directory.modify(
            write.dn, {"nTSecurityDescriptor": ("replace", [edited])}, sd_flags=write.sd_flags
        )


def _resolve_secrets(attributes: Mapping[str, Any], lookup: SecretLookup) -> dict[str, Any]:
    out = dict(attributes.items())  # a create's Recipe (resources/base.py) built once
    for name, value in tuple(out.items()):
        if isinstance(value, SecretRef):
            secret = generate_password() if value.generate else lookup(str(value.credential))
            out[name] = [encode_password(secret)]
    return out


READS = {Query: read_ldap}
WRITES = {LdapWrite: execute}
CHECKS = {Expect: check_expectation}
