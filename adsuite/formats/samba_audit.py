"""Samba's JSON audit log lines (``log level = ... dsdb_json_audit:5@FILE``), parsed.

Each line is one JSON object. Two kinds matter here:

- ``dsdbChange``: a directory write (operation, dn, attribute names, the writer's SID,
  its LDAP session id, client address) — what `adsuite audit changes` reconciles;
- ``Authentication``: a logon (event id 4624/4625, account, SID, client address,
  service) — what the super-administrator usage log collects.

Attribute values are never kept: they may hold passwords.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class DirectoryWrite:
    """One write to the directory, as a DC logged it (Samba's JSON log or a Windows event)."""

    time: datetime
    operation: str  # Add, Modify, Delete, Move
    dn: str
    user_sid: str | None
    session_id: str | None  # Samba: the LDAP session id; Windows: "DC/SubjectLogonId"
    remote: str | None  # the client: Samba "ipv4:a.b.c.d:port"; Windows "a.b.c.d:port"
    attributes: tuple[str, ...]
    ok: bool
    source: str = ""  # the DC (inventory name) that logged it
    user_name: str | None = None  # DOMAIN\name when the log says it (Windows)
    detail: str | None = None  # "+ member CN=...", "moved from OU=..."
    old_dn: str | None = None  # a move's former DN


@dataclass(frozen=True)
class Logon:
    time: datetime
    event_id: int
    account: str
    domain: str | None
    sid: str | None
    remote: str | None
    service: str | None
    auth: str | None
    status: str
    mapped_account: str | None = None  # the sAMAccountName Samba mapped the logon name to


def parse_time(text: str) -> datetime:
    """Samba writes ``2026-11-27T12:57:34.429528+0000``."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def _objects(lines: Iterable[str]) -> Iterator[dict[str, object]]:
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by rotation; the rest of the log still counts
        if isinstance(doc, dict):
            yield doc


def directory_writes(lines: Iterable[str], source: str = "") -> Iterator[DirectoryWrite]:
    for doc in _objects(lines):
        body = doc.get("dsdbChange")
        if doc.get("type") != "dsdbChange" or not isinstance(body, dict):
            continue
        attributes = body.get("attributes") or {}
        yield DirectoryWrite(
            time=parse_time(str(doc["timestamp"])),
            operation=str(body.get("operation")),
            dn=str(body.get("dn")),
            user_sid=body.get("userSid"),
            session_id=body.get("sessionId"),
            remote=body.get("remoteAddress"),
            attributes=tuple(sorted(attributes)) if isinstance(attributes, dict) else (),
            ok=body.get("statusCode") == 0,
            source=source,
        )


def logons(lines: Iterable[str]) -> Iterator[Logon]:
    for doc in _objects(lines):
        body = doc.get("Authentication")
        if doc.get("type") != "Authentication" or not isinstance(body, dict):
            continue
        yield Logon(
            time=parse_time(str(doc["timestamp"])),
            event_id=int(body.get("eventId") or 0),
            account=str(body.get("clientAccount") or ""),
            domain=body.get("clientDomain"),
            sid=body.get("becameSid") or body.get("mappedSid"),
            remote=body.get("remoteAddress"),
            service=body.get("serviceDescription"),
            auth=body.get("authDescription"),
            status=str(body.get("status")),
            mapped_account=body.get("mappedAccount"),
        )
