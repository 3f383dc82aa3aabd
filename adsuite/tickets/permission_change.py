"""``permission_change``: grant or revoke one access rule on a managed folder (五.5).

    type: permission_change
    requester: zhang.wei
    approvals:
      - {name: hq.finance.head, role: data_owner_head, time: "2026-11-27T10:00:00+08:00"}
    parameters:
      host: fs1                  # the folder, as a file_acl task of the file-server
      share: data                #   playbook declares it
      path: HQ/Finance
      grant: {who: HQ-Audit-RO, rights: read_execute}   # or revoke: {who: ..., rights: ...}
      expires: 2027-03-31        # optional, with grant: in force through that day (UTC)

The rule is written as a file_acl ``access`` rule (``who``, ``rights`` in words,
``type``, ``applies_to``). The folder must be one a ``file_acl`` task of the file-server
playbook manages — ``adsuite ticket check|apply --playbook FILE``, else
``$ADSUITE_FILESERVER_PLAYBOOK``, else ``playbooks/fileserver_audit.yml`` — and that
task's ``data_owner`` decides who may approve: the ``data_owner_head`` role is bound to
the head it names, so any other approver (another department's head included) is
refused. A grant must not repeat the playbook's own rules; a revoke takes back a grant
a ticket made that is still in force (what the playbook declares is changed in the
playbook).

The run changes that one ACE and nothing else of the folder. Once the run succeeds,
the grant is part of the folder's desired state until revoked or expired
(:mod:`adsuite.resources.file_acl.grants`): the playbook's drift check and apply keep
it, and an ACE nobody approved is still drift.
"""

from __future__ import annotations

import difflib
import logging
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adsuite.engine.loader import load_playbook
from adsuite.errors import InputError
from adsuite.formats.yaml_source import LocatedValueError
from adsuite.journal.paths import default_journal_path
from adsuite.resources import registry as kinds
from adsuite.resources.file_acl import file_acl, principals
from adsuite.resources.file_acl import grants as grantlib
from adsuite.resources.file_acl.grants_io import grants_by_folder
from adsuite.resources.file_acl.spec import AccessRule, Spec, normal_path
from adsuite.resources.file_acl.words import ace_words
from adsuite.source import Location
from adsuite.tickets.base import Build, Found, Needs, TicketEnv, TicketType
from adsuite.tickets.rules import Binding

log = logging.getLogger(__name__)

NAME = "permission_change"
ROLE = "data_owner_head"
ENV_PLAYBOOK = "ADSUITE_FILESERVER_PLAYBOOK"
DEFAULT_PLAYBOOK = "playbooks/fileserver_audit.yml"


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(
        min_length=1,
        description="the file server, as a file_acl task of the file-server playbook names it",
    )
    share: str = Field(min_length=1, description="the share, as that file_acl task names it")
    path: str = Field(description="the folder, as that file_acl task names it")
    grant: AccessRule | None = Field(
        default=None,
        description="an access rule to add, rights in file_acl's words",
    )
    revoke: AccessRule | None = Field(
        default=None,
        description="an access rule a ticket granted, to take back (same form as grant)",
    )
    expires: date | None = Field(
        default=None, description="with grant: the last day (UTC) the rule is in force, YYYY-MM-DD"
    )

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return normal_path(value)

    @model_validator(mode="after")
    def _one_change(self) -> Params:
        if (self.grant is None) == (self.revoke is None):
            raise ValueError("a permission_change ticket needs exactly one of 'grant' and 'revoke'")
        if self.expires is not None and self.revoke is not None:
            raise LocatedValueError("a revoke takes effect at once: drop 'expires'", ("expires",))
        return self

    @property
    def action(self) -> str:
        return "grant" if self.grant is not None else "revoke"

    @property
    def rule(self) -> AccessRule:
        rule = self.grant or self.revoke
        assert rule is not None
        return rule


@dataclass(frozen=True)
class Folder:
    """The playbook's task for the ticket's folder."""

    spec: Spec
    location: Location
    playbook_sha256: str

    @property
    def unc(self) -> str:
        return file_acl.unc(self.spec)


def playbook_path(env: TicketEnv) -> Path:
    if env.playbook is not None:
        return env.playbook
    path = Path(os.environ.get(ENV_PLAYBOOK) or DEFAULT_PLAYBOOK)
    if not path.exists():
        raise InputError(
            f"no file-server playbook to check a {NAME} ticket against: pass --playbook, "
            f"set {ENV_PLAYBOOK}, or run from a folder with {DEFAULT_PLAYBOOK}"
        )
    return path


