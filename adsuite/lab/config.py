"""The lab DC's settings (:class:`LabConfig`) and how to reach it (:class:`LabStatus`).

Every path the lab uses derives from one state folder, so two labs never share a file:
Samba's pid, socket and log directories are moved under it too (Samba's defaults under
``/run/samba`` and ``/var/log/samba`` would collide with any other DC on the machine).
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_STATE_DIR = Path("/var/lib/adsuite/lab")
STATE_DIR_ENV = "ADSUITE_LAB_DIR"
LDAPS_PORT = 636
DC_PORTS = (389, 636, 445, 88)
DATA_SHARE = "data"
FIRST_DC_IP = "127.0.0.1"  # DC1; DCk of a lab of several listens on 127.0.0.k


def default_state_dir() -> Path:
    """The state folder: ``$ADSUITE_LAB_DIR`` if set, else ``/var/lib/adsuite/lab``."""
    configured = os.environ.get(STATE_DIR_ENV)
    return Path(configured) if configured else DEFAULT_STATE_DIR


@dataclass(frozen=True)
class LabConfig:
    """The lab domain: where it lives and what it is called."""

    state_dir: Path = field(default_factory=default_state_dir)
    realm: str = "GROUP.EXAMPLE.COM"
    domain: str = "GROUP"
    host_name: str = "dc1"
    host_ip: str = "127.0.0.1"
    credential_name: str = "lab-admin"
    required_ports: tuple[int, ...] = DC_PORTS


@dataclass(frozen=True)
class LabPaths:
    """Every file and folder of one lab, derived from its state folder."""

    state_dir: Path

    @property
    def smb_conf(self) -> Path:
        return self.state_dir / "etc" / "smb.conf"

    @property
    def private_dir(self) -> Path:
        return self.state_dir / "private"

    @property
    def sam_ldb(self) -> Path:
        return self.private_dir / "sam.ldb"

    @property
    def ca_file(self) -> Path:
        return self.private_dir / "tls" / "ca.pem"

    @property
    def secret_file(self) -> Path:
        return self.private_dir / "adsuite-lab-admin.secret"

    @property
    def journal_key_file(self) -> Path:
        """The journal's MAC key (credential ``lab-journal-key``), random, 0600."""
        return self.private_dir / "adsuite-journal-key.secret"

    @property
    def journal_witness_file(self) -> Path:
        """The lab's append-only file witness of journal heads."""
        return self.state_dir / "journal-heads.jsonl"

    @property
    def krb5_conf(self) -> Path:
        return self.private_dir / "krb5.conf"

    @property
    def resolv_conf(self) -> Path:
        """Bind-mounted over /etc/resolv.conf in the DC's own mount namespace."""
        return self.state_dir / "etc" / "resolv.conf"

    @property
    def krb5_overlay(self) -> Path:
        return self.private_dir / "krb5-overlay.conf"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "samba.pid"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "log"

    @property
    def samba_log(self) -> Path:
        return self.log_dir / "samba.log"

    @property
    def auth_audit_log(self) -> Path:
        return self.log_dir / "auth_audit.log"

    @property
    def dsdb_audit_log(self) -> Path:
        return self.log_dir / "dsdb_audit.log"

    @property
    def group_audit_log(self) -> Path:
        return self.log_dir / "group_audit.log"

    @property
    def sysvol(self) -> Path:
        return self.state_dir / "state" / "sysvol"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / DATA_SHARE


def base_dn(realm: str) -> str:
    """``GROUP.EXAMPLE.COM`` → ``DC=group,DC=example,DC=com``."""
    return ",".join(f"DC={label}" for label in realm.lower().split("."))


@dataclass(frozen=True)
class LabStatus:
    """Where the lab is and how to reach it. Holds no password, only the secret file's path."""

    running: bool
    pid: int | None
    provisioned: bool
    state_dir: Path
    realm: str
    domain: str
    base_dn: str
    ldap_url: str
    ca_file: Path
    tls_name: str
    admin_username: str
    credential_name: str
    secret_file: Path
    sysvol_path: Path
    data_share: str
    data_path: Path
    auth_audit_log: Path
    dsdb_audit_log: Path
    group_audit_log: Path
    samba_log: Path
    smb_conf: Path
    krb5_overlay: Path
    journal_key_file: Path
    journal_witness_file: Path

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: paths as strings."""
        return {
            key: str(value) if isinstance(value, Path) else value
            for key, value in asdict(self).items()
        }


def make_status(config: LabConfig, *, running: bool, pid: int | None) -> LabStatus:
    paths = LabPaths(config.state_dir)
    provisioned = all(p.is_file() for p in (paths.smb_conf, paths.sam_ldb, paths.secret_file))
    return LabStatus(
        running=running,
        pid=pid,
        provisioned=provisioned,
        state_dir=config.state_dir,
        realm=config.realm,
        domain=config.domain,
        base_dn=base_dn(config.realm),
        ldap_url=f"ldaps://{config.host_ip}:{LDAPS_PORT}",
        ca_file=paths.ca_file,
        tls_name=f"{config.host_name}.{config.realm}".lower(),
        admin_username=f"Administrator@{config.realm}",
        credential_name=config.credential_name,
        secret_file=paths.secret_file,
        sysvol_path=paths.sysvol,
        data_share=DATA_SHARE,
        data_path=paths.data_dir,
        auth_audit_log=paths.auth_audit_log,
        dsdb_audit_log=paths.dsdb_audit_log,
        group_audit_log=paths.group_audit_log,
        samba_log=paths.samba_log,
        smb_conf=paths.smb_conf,
        krb5_overlay=paths.krb5_overlay,
        journal_key_file=paths.journal_key_file,
        journal_witness_file=paths.journal_witness_file,
    )
