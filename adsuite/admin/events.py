"""Logon events of super-administrator accounts, one shape whatever DC logged them.

Samba DCs write their JSON audit log (``auth_audit.log``): every LDAP simple bind,
Kerberos AS request and NTLM logon is an ``Authentication`` line with event id 4624
(success) or 4625 (failure). Checked on the lab's Samba 4.17: a simple bind over LDAPS
is 4624 "LDAP simple bind/TLS", NT_STATUS_OK; with a wrong password 4625,
NT_STATUS_WRONG_PASSWORD (``mappedAccount`` names the account, ``becameSid`` is null);
``kinit`` is 4624/4625 "Kerberos KDC"; a service ticket (TGS) is not logged, and
neither 4648, 4672 nor 4768/4769 are ever written.
Windows DCs are read with ``get_logon_events.ps1``: 4624, 4625, 4648, 4672, 4768 and
4769 from the Security log. Both become a :class:`LogonEvent` here; pure functions.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adsuite.formats import dn as dnlib
from adsuite.formats.samba_audit import Logon

log = logging.getLogger(__name__)

EVENT_IDS = (4624, 4625, 4648, 4672, 4768, 4769)
FAILED_ALWAYS = {4625}
KERBEROS = {4768: "Kerberos TGT", 4769: "Kerberos service ticket"}


@dataclass(frozen=True)
class LogonEvent:
    dc: str
    record: str  # the Windows EventRecordID, or a digest of the Samba line's fields
    at: datetime
    event_id: int
    account: str  # sAMAccountName, lower case
    sid: str | None
    remote: str | None
    service: str | None
    ok: bool
    status: str | None
    source: str  # samba | windows

    def row(self) -> dict[str, Any]:
        """As stored and shown (JSON-ready)."""
        return {
            "dc": self.dc,
            "record": self.record,
            "at": self.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "event_id": self.event_id,
            "account": self.account,
            "sid": self.sid,
            "remote": self.remote,
            "service": self.service,
            "ok": self.ok,
            "status": self.status,
            "source": self.source,
        }


@dataclass(frozen=True)
class Watched:
    """The accounts whose logons are collected: by lower-case name, SID and DN."""

    names: frozenset[str]
    sids: Mapping[str, str]  # SID → lower name
    dns: Mapping[str, str]  # DN key → lower name
    realm: str

    def match(self, account: str | None, sid: str | None = None) -> str | None:
        """The watched account a logon names (any of its spellings), or None."""
        if sid and sid in self.sids:
            return self.sids[sid]
        name = plain_name(account or "", self.realm)
        if dnlib.looks_like_dn(account or ""):
            return self.dns.get(dnlib.key(account or ""))
        return name if name in self.names else None

    def spellings(self) -> list[str]:
        """Every form a Windows event may name an account by (4769: name@REALM)."""
        return sorted({*self.names, *(f"{n}@{self.realm}" for n in self.names)})


def plain_name(text: str, realm: str) -> str:
    """``GROUP\\admin``, ``admin@GROUP.EXAMPLE.COM`` or ``admin`` → ``admin``."""
    name = text.rsplit("\\", 1)[-1]
    user, _, domain = name.partition("@")
    if domain and domain.lower() != realm.lower():
        return name.lower()  # another realm's account is not ours
    return user.lower()


def from_samba(dc: str, logon: Logon, watched: Watched) -> LogonEvent | None:
    account = watched.match(logon.mapped_account, logon.sid) or watched.match(logon.account)
    if account is None:
        return None
    ok = logon.event_id != 4625 and logon.status == "NT_STATUS_OK"
    service = " ".join(p for p in (logon.service, logon.auth) if p) or None
    fields = [dc, logon.time.isoformat(), str(logon.event_id), logon.account]
    fields += [logon.remote or "", logon.status, service or ""]
    record = hashlib.sha256("\x1f".join(fields).encode("utf-8")).hexdigest()[:32]
    return LogonEvent(
        dc, record, logon.time, logon.event_id, account, logon.sid,
        logon.remote, service, ok, logon.status, "samba",
    )  # fmt: skip


def from_windows(dc: str, item: Mapping[str, Any], watched: Watched) -> LogonEvent | None:
    """One object of get_logon_events.ps1 (RecordId, EventId, TimeCreated, Data)."""
    data: Mapping[str, Any] = item.get("Data") or {}
    event_id = int(item.get("EventId") or 0)
    target_sid = data.get("TargetUserSid") or data.get("TargetSid")
    account = watched.match(data.get("TargetUserName"), target_sid)
    sid = target_sid
    if account is None or event_id == 4672:
        account = watched.match(data.get("SubjectUserName"), data.get("SubjectUserSid"))
        sid = data.get("SubjectUserSid")
    if account is None:
        return None
    status = data.get("Status") or data.get("FailureReason")
    if event_id in FAILED_ALWAYS:
        ok = False
    elif event_id in KERBEROS:
        ok = str(status or "0x0").lower() == "0x0"
    else:
        ok = True
    return LogonEvent(
        dc=dc,
        record=str(int(item["RecordId"])),
        at=datetime.fromisoformat(str(item["TimeCreated"]).replace("Z", "+00:00")),
        event_id=event_id,
        account=account,
        sid=str(sid) if sid and sid != "-" else None,
        remote=_address(data.get("IpAddress"), data.get("IpPort")),
        service=_service(event_id, data),
        ok=ok,
        status=str(status) if status else None,
        source="windows",
    )


def _address(value: Any, port: Any = None) -> str | None:
    """``IpAddress`` and, when the event has one, ``IpPort``: the client endpoint."""
    text = str(value or "").removeprefix("::ffff:")
    if text in ("", "-"):
        return None
    number = str(port or "")
    return f"{text}:{number}" if number.isdigit() and number != "0" else text


def _service(event_id: int, data: Mapping[str, Any]) -> str | None:
    if event_id in KERBEROS:
        name = data.get("ServiceName")
        return f"{KERBEROS[event_id]} {name}" if name else KERBEROS[event_id]
    package, kind = data.get("AuthenticationPackageName"), data.get("LogonType")
    parts = [str(package)] if package and package != "-" else []
    parts += [f"logon type {kind}"] if kind else []
    return ", ".join(parts) or None
