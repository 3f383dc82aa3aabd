"""The inventory: domains and their DCs, hosts, companies and credential references.

``load_inventory`` reads the YAML file into validated pydantic models. Every mistake
(unknown key, bad DN, overlapping IP ranges, a reference to a credential that is not
declared) becomes one ``file:line: message`` InputError. File paths in the inventory
are relative to the inventory file's folder unless absolute.
"""

from __future__ import annotations

import logging
import re
import stat
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from adsuite.errors import InputError
from adsuite.formats.yaml_source import LocatedValueError, read_yaml, validation_error

log = logging.getLogger(__name__)

_COMPANY_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
_DNS_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_NETBIOS_FORBIDDEN = set('\\/:*?"<>|.')
_PRINCIPAL = re.compile(r"^[^@\s]+@[A-Za-z0-9.-]+$")


def _relative_to_inventory(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base")
    return value if value.is_absolute() or base is None else Path(base) / value


def private_key_file(path: Path) -> Path:
    """*path*, when it is a file only its owner may read: a keytab is as good as the
    account's password, and a ticket cache as good as a logon, for as long as it lasts."""
    try:
        mode = path.stat().st_mode
    except OSError:
        raise ValueError(f"{path} does not exist") from None
    if not stat.S_ISREG(mode):
        raise ValueError(f"{path} is not a file")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValueError(f"{path} is readable by others (mode {mode & 0o777:o}); chmod 600 it")
    return path


def _network(value: Any) -> IPv4Network | IPv6Network:
    if not isinstance(value, str):
        raise ValueError(f"ip_range must be a network like 172.16.0.0/16, not {value!r}")
    try:
        return ip_network(value, strict=True)
    except ValueError:
        pass
    try:
        loose = ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"ip_range {value!r} is not a network like 172.16.0.0/16") from None
    raise ValueError(f"ip_range {value!r} has host bits set; did you mean {loose}?")


