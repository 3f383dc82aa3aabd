"""The data owner of a managed folder, and who must approve a change to its permissions.

Regulation 五.5: access rights on server data are strictly controlled, and every
permission change needs written confirmation from the head of the data owner's
department before it is made. Every ``file_acl`` task names its data owner; every
planned ``file_acl`` change records it (``before``/``after`` key ``data_owner``), so a
ticket can be checked against :func:`approver_for` and a drift finding can say whose
approval a change made outside adsuite would have needed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from adsuite.resources.base import Change

log = logging.getLogger(__name__)

KIND = "file_acl"


class DataOwner(BaseModel):
    """A department and its head (the head's account name, e.g. ``li.hua``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    department: str
    head: str

    @field_validator("department", "head")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    def record(self) -> dict[str, str]:
        """As kept in a change's before/after and the journal."""
        return {"department": self.department, "head": self.head}

    def words(self) -> str:
        return f"{self.head} ({self.department})"


@dataclass(frozen=True)
class Approval:
    """Who must approve a change before it is made, and why."""

    approver: str  # the department head's account name
    department: str
    target: str
    reason: str


def recorded_owner(change: Change) -> DataOwner | None:
    """The data owner a planned file_acl change carries, if any."""
    for side in (change.after, change.before):
        found = _owner_in(side)
        if found is not None:
            return found
    return None


def approver_for(change: Change, owner: DataOwner | None = None) -> Approval | None:
    """Who must approve *change* (五.5): the head of the data owner's department.

    Every file_acl change is a permission change (a new folder grants access too), so
    each needs the approval; changes of other kinds return None. *owner* is the
    playbook's data owner; without it the one the change recorded is used.
    """
    if change.kind != KIND:
        return None
    owner = owner or recorded_owner(change)
    if owner is None:
        return None
    return Approval(
        approver=owner.head,
        department=owner.department,
        target=change.target,
        reason=f"{change.action} of the permissions of {change.target}",
    )


def _owner_in(side: Mapping[str, Any] | None) -> DataOwner | None:
    value = (side or {}).get("data_owner")
    if isinstance(value, Mapping) and {"department", "head"} <= set(value):
        return DataOwner(department=str(value["department"]), head=str(value["head"]))
    return None