def folder(env: TicketEnv, params: Params) -> Folder:
    """The file_acl task that manages the ticket's folder; refused if there is none."""
    path = playbook_path(env)
    loaded = load_playbook(path, env.inventory, kinds.specs())
    tasks = [
        t
        for play in loaded.plays
        if play.domain == env.domain_key
        for t in play.tasks
        if t.kind == file_acl.NAME
    ]
    wanted = grantlib.folder_key(params.host, params.share, params.path)
    for task in tasks:
        assert isinstance(task.spec, Spec)
        if file_acl.identity(task.spec) == wanted:
            return Folder(task.spec, task.location, loaded.sha256)
    known = [file_acl.unc(t.spec) for t in tasks if isinstance(t.spec, Spec)]
    shown = f"\\\\{params.host}\\{params.share}" + (f"\\{params.path}" if params.path else "")
    close = difflib.get_close_matches(shown, known, n=1, cutoff=0.8)
    hint = f"did you mean {close[0]}?" if close else f"it manages {len(known)} folders"
    raise env.error(("path",), f"{shown} is not a folder that {path} manages ({hint})")


def bind_roles(env: TicketEnv, params: Params) -> dict[str, Binding]:
    """Only the head of the folder's data owner may approve (五.5)."""
    found = folder(env, params)
    owner = found.spec.data_owner
    who = (
        f"{owner.head}, the head of {owner.department}, which owns {found.unc} "
        f"(data_owner declared at {found.location})"
    )
    return {ROLE: Binding(frozenset({owner.head.casefold()}), who)}


def _words(rule: AccessRule) -> str:
    return ace_words(grantlib.rule_ace(rule, "S-1-0-0"), lambda _sid: rule.who)


def _check_change(env: TicketEnv, params: Params, found: Folder) -> None:
    if found.spec.access is None:
        raise env.error(
            ("path",),
            f"{found.location} does not declare the access of {found.unc} (no 'access:'), "
            "so there is no declared state for a ticket to change",
        )
    key, words = grantlib.rule_key(params.rule), _words(params.rule)
    declared = {grantlib.rule_key(rule) for rule in found.spec.access}
    if key in declared and params.grant is not None:
        raise env.error(
            ("grant",),
            f"'{words}' on {found.unc} is already declared by the playbook "
            f"({found.location}); nothing to grant",
        )
    if key in declared:
        raise env.error(
            ("revoke",),
            f"'{words}' on {found.unc} is declared by the playbook ({found.location}): "
            "change the playbook, a ticket only revokes what a ticket granted",
        )
    today = grantlib.today_of(env.now)
    if params.revoke is not None:
        _check_revoke(env, params, found, today)
    if params.expires is not None and params.expires < today:
        raise env.error(
            ("expires",), f"expires {params.expires} is in the past (today is {today}, UTC)"
        )


def _check_revoke(env: TicketEnv, params: Params, found: Folder, today: date) -> None:
    journal = env.journal_path or default_journal_path(env.inventory.journal)
    state = grants_by_folder(journal, today).get(file_acl.identity(found.spec))
    active = state.active if state else ()
    if any(grantlib.rule_key(g.rule) == grantlib.rule_key(params.rule) for g in active):
        return
    listed = "; ".join(f"'{_words(g.rule)}' ({g.words()})" for g in active) or "none"
    raise env.error(
        ("revoke",),
        f"no ticket grant of '{_words(params.rule)}' on {found.unc} is in force "
        f"(grants in force: {listed})",
    )


def needs(env: TicketEnv, params: Params) -> Needs:
    found = folder(env, params)
    _check_change(env, params, found)
    return Needs(names=tuple(principals.accounts([params.rule.who])))


def build(env: TicketEnv, params: Params, found: Found) -> Build:
    target = folder(env, params)
    for name in principals.accounts([params.rule.who]):
        if found.account(name) is None:
            raise env.error(
                (params.action, "who"), f"no user, group or computer named '{name}' in the domain"
            )
    spec = target.spec
    args: dict[str, Any] = {
        "host": spec.host,
        "share": spec.share,
        "path": spec.path,
        "data_owner": spec.data_owner.record(),
        "ticket_change": {params.action: params.rule.model_dump(exclude_none=True)},
    }
    task = env.task(file_acl.NAME, args, (params.action,), "permission change (五.5)")
    record = grantlib.TicketRecord(
        spec.host,
        spec.share,
        spec.path,
        params.action,
        params.rule,
        params.expires,
        spec.data_owner.record(),
        str(target.location),
        target.playbook_sha256,
    )
    until = f" until {params.expires}" if params.expires else ""
    summary = f"{params.action} '{_words(params.rule)}' on {target.unc}{until}"
    return Build((task,), summary=summary, record=record.as_dict())


TYPE = TicketType(NAME, Params, needs, build, bind_roles)