InventoryPath = Annotated[Path, AfterValidator(_relative_to_inventory)]
Network = Annotated[IPv4Network | IPv6Network, PlainValidator(_network), PlainSerializer(str)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DomainController(_Model):
    ldap_url: str
    ca_file: InventoryPath | None = None
    tls_name: str | None = None
    # A Samba DC's JSON audit logs (auth_audit.log, dsdb_audit.log), read where they are
    # or where syslog ships them; Windows DCs are read over WinRM through `winrm_host`.
    samba_audit_dir: InventoryPath | None = None
    winrm_host: str | None = None  # key in `hosts` for WinRM access to this DC

    @field_validator("ldap_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        wrong = f"ldap_url must look like ldaps://dc1.example.com:636, not {value!r}"
        try:
            parts = urlsplit(value)
            _ = parts.port  # raises on a port that is not a number in range
        except ValueError:
            raise ValueError(wrong) from None
        if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
            raise ValueError(wrong)
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
            raise ValueError(f"ldap_url must name only scheme, host and port, not {value!r}")
        return value

    @property
    def starttls(self) -> bool:
        """True for ldap:// URLs, which adsuite upgrades with StartTLS before binding."""
        return urlsplit(self.ldap_url).scheme == "ldap"

    @property
    def host(self) -> str:
        return urlsplit(self.ldap_url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.ldap_url)
        return parts.port or (636 if parts.scheme == "ldaps" else 389)


class Domain(_Model):
    realm: str
    base_dn: str
    netbios: str
    credential: str
    dcs: dict[str, DomainController] = Field(min_length=1)
    preferred_dc: str | None = None
    # When the preferred DC does not answer: refuse the run, or run wholly on the next
    # DC in `dcs` order that answers (docs/lab.md, "Failover").
    failover: Literal["refuse", "allowed"] = "refuse"
    lease_seconds: int = Field(default=300, ge=3, le=86_400)  # the one-writer lease's term

    @field_validator("realm")
    @classmethod
    def _check_realm(cls, value: str) -> str:
        labels = value.split(".")
        if len(labels) < 2 or not all(_DNS_LABEL.match(label) for label in labels):
            raise ValueError(f"realm must be a DNS name like GROUP.EXAMPLE.COM, not {value!r}")
        return value

    @field_validator("base_dn")
    @classmethod
    def _check_base_dn(cls, value: str, info: ValidationInfo) -> str:
        labels = []
        for part in value.split(","):
            attribute, _, label = part.strip().partition("=")
            if attribute.strip().upper() != "DC" or not _DNS_LABEL.match(label.strip()):
                raise ValueError(
                    f"base_dn must be DC= components like DC=group,DC=example,DC=com, not {value!r}"
                )
            labels.append(label.strip())
        realm = info.data.get("realm")
        if realm is not None and ".".join(labels).lower() != realm.lower():
            expected = ",".join(f"DC={label}" for label in realm.lower().split("."))
            raise ValueError(f"base_dn {value!r} does not match realm {realm} (use {expected})")
        return value

    @field_validator("netbios")
    @classmethod
    def _check_netbios(cls, value: str) -> str:
        if not 1 <= len(value) <= 15 or _NETBIOS_FORBIDDEN & set(value) or " " in value:
            raise ValueError(f"netbios must be 1 to 15 characters without spaces, not {value!r}")
        return value

    @field_validator("preferred_dc")
    @classmethod
    def _check_preferred(cls, value: str | None, info: ValidationInfo) -> str | None:
        dcs = info.data.get("dcs")
        if value is not None and dcs is not None and value not in dcs:
            raise ValueError(f"preferred_dc '{value}' is not one of dcs: {', '.join(dcs)}")
        return value

    def preferred(self) -> DomainController:
        """The DC to talk to: ``preferred_dc``, or the first one listed."""
        return self.dcs[self.preferred_key]

    @property
    def preferred_key(self) -> str:
        return self.preferred_dc or next(iter(self.dcs))

    def dc_order(self) -> list[str]:
        """The DCs a run may use, in the order it tries them: the preferred one, then,
        with ``failover: allowed``, the others in ``dcs`` order."""
        first = self.preferred_key
        if self.failover == "refuse":
            return [first]
        return [first, *(key for key in self.dcs if key != first)]


class SmbAccess(_Model):
    port: int = Field(default=445, ge=1, le=65535)
    credential: str
    server_name: str | None = None  # its DNS name, for a Kerberos credential (cifs/<name>)


class WinRmAccess(_Model):
    url: str
    client: Literal["pypsrp", "pywinrm"] = "pypsrp"
    auth: Literal["kerberos", "ntlm", "credssp"] = "kerberos"
    credential: str
    ca_file: InventoryPath | None = None
    timeout: int = Field(default=30, gt=0)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must look like https://host:5986/wsman, not {value!r}")
        return value


class Host(_Model):
    address: str = Field(min_length=1)
    smb: SmbAccess | None = None
    winrm: WinRmAccess | None = None
    # A file server's company: its computer account belongs in <company>/Servers, where
    # the company's server audit policy is linked (fileserver_audit.yml declares it).
    company: str | None = None
    computer: str | None = None  # its computer (NetBIOS) name, when not the key in capitals
    asset: str | None = None  # its asset number, kept in the account's notes (一.1)


class Company(_Model):
    code: str
    name: str
    ip_range: Network

    @field_validator("code")
    @classmethod
    def _check_code(cls, value: str) -> str:
        if not _COMPANY_CODE.match(value):
            raise ValueError(
                f"company code {value!r} must be capitals, digits and _, "
                "starting with a letter, at most 32 characters (like HQ)"
            )
        return value


class Kerberos(_Model):
    """A credential that signs in with Kerberos: a keytab and its principal, or a ticket
    cache someone filled with kinit. ``config`` lists krb5.conf files (KRB5_CONFIG order)
    when the system's /etc/krb5.conf does not describe the realm."""

    keytab: InventoryPath | None = None
    principal: str | None = None
    ccache: InventoryPath | None = None
    config: list[InventoryPath] = Field(default_factory=list)

    @field_validator("keytab", "ccache")
    @classmethod
    def _check_private_file(cls, value: Path | None) -> Path | None:
        return None if value is None else private_key_file(value)

    @field_validator("principal")
    @classmethod
    def _check_principal(cls, value: str | None) -> str | None:
        if value is not None and not _PRINCIPAL.match(value):
            raise ValueError(
                f"principal must look like svc-adsuite@GROUP.EXAMPLE.COM, not {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _check_source(self) -> Kerberos:
        if (self.keytab is None) == (self.ccache is None):
            raise ValueError("kerberos needs exactly one of keytab (with principal) or ccache")
        if self.keytab is not None and self.principal is None:
            raise ValueError("kerberos: a keytab needs the principal to sign in as (NAME@REALM)")
        return self


class Credential(_Model):
    username: str = Field(default="", validate_default=True)
    secret_file: InventoryPath | None = None
    kerberos: Kerberos | None = None

    @model_validator(mode="after")
    def _check_identity(self) -> Credential:
        if self.kerberos is not None and self.secret_file is not None:
            raise ValueError("a credential has either kerberos or a secret_file, not both")
        if not self.username:
            principal = self.kerberos.principal if self.kerberos else None
            if self.kerberos is None:
                raise LocatedValueError("username is required", ("username",))
            # a ccache without a principal is named by its file until it is read
            object.__setattr__(self, "username", principal or f"ccache {self.kerberos.ccache}")
        return self


class JournalGuard(_Model):
    """How the journal is protected beyond its hash chain (docs/architecture.md, "The journal")."""

    mac_key: str | None = None  # credential holding the key every entry is MACed with
    directory: str | None = None  # domain whose PDC emulator keeps the head
    container: str | None = None  # DN of the witness's container; default CN=System,<base_dn>
    file: InventoryPath | None = None  # an append-only file, one JSON line per head


class Backups(_Model):
    """Where DC backups go and how long they are kept (`adsuite backup`, docs/recovery.md)."""

    folder: InventoryPath
    keep: int = Field(default=7, ge=1)  # the N newest backups are kept, whatever their age
    max_age_days: int | None = Field(default=None, ge=1)  # older ones go, never the newest
    stale_after_hours: int = Field(default=26, ge=1)  # the daily check: newest must be younger
    scratch_dir: InventoryPath | None = None  # where restore drills unpack (default: temp)


class HealthLimits(_Model):
    """What `adsuite health` holds the measured values to (the inventory's ``health:``)."""

    max_skew_seconds: int = Field(default=300, ge=1)  # Kerberos' default tolerance
    cert_warn_days: int = Field(default=30, ge=0)
    min_tombstone_days: int = Field(default=180, ge=1)  # Microsoft's default since 2003 SP1
    timeout_seconds: int = Field(default=10, ge=1, le=120)  # per probe
    # replication (more than one DC): the newest inbound success of every link must be
    # younger than this, and a change written on one DC must show on the others within
    replication_max_age_minutes: int = Field(default=60, ge=1)
    replication_timeout_seconds: int = Field(default=60, ge=1, le=900)


class Inventory(_Model):
    domains: dict[str, Domain] = Field(min_length=1)
    hosts: dict[str, Host] = Field(default_factory=dict)
    companies: list[Company] = Field(default_factory=list)
    credentials: dict[str, Credential] = Field(default_factory=dict)
    journal: InventoryPath | None = None
    journal_guard: JournalGuard | None = None
    backups: Backups | None = None
    health: HealthLimits = Field(default_factory=HealthLimits)
    # The local lab (`adsuite lab up`): binding as the built-in Administrator is expected
    # there. Any other inventory is warned when it binds as an all-powerful account.
    lab: bool = False

    @model_validator(mode="after")
    def _check_companies(self) -> Inventory:
        seen: dict[str, int] = {}
        for index, company in enumerate(self.companies):
            first = seen.get(company.code)
            if first is not None:
                raise LocatedValueError(
                    f"company code {company.code} is used twice (first: companies[{first}])",
                    ("companies", index, "code"),
                )
            seen[company.code] = index
            for earlier in self.companies[:index]:
                if company.ip_range.overlaps(earlier.ip_range):
                    raise LocatedValueError(
                        f"ip_range {company.ip_range} of {company.code} overlaps "
                        f"{earlier.ip_range} of {earlier.code}",
                        ("companies", index, "ip_range"),
                    )
        return self

    @model_validator(mode="after")
    def _check_host_companies(self) -> Inventory:
        codes = [company.code for company in self.companies]
        for key, host in self.hosts.items():
            if host.company is not None and host.company not in codes:
                known = ", ".join(codes) or "none declared"
                raise LocatedValueError(
                    f"host {key}: company '{host.company}' is not one of companies: {known}",
                    ("hosts", key, "company"),
                )
        return self

    @model_validator(mode="after")
    def _check_credentials(self) -> Inventory:
        references: list[tuple[str, tuple[str | int, ...]]] = [
            (domain.credential, ("domains", key, "credential"))
            for key, domain in self.domains.items()
        ]
        for key, host in self.hosts.items():
            for access_name, access in (("smb", host.smb), ("winrm", host.winrm)):
                if access is not None:
                    references.append(
                        (access.credential, ("hosts", key, access_name, "credential"))
                    )
        guard = self.journal_guard
        if guard is not None and guard.mac_key is not None:
            references.append((guard.mac_key, ("journal_guard", "mac_key")))
        if (
            guard is not None
            and guard.directory is not None
            and guard.directory not in self.domains
        ):
            known = ", ".join(self.domains)
            raise LocatedValueError(
                f"journal_guard directory '{guard.directory}' is not one of domains: {known}",
                ("journal_guard", "directory"),
            )
        for name, path in references:
            if name not in self.credentials:
                known = ", ".join(self.credentials) or "none declared"
                raise LocatedValueError(
                    f"credential '{name}' is not in credentials (known: {known})", path
                )
        return self

    def domain(self, key: str | None = None) -> tuple[str, Domain]:
        """The domain named ``key``; ``None`` picks the only domain if there is one."""
        known = ", ".join(sorted(self.domains))
        if key is None:
            if len(self.domains) == 1:
                return next(iter(self.domains.items()))
            raise InputError(f"the inventory has several domains; name one of: {known}")
        if key not in self.domains:
            raise InputError(f"unknown domain '{key}' (known: {known})")
        return key, self.domains[key]


def load_inventory(path: Path) -> Inventory:
    """Read and validate the inventory at ``path``; errors name ``file:line``."""
    doc, _ = read_yaml(path, str(path))
    doc.refuse_control_characters()
    if not isinstance(doc.data, dict):
        raise doc.error((), "an inventory must be a mapping with at least 'domains'")
    try:
        inventory = Inventory.model_validate(doc.data, context={"base": path.parent})
    except ValidationError as exc:
        raise validation_error(doc, exc, base=(), what="inventory", model=Inventory) from None
    log.debug("loaded inventory %s: %d domain(s)", path, len(inventory.domains))
    return inventory
