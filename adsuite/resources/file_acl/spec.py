"""The ``file_acl`` task as a playbook writes it: a folder on a share (or a local path of
a host, reached over WinRM), its data owner, owner, inheritance, access rules (DACL)
and audit rules (SACL), in words.

See :mod:`adsuite.resources.file_acl.file_acl` for the semantics; this module is the model and
its translation into ACE shapes (type, flags, mask, who).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from adsuite.formats.security_descriptor import AceType
from adsuite.resources.accounts.password_reset import TICKET_CONTEXT
from adsuite.resources.file_acl import rights
from adsuite.resources.file_acl.data_owner import DataOwner

log = logging.getLogger(__name__)

AppliesTo = Literal[
    "this_folder_subfolders_files",
    "this_folder",
    "this_folder_subfolders",
    "this_folder_files",
    "subfolders_files",
    "subfolders",
    "files",
]
Rights = str | list[str]
_BAD_SEGMENT = re.compile(r'[<>:"|?*\x00-\x1f]')
_DRIVE = re.compile(r"([A-Za-z]):(?:[\\/]|\Z)")
KEY_DATA_RULE: tuple[str, list[str], list[Literal["success", "failure"]]] = (
    "Everyone",
    ["list_folder"],
    ["success", "failure"],
)
"""五.7: every read of key data by anyone is recorded (FILE_READ_DATA, both outcomes)."""


def _check_rights(value: Rights) -> Rights:
    words = [value] if isinstance(value, str) else value
    if not words:
        raise ValueError("rights must name at least one right")
    for word in words:
        rights.word_mask(word)
    return value


class AccessRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    who: str = Field(min_length=1)
    rights: Rights
    type: Literal["allow", "deny"] = "allow"
    applies_to: AppliesTo | None = None

    @field_validator("rights")
    @classmethod
    def _rights(cls, value: Rights) -> Rights:
        return _check_rights(value)


class AuditRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    who: str = Field(min_length=1)
    rights: Rights
    # "result", not "on": YAML 1.1 reads a bare ``on`` key as the boolean true
    result: list[Literal["success", "failure"]] = Field(
        default=["success", "failure"], min_length=1
    )
    applies_to: AppliesTo | None = None

    @field_validator("rights")
    @classmethod
    def _rights(cls, value: Rights) -> Rights:
        return _check_rights(value)


class TicketChange(BaseModel):
    """One ACE a permission_change ticket adds (``grant``) or removes (``revoke``)."""

    model_config = ConfigDict(extra="forbid")

    grant: AccessRule | None = None
    revoke: AccessRule | None = None

    @model_validator(mode="after")
    def _one(self) -> TicketChange:
        if (self.grant is None) == (self.revoke is None):
            raise ValueError("ticket_change needs exactly one of 'grant' and 'revoke'")
        return self

    @property
    def rule(self) -> AccessRule:
        rule = self.grant or self.revoke
        assert rule is not None
        return rule


_TICKET_ONLY_CLEAR = ("owner", "inherit", "access", "audit")


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1)
    share: str | None = Field(default=None, min_length=1)  # None: path is local to host
    path: str = ""
    data_owner: DataOwner
    owner: str | None = None
    inherit: bool | None = None
    access: list[AccessRule] | None = None
    audit: list[AuditRule] | None = None
    key_data: bool = False
    check_tree: bool = False
    ticket_change: TicketChange | None = None  # only from a permission_change ticket

    @field_validator("share")
    @classmethod
    def _share(cls, value: str | None) -> str | None:
        if value is not None and (_BAD_SEGMENT.search(value) or "\\" in value or "/" in value):
            raise ValueError(f"bad share name {value!r}")
        return value

    @field_validator("path")
    @classmethod
    def _path(cls, value: str, info: ValidationInfo) -> str:
        if "share" in info.data and info.data["share"] is None:
            return local_path(value)
        return normal_path(value)

    @property
    def local(self) -> bool:
        """True for a local path of the host (no share): read and written over WinRM."""
        return self.share is None

    @model_validator(mode="after")
    def _somewhere(self) -> Spec:
        if self.share is None and not self.path:
            raise ValueError(
                "name the folder: a share (share: data, path: HQ/Finance) or a local path "
                "of the host (path: 'D:\\Finance')"
            )
        return self

    @model_validator(mode="after")
    def _ticket_only(self, info: ValidationInfo) -> Spec:
        if self.ticket_change is None:
            return self
        if not (info.context or {}).get(TICKET_CONTEXT):
            raise ValueError(
                "ticket_change is made by a permission_change ticket (adsuite ticket apply), "
                "never by a playbook: 五.5 needs the data owner's approval first; declare "
                "lasting access under 'access'"
            )
        managed = [f for f in _TICKET_ONLY_CLEAR if getattr(self, f) is not None]
        if managed or self.key_data or self.check_tree:
            raise ValueError("a ticket's file_acl task changes one ACE and manages nothing else")
        return self


def normal_path(value: str) -> str:
    """``HQ/Finance`` or ``\\HQ\\Finance\\`` → ``HQ\\Finance``; ValueError if malformed."""
    segments = value.replace("/", "\\").split("\\")
    if segments and not segments[0]:
        segments = segments[1:]
    if segments and not segments[-1]:
        segments = segments[:-1]
    for segment in segments:
        if not segment.strip() or segment in (".", "..") or _BAD_SEGMENT.search(segment):
            raise ValueError(f"bad folder path {value!r}: {segment!r} is not a folder name")
        if segment != segment.rstrip(" ."):
            raise ValueError(f"bad folder path {value!r}: {segment!r} ends in a space or dot")
    return "\\".join(segments)


def local_path(value: str) -> str:
    """``d:/Finance/Ledger`` → ``D:\\Finance\\Ledger``; ValueError unless a folder on a drive."""
    drive = _DRIVE.match(value)
    if drive is None:
        raise ValueError(
            f"path {value!r} has no share, so it must be a local path of the host such as "
            "'D:\\Finance' (reached over WinRM); or name the share it is in"
        )
    rest = normal_path(value[drive.end() :]) if value[drive.end() :] else ""
    if not rest:
        raise ValueError(f"path {value!r} is a whole drive: name a folder on it")
    return f"{drive.group(1).upper()}:\\{rest}"


@dataclass(frozen=True)
class Shape:
    """One ACE as declared: the principal still a name from the playbook."""

    ace_type: int
    flags: int
    mask: int
    who: str


def access_shapes(spec: Spec) -> list[Shape]:
    """The declared DACL, deny rules first (canonical order), each in declared order."""
    shapes = [access_shape(rule) for rule in spec.access or []]
    return sorted(shapes, key=lambda s: s.ace_type != AceType.ACCESS_DENIED)


def audit_shapes(spec: Spec) -> list[Shape] | None:
    """The declared SACL, with the key-data read rule when ``key_data`` is set."""
    if spec.audit is None and not spec.key_data:
        return None
    rules = list(spec.audit or [])
    if spec.key_data:
        who, words, on = KEY_DATA_RULE
        rules.append(AuditRule(who=who, rights=words, result=on))
    unique: list[Shape] = []
    for shape in map(_audit_shape, rules):
        if shape not in unique:
            unique.append(shape)
    return unique


def _words(value: Rights) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def access_shape(rule: AccessRule) -> Shape:
    words = _words(rule.rights)
    flags = rights.APPLIES_TO[rule.applies_to or rights.default_applies_to(words)]
    kind = AceType.ACCESS_DENIED if rule.type == "deny" else AceType.ACCESS_ALLOWED
    return Shape(kind, flags, rights.file_mask(rights.words_mask(words)), rule.who)


def _audit_shape(rule: AuditRule) -> Shape:
    words = _words(rule.rights)
    flags = rights.APPLIES_TO[rule.applies_to or rights.default_applies_to(words)]
    flags |= rights.SUCCESS if "success" in rule.result else 0
    flags |= rights.FAILURE if "failure" in rule.result else 0
    return Shape(AceType.SYSTEM_AUDIT, flags, rights.file_mask(rights.words_mask(words)), rule.who)


def principal_names(spec: Spec) -> set[str]:
    names = {rule.who for rule in spec.access or []} | {rule.who for rule in spec.audit or []}
    if spec.ticket_change is not None:
        names.add(spec.ticket_change.rule.who)
    if spec.key_data:
        names.add(KEY_DATA_RULE[0])
    return names | ({spec.owner} if spec.owner else set())
