"""The desired state of a GPO as a playbook declares it (the ``gpo`` kind's models).

Every list or mapping left out is not managed. Given, it is exact where the GPO file is
one unit — a half's ``registry`` (its Registry.pol), ``audit`` (audit.csv),
``restricted_groups`` ([Group Membership]) and ``links`` — and per key in ``security``
sections, whose other keys are left as they are. Bad values fail when the playbook is
loaded, at their line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adsuite.errors import InputError
from adsuite.formats import audit_csv, gpttmpl_sections
from adsuite.formats import dn as dnlib
from adsuite.formats.gpo_ldap import check_guid
from adsuite.formats.gpttmpl_inf import RegistryValue, registry_value_to_text
from adsuite.formats.registry_pol import PolEntry, reg_type
from adsuite.resources.gpo import service_spec as gpo_services
from adsuite.resources.gpo.applocker import AppLocker, is_applocker

log = logging.getLogger(__name__)
T = TypeVar("T")

STATUS_FLAGS = {"enabled": 0, "user_disabled": 1, "computer_disabled": 2, "all_disabled": 3}
AUDIT_WORDS = {
    "success": audit_csv.AuditSetting.SUCCESS,
    "failure": audit_csv.AuditSetting.FAILURE,
    "success_and_failure": audit_csv.AuditSetting.SUCCESS_AND_FAILURE,
    "no_auditing": audit_csv.AuditSetting.NO_AUDITING,
}
# the [Registry Values] line that force_audit_subcategories writes
FORCE_SUBCATEGORIES = (
    "MACHINE\\System\\CurrentControlSet\\Control\\Lsa\\SCENoApplyLegacyAuditPolicy"
)
_HIVE = re.compile(r"(HKEY_[A-Z_]+|HK[LC][MU]|MACHINE|USER)\\", re.I)


def _checked(call: Callable[..., T], *args: Any) -> T:
    """Run a codec's check; its InputError becomes the ValueError pydantic locates."""
    try:
        return call(*args)
    except InputError as error:
        raise ValueError(error.message) from None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegistryPolicy(_Model):
    """One Administrative Templates value: set it, or (``state: absent``) delete it on the
    clients the way the Group Policy editor writes a policy set to Disabled (``**del.``)."""

    key: str
    value: str
    type: str | None = None  # registry_pol.type_names(): sz, dword, … (docs/playbook-input.md)
    data: int | str | list[str] | None = None
    state: Literal["present", "absent"] = "present"

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        key = value.strip().strip("\\")
        if _HIVE.match(key + "\\"):
            raise ValueError(
                f"registry key {value!r} names a hive; give the path below it "
                "(the half — user or machine — says which hive)"
            )
        if not key or "\0" in key:
            raise ValueError(f"registry key {value!r} is empty or holds NUL")
        return key

    @field_validator("type")
    @classmethod
    def _type(cls, value: str | None) -> str | None:
        return None if value is None else _checked(reg_type, value).name

    @model_validator(mode="after")
    def _entry(self) -> RegistryPolicy:
        if self.state == "absent":
            if self.type is not None or self.data is not None:
                raise ValueError("a policy with state: absent takes no type or data")
            return self
        if self.type is None or self.data is None:
            raise ValueError(f"registry policy {self.value!r} needs type and data")
        self.pol_entry()
        return self

    def pol_entry(self) -> PolEntry:
        """The Registry.pol entry this declares."""
        if self.state == "absent":
            return _checked(PolEntry.delete_value, self.key, self.value)
        data: Any = self.data
        if self.type in ("REG_BINARY", "REG_NONE") and isinstance(data, str):
            data = _checked(bytes.fromhex, data) if _is_hex(data) else None
            if data is None:
                raise ValueError(f"{self.type} data {self.data!r} must be hex digits")
        if isinstance(data, list):
            data = tuple(data)
        return _checked(PolEntry.set_value, self.key, self.value, self.type or "", data)


def _is_hex(text: str) -> bool:
    return bool(re.fullmatch(r"(?:[0-9A-Fa-f]{2}\s*)*", text))


class RegistryValueSpec(_Model):
    """A ``[Registry Values]`` entry of the security template: type number and data."""

    type: int
    data: int | str | list[str]

    @model_validator(mode="after")
    def _writable(self) -> RegistryValueSpec:
        _checked(registry_value_to_text, self.value())
        return self

    def value(self) -> RegistryValue:
        data = tuple(self.data) if isinstance(self.data, list) else self.data
        return RegistryValue(self.type, data)


