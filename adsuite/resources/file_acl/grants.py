"""ACEs granted by approved permission_change tickets: part of a folder's desired state.

``playbooks/fileserver_audit.yml`` declares each folder's complete explicit DACL, so an
ACE a ticket added would otherwise be drift that the next apply removes. A grant is
in force from the ticket's successful run until a later permission_change ticket
revokes the same ACE, or the day after its ``expires`` date (UTC) begins; a later
grant of the same ACE replaces it (a renewal, or a new expiry). Nothing else
ends it: taking access away is a permission change too and needs the data owner's
approval, so `adsuite rollback` refuses the ticket's run and says to file a ticket
(``engine/rollback.TICKET_RUNS``). The file_acl kind asks for
:class:`GrantsRead`; the engine's reader (``adsuite/resources/file_acl/grants_io.py``) folds
the journal with :func:`fold` and names each grant's principal by SID, so planning
stays pure.

This module also holds what a ticket's own ``file_acl`` task plans: the folder's
explicit ACEs as they are, with the ticket's one ACE added or removed
(:func:`ticket_access`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

from adsuite.formats.security_descriptor import Ace, AceType
from adsuite.resources.file_acl import principals
from adsuite.resources.file_acl.spec import AccessRule, access_shape, local_path, normal_path
from adsuite.resources.file_acl.words import ace_key

log = logging.getLogger(__name__)

TICKET_TYPE = "permission_change"  # the ticket type whose runs record grants
RECORD_KEY = "permission_change"  # the key of the ticket's record in its run's extra
RuleKey = tuple[int, int, int, str]  # ACE type, flags, mask, principal (SID or lower name)


@dataclass(frozen=True)
class GrantsRead:
    """The ticket grants in force (and expired) on one folder."""

    host: str
    share: str | None  # None: a local path of the host
    path: str
    base_dn: str  # where the grants' principals are looked up


@dataclass(frozen=True)
class Grant:
    """One ACE a ticket granted: the rule in words, who approved it, until when."""

    ticket: str
    run_id: str
    rule: AccessRule
    approver: str
    department: str
    expires: date | None = None
    sid: str | None = None  # the principal's SID, set by the reader (None: not found)

    def words(self) -> str:
        until = f", until {self.expires.isoformat()}" if self.expires else ""
        return f"ticket {self.ticket}, approved by {self.approver}{until}"


@dataclass(frozen=True)
class GrantState:
    active: tuple[Grant, ...] = ()
    expired: tuple[Grant, ...] = ()  # ended by their date, not revoked


class RunLike(Protocol):
    """What :func:`fold` needs of a journal run (``adsuite.journal.records.RunRecord``)."""

    @property
    def id(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def ticket(self) -> str | None: ...
    @property
    def extra(self) -> dict[str, Any]: ...
    @property
    def start_seq(self) -> int: ...


def folder_key(host: str, share: str | None, path: str) -> str:
    """The folder's identity, as file_acl's ``identity`` spells it."""
    if share is None:
        return f"{host}:{local_path(path)}".lower()
    where = normal_path(path)
    return (f"\\\\{host}\\{share}" + (f"\\{where}" if where else "")).lower()


def rule_key(rule: AccessRule, sid: str | None = None) -> RuleKey:
    """What makes two access rules the same ACE: type, inheritance, mask and principal."""
    shape = access_shape(rule)
    who = sid or principals.fixed_sid(rule.who) or principals.account_name(rule.who).lower()
    return (shape.ace_type, shape.flags, shape.mask, who)


@dataclass(frozen=True)
class TicketRecord:
    """What a permission_change ticket's run records (its ``extra.record``)."""

    host: str
    share: str | None  # None: a local path of the host
    path: str
    action: str  # grant | revoke
    rule: AccessRule
    expires: date | None
    data_owner: Mapping[str, str]
    declared_at: str  # where the playbook declares the folder
    playbook_sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {
            RECORD_KEY: {
                "folder": {"host": self.host, "share": self.share, "path": self.path},
                "action": self.action,
                "rule": self.rule.model_dump(mode="json", exclude_none=True),
                "expires": self.expires.isoformat() if self.expires else None,
                "data_owner": dict(self.data_owner),
                "declared_at": self.declared_at,
                "playbook_sha256": self.playbook_sha256,
            }
        }


