"""The ``privileged`` task as a playbook declares it, checked at load (五.6).

    - privileged:
        holders: [li.wei, zhao.min]          # at most two (五.6): who may check out
        service_account: svc-adsuite         # the account adsuite binds with
        accounts:                            # super-administrator accounts, checked out
          Administrator: {at_rest: disabled}
          adm.breakglass: {at_rest: disabled}
        groups:                              # exact membership, every group declared
          Domain Admins: [Administrator, adm.breakglass, svc-adsuite]
          Enterprise Admins: [Administrator]
          Schema Admins: []
          Administrators: [Domain Admins, Enterprise Admins]
          Account Operators: []
          Server Operators: []
          Backup Operators: []
          Print Operators: []
        builtin_administrator: {not_delegated: true, max_password_age: 183}
        checkout: {approved_ticket: true, it_head: wang.jun}

A member is a declared super-administrator account, the service account or one of the
privileged groups: any other user would hold super-administrator rights without being
assigned, and any other group would hand them to whoever is put in it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from adsuite.resources.naming import check_sam_account_name
from adsuite.resources.privileged.facts import GROUP_NAMES

MAX_HOLDERS = 2
CLAUSE = "五.6"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Account(_Model):
    """A super-administrator account: its state at rest (a checked-out password is handed
    over once and stored nowhere, so there is no place for it to name)."""

    at_rest: Literal["enabled", "disabled"] = "disabled"


class BuiltinAdministrator(_Model):
    not_delegated: bool = True  # "account is sensitive and cannot be delegated"
    max_password_age: int | None = Field(default=None, ge=1)  # days; None: the domain's


class Checkout(_Model):
    approved_ticket: bool = True  # a ticket file approved per approvals.yml admin_checkout
    it_head: str | None = None  # the one person whose approval counts as it_head


class Spec(_Model):
    holders: list[str] = Field(min_length=1)
    service_account: str
    accounts: dict[str, Account] = Field(default_factory=dict)
    groups: dict[str, list[str]]
    builtin_administrator: BuiltinAdministrator = Field(default_factory=BuiltinAdministrator)
    checkout: Checkout = Field(default_factory=Checkout)

    @field_validator("holders")
    @classmethod
    def _holders(cls, value: list[str]) -> list[str]:
        _check_holders(value)
        return value

    @field_validator("service_account")
    @classmethod
    def _service(cls, value: str) -> str:
        return check_sam_account_name(value)

    @field_validator("accounts")
    @classmethod
    def _accounts(cls, value: dict[str, Account], info: ValidationInfo) -> dict[str, Account]:
        service = str(info.data.get("service_account", "")).lower()
        for name in value:
            check_sam_account_name(name)
            if name.lower() == service:
                raise ValueError(
                    f"the service account {name} is not checked out (its use is reconciled "
                    "with adsuite's runs); name it only as service_account"
                )
        return value

    @field_validator("groups")
    @classmethod
    def _groups(cls, value: dict[str, list[str]], info: ValidationInfo) -> dict[str, list[str]]:
        accounts = info.data.get("accounts") or {}
        allowed = {str(a).lower() for a in accounts}
        allowed.add(str(info.data.get("service_account", "")).lower())
        _check_groups(value, allowed)
        return value

    def account(self, name: str) -> tuple[str, Account] | None:
        """The declared account called *name* (any case), with its declared spelling."""
        return next(((k, v) for k, v in self.accounts.items() if k.lower() == name.lower()), None)

    def is_holder(self, name: str) -> bool:
        return name.casefold() in {h.casefold() for h in self.holders}

    def member_accounts(self) -> set[str]:
        """Account names the groups name (not privileged groups), as written."""
        labels = {g.lower() for g in GROUP_NAMES}
        return {m for ms in self.groups.values() for m in ms if m.lower() not in labels}


def _check_holders(holders: list[str]) -> None:
    seen: set[str] = set()
    for name in holders:
        if not name.strip() or name != name.strip() or " " in name:
            raise ValueError(f"holder {name!r} must be one account name")
        if name.casefold() in seen:
            raise ValueError(f"holder {name} is named twice")
        seen.add(name.casefold())
    if len(holders) > MAX_HOLDERS:
        raise ValueError(
            f"{len(holders)} holders named ({', '.join(holders)}), but {CLAUSE} allows at most "
            f"{MAX_HOLDERS}: the IT head assigns super-administrator accounts to 1-2 "
            "authorised IT staff"
        )


def _check_groups(groups: dict[str, list[str]], allowed: set[str]) -> None:
    known = {g.lower(): g for g in GROUP_NAMES}
    for label in groups:
        if label not in GROUP_NAMES:
            close = known.get(label.lower())
            hint = f"did you mean '{close}'?" if close else f"known: {', '.join(GROUP_NAMES)}"
            raise ValueError(f"unknown privileged group '{label}' ({hint})")
    missing = [g for g in GROUP_NAMES if g not in groups]
    if missing:
        raise ValueError(
            f"every privileged group must be declared ({CLAUSE}); missing: "
            f"{', '.join(missing)} (declare [] for a group that must stay empty)"
        )
    for label, members in groups.items():
        for member in members:
            if member.lower() == label.lower():
                raise ValueError(f"{label} cannot contain itself")
            if member in GROUP_NAMES or member.lower() in allowed:
                continue
            raise ValueError(
                f"{member!r} in {label} is neither a declared super-administrator account "
                f"(accounts), the service account nor a privileged group: {CLAUSE} lets only "
                "assigned accounts hold these rights, and another group would pass them on"
            )