class SecuritySettings(_Model):
    """Sections of GptTmpl.inf, managed key by key; a key given as ``null`` is taken out
    of its section (not set: the client keeps its own value)."""

    system_access: Mapping[str, int | bool | str | None] | None = None
    event_audit: Mapping[str, int | None] | None = None
    privilege_rights: Mapping[str, list[str] | None] | None = None
    registry_values: Mapping[str, RegistryValueSpec | None] | None = None
    system_log: Mapping[str, int | None] | None = None  # [System Log] (MS-GPSB 2.2.3)
    security_log: Mapping[str, int | None] | None = None  # [Security Log]
    application_log: Mapping[str, int | None] | None = None  # [Application Log]
    services: Mapping[str, gpo_services.Declared | None] | None = None  # System Services

    @field_validator("services", mode="before")
    @classmethod
    def _startup_words(cls, value: Any) -> Any:
        for name, given in value.items() if isinstance(value, Mapping) else ():
            if isinstance(given, str) and given not in gpo_services.STARTUP:
                raise ValueError(
                    f"service {name} startup {given!r} is not automatic, manual or disabled"
                )
        return value

    @field_validator("services")
    @classmethod
    def _service_names(
        cls, value: Mapping[str, gpo_services.Declared | None] | None
    ) -> Mapping[str, gpo_services.Declared | None] | None:
        names = [gpo_services.check_name(name) for name in value or {}]
        if len({n.casefold() for n in names}) != len(names):
            raise ValueError("services names a service twice (names are case-insensitive)")
        return value

    def event_logs(self) -> dict[str, Mapping[str, int | None]]:
        """The event log sections given, by GptTmpl.inf section name."""
        given = zip(
            gpttmpl_sections.EVENT_LOG_SECTIONS,
            (self.system_log, self.security_log, self.application_log),
            strict=True,
        )
        return {name: settings for name, settings in given if settings is not None}

    @model_validator(mode="after")
    def _sections(self) -> SecuritySettings:
        access = self.system_access or {}
        _checked(gpttmpl_sections.system_access_section, _set(access))
        _known_keys(access, gpttmpl_sections.SYSTEM_ACCESS_KEYS, "System Access")
        audit = self.event_audit or {}
        _checked(gpttmpl_sections.event_audit_section, _set(audit))
        _known_keys(audit, gpttmpl_sections.EVENT_AUDIT_KEYS, "Event Audit")
        for right in self.privilege_rights or {}:
            _checked(gpttmpl_sections.privilege_rights_section, {right: []})
        values = self.registry_values or {}
        shown = {k: v.value() if v else RegistryValue(4, 0) for k, v in values.items()}
        _checked(gpttmpl_sections.registry_values_section, shown)
        for section, settings in self.event_logs().items():
            _checked(gpttmpl_sections.event_log_section, section, _set(settings))
            _known_keys(settings, gpttmpl_sections.EVENT_LOG_KEYS, section)
        return self


def _set(settings: Mapping[str, T | None]) -> dict[str, T]:
    return {k: v for k, v in settings.items() if v is not None}


def _known_keys(settings: Mapping[str, Any], known: tuple[str, ...], section: str) -> None:
    folded = {k.casefold() for k in known}
    for key in settings:
        if key.casefold() not in folded:
            raise ValueError(f"unknown [{section}] key {key!r} (known: {', '.join(known)})")


class RestrictedGroup(_Model):
    """Restricted Groups: ``members`` replaces the group's membership on the clients;
    ``memberof`` only adds the group to the groups listed."""

    group: str
    members: list[str] | None = None
    memberof: list[str] | None = None

    @model_validator(mode="after")
    def _something(self) -> RestrictedGroup:
        if self.members is None and self.memberof is None:
            raise ValueError(f"restricted group {self.group!r} needs members or memberof")
        return self


class UserHalf(_Model):
    registry: list[RegistryPolicy] | None = None


