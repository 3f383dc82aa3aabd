"""Helpers for tests against the lab's [data] share: an inventory with host fs1, and
Samba's own client tools (smbcacls, smbclient) as the independent witnesses."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from labkit import Lab

from adsuite.formats import sddl
from adsuite.formats.security_descriptor import SecurityDescriptor


@dataclass(frozen=True)
class Share:
    lab: Lab
    inventory: Path
    authfile: Path  # Administrator's credentials for smbcacls / smbclient, mode 0600

    @property
    def address(self) -> str:
        return urlsplit(self.lab.status.ldap_url).hostname or "127.0.0.1"

    @property
    def unc(self) -> str:
        return f"//{self.address}/{self.lab.status.data_share}"

    def smbcacls(self, path: str, *args: str, authfile: Path | None = None) -> str:
        done = subprocess.run(
            [
                "smbcacls",
                self.unc,
                path.replace("\\", "/"),
                "-A",
                str(authfile or self.authfile),
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def descriptor(self, path: str, domain_sid: str) -> SecurityDescriptor:
        """The folder's owner, group, DACL and SACL as smbcacls reads them."""
        text = self.smbcacls(path, "--sddl", "--query-security-info=15").strip()
        return sddl.from_sddl(text, domain_sid)

    def smbclient(self, authfile: Path, command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["smbclient", self.unc, "-A", str(authfile), "-c", command],
            capture_output=True,
            text=True,
            timeout=60,
        )


def write_authfile(path: Path, username: str, password: str, domain: str = "GROUP") -> Path:
    path.write_text(
        f"username={username}\npassword={password}\ndomain={domain}\n", encoding="utf-8"
    )
    path.chmod(0o600)
    return path


def make_share(lab: Lab, folder: Path) -> Share:
    """An inventory like the lab's with host fs1 serving the [data] share."""
    address = urlsplit(lab.status.ldap_url).hostname or "127.0.0.1"
    text = lab.inventory.read_text(encoding="utf-8")
    text += (
        f"hosts:\n  fs1:\n    address: {address}\n    smb: {{port: 445, credential: lab-admin}}\n"
    )
    inventory = folder / "lab-fs.yml"
    inventory.write_text(text, encoding="utf-8")
    password = Path(lab.status.secret_file).read_text(encoding="utf-8").strip()
    user = lab.status.admin_username.split("@")[0]
    return Share(lab, inventory, write_authfile(folder / "admin.auth", user, password))