def fold(runs: Iterable[RunLike], today: date) -> dict[str, GrantState]:
    """Folder key -> grants in force and expired, from journal runs (any order).

    Runs are taken in journal order; only a permission_change ticket's successful apply
    run counts.
    """
    active: dict[str, list[Grant]] = {}
    for run in sorted(runs, key=lambda r: r.start_seq):
        change = _ticket_change(run) if run.status == "ok" else None
        if change is None:
            continue
        key, action, grant = change
        grants = active.setdefault(key, [])
        grants[:] = [g for g in grants if rule_key(g.rule) != rule_key(grant.rule)]
        if action == "grant":
            grants.append(grant)
    return {key: _split(grants, today) for key, grants in active.items() if grants}


def _split(grants: Sequence[Grant], today: date) -> GrantState:
    live = tuple(g for g in grants if g.expires is None or g.expires >= today)
    ended = tuple(g for g in grants if g not in live)
    return GrantState(live, ended)


def _ticket_change(run: RunLike) -> tuple[str, str, Grant] | None:
    """(folder key, grant|revoke, the grant) from a permission_change run, if it is one."""
    ticket = run.extra.get("ticket") or {}
    if run.mode != "apply" or ticket.get("type") != TICKET_TYPE or not run.ticket:
        return None
    data = (run.extra.get("record") or {}).get(RECORD_KEY) or {}
    try:
        folder = data["folder"]
        key = folder_key(folder["host"], folder["share"], folder["path"])
        rule = AccessRule.model_validate(data["rule"])
        expires = date.fromisoformat(data["expires"]) if data.get("expires") else None
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("journal run %s: unreadable permission change (%s)", run.id, exc)
        return None
    department = str((data.get("data_owner") or {}).get("department", ""))
    grant = Grant(run.ticket, run.id, rule, _approver(run.extra), department, expires)
    return key, str(data.get("action")), grant


def _approver(extra: Mapping[str, Any]) -> str:
    satisfied = (extra.get("approval_rules") or {}).get("satisfied") or []
    names = [s.get("name") for s in satisfied if isinstance(s, Mapping) and s.get("name")]
    return ", ".join(map(str, names))


def rule_ace(rule: AccessRule, sid: str) -> Ace:
    shape = access_shape(rule)
    return Ace(shape.ace_type, shape.flags, shape.mask, sid)


def grant_aces(grants: Sequence[Grant]) -> list[tuple[Ace, Grant]]:
    """Each grant whose principal is known as an ACE (a principal since deleted has none)."""
    out = []
    for grant in grants:
        sid = grant.sid or principals.fixed_sid(grant.rule.who)
        if sid is None:
            log.warning("ticket %s grants %s, which no longer exists", grant.ticket, grant.rule.who)
            continue
        out.append((rule_ace(grant.rule, sid), grant))
    return out


def with_grants(declared: Sequence[Ace], granted: Iterable[Ace]) -> list[Ace]:
    """The declared ACEs and every granted one not already declared, deny first."""
    out = list(declared)
    seen = {ace_key(a) for a in out}
    for ace in granted:
        if ace_key(ace) not in seen:
            seen.add(ace_key(ace))
            out.append(ace)
    return sorted(out, key=lambda a: a.ace_type != AceType.ACCESS_DENIED)


def ticket_access(current: Sequence[Ace], ace: Ace, *, grant: bool) -> list[Ace]:
    """The folder's explicit ACEs as they are, with *ace* added (grant) or removed (revoke)."""
    if not grant:
        return [a for a in current if ace_key(a) != ace_key(ace)]
    return with_grants(current, [ace])


def today_of(now: datetime) -> date:
    """The UTC date an expiry is compared with."""
    return now.astimezone(UTC).date()