class MachineHalf(_Model):
    registry: list[RegistryPolicy] | None = None
    security: SecuritySettings | None = None
    restricted_groups: list[RestrictedGroup] | None = None
    audit: dict[str, Literal["success", "failure", "success_and_failure", "no_auditing"]] | None = (
        None
    )
    force_audit_subcategories: bool | None = None
    applocker: AppLocker | None = None  # AppLocker rules, in the same Registry.pol

    def pol_policies(self) -> list[RegistryPolicy] | None:
        """Everything the machine Registry.pol holds: ``registry`` and the AppLocker rules.
        None: the file is not managed."""
        if self.applocker is None:
            return self.registry
        rules = [
            RegistryPolicy(key=key, value=value, type=kind, data=data)
            for key, value, kind, data in self.applocker.entries()
        ]
        return [*(self.registry or []), *rules]

    @model_validator(mode="after")
    def _one_owner(self) -> MachineHalf:
        if self.applocker is not None:
            for policy in self.registry or []:
                if is_applocker(policy.key):
                    raise ValueError(
                        f"registry value {policy.key}\\{policy.value} is AppLocker's; "
                        "declare it under applocker"
                    )
        return self

    @field_validator("audit")
    @classmethod
    def _subcategories(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for name in value or {}:
            _checked(audit_csv.subcategory, name)
        return value

    @model_validator(mode="after")
    def _force_once(self) -> MachineHalf:
        values = self.security.registry_values if self.security else None
        named = {k.casefold() for k in values or {}}
        if self.force_audit_subcategories is not None and FORCE_SUBCATEGORIES.casefold() in named:
            raise ValueError(
                "force_audit_subcategories and registry_values both set "
                f"{FORCE_SUBCATEGORIES}; give one"
            )
        return self


class LinkSpec(_Model):
    """Where the GPO is linked: an OU path (``HQ/Users``), a DN, or ``domain``."""

    target: str
    enabled: bool = True
    enforced: bool = False
    order: Annotated[int, Field(ge=1)] | None = None  # link order (1 wins); None: not managed

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        if value.strip().lower() == "domain" or dnlib.looks_like_dn(value):
            return value.strip()
        dnlib.ou_path_segments(value)
        return value


class Spec(_Model):
    name: str
    guid: str | None = None  # adopt (or create) the GPO with this GUID
    status: Literal["enabled", "user_disabled", "computer_disabled", "all_disabled"] | None = None
    apply_to: list[str] | None = None  # security filtering: who gets "Apply Group Policy"
    links: list[LinkSpec] | None = None
    user: UserHalf | None = None
    machine: MachineHalf | None = None
    state: Literal["present", "absent"] = "present"
    allow_delete: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip() or any(c in value for c in "\r\n\0"):
            raise ValueError(f"GPO name {value!r} is empty or holds a line break")
        return value.strip()

    @field_validator("links", mode="before")
    @classmethod
    def _link_paths(cls, value: Any) -> Any:
        """A link may be given as its target alone: ``links: [HQ/Users, HQ/Workstations]``."""
        if isinstance(value, list):
            return [{"target": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("guid")
    @classmethod
    def _guid(cls, value: str | None) -> str | None:
        return None if value is None else _checked(check_guid, value)

    @model_validator(mode="after")
    def _applocker_service(self) -> Spec:
        """AppLocker rules need AppIDSvc running: set it unless the playbook says."""
        machine = self.machine
        if machine is None or machine.applocker is None:
            return self
        security = machine.security or SecuritySettings()
        declared = dict(security.services or {})
        if gpo_services.implied_by_applocker(declared):
            declared[gpo_services.APPIDSVC] = "automatic"
            machine.security = security.model_copy(update={"services": declared})
        else:
            gpo_services.warn_once(gpo_services.applocker_warning(self.name, declared))
        return self

    @model_validator(mode="after")
    def _delete_needs_flag(self) -> Spec:
        if self.state == "absent" and not self.allow_delete:
            raise ValueError("removing a GPO needs 'allow_delete: true' as well as 'state: absent'")
        return self


class RollbackHints(_Model):
    """What a rollback knows of a GPO from the journal besides its settings."""

    left_at_version: int | None = None  # versionNumber a run left it at: another = edited since
    deleted_at_version: int | None = None  # versionNumber when a run deleted it: recreate above


class RollbackSpec(Spec):
    """A GPO as ``adsuite rollback`` declares it (never a playbook): its links are put back
    GPO by GPO, and ``rollback`` carries the versions the journal saw."""

    rollback: RollbackHints = Field(default_factory=RollbackHints)
