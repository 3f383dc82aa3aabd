"""A lab service account that signs in with a keytab: no password anyone knows.

``service_keytab`` creates the account with ``samba-tool user create --random-password``
(the password is never printed or stored) and exports its keys with ``samba-tool domain
exportkeytab``, into a file only its owner may read. It works on the lab's sam.ldb
directly, as root, so no admin password is involved. ``kerberos_config`` names the
krb5.conf files a client of the lab reads (the lab's overlay names the KDC; Samba's own
file asks DNS for it).
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

from adsuite.errors import LabError
from adsuite.lab.config import LabPaths
from adsuite.lab.process import find_tool

log = logging.getLogger(__name__)

TIMEOUT = 60.0


def kerberos_config(state_dir: Path) -> tuple[Path, Path]:
    """The lab's krb5.conf files in KRB5_CONFIG order: the overlay first."""
    paths = LabPaths(state_dir)
    return paths.krb5_overlay, paths.krb5_conf


def service_keytab(state_dir: Path, account: str, keytab: Path, realm: str) -> Path:
    """*account* (created when missing) with its keys in *keytab* (0600, replaced)."""
    paths = LabPaths(state_dir)
    local = ["-s", str(paths.smb_conf)]
    created = _samba_tool(
        ["user", "create", account, "--random-password", *local, "-H", str(paths.sam_ldb)],
        allow="already exists",
    )
    log.info("lab service account %s %s", account, "created" if created else "already there")
    keytab.unlink(missing_ok=True)  # exportkeytab appends to an existing file
    keytab.parent.mkdir(parents=True, exist_ok=True)
    old_mask = os.umask(0o077)
    try:
        _samba_tool(
            ["domain", "exportkeytab", str(keytab), f"--principal={account}@{realm}", *local]
        )
    finally:
        os.umask(old_mask)
    keytab.chmod(0o600)
    return keytab


def _samba_tool(args: list[str], allow: str | None = None) -> bool:
    """Run samba-tool; False when it failed with the *allow* words, one line otherwise."""
    command = [find_tool("samba-tool"), *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise LabError(f"samba-tool {args[0]} {args[1]} took over {TIMEOUT:.0f} s") from None
    if done.returncode == 0:
        return True
    output = (done.stdout + done.stderr).strip()
    if allow is not None and allow in output:
        return False
    last = output.splitlines()[-1] if output else "no output"
    raise LabError(f"samba-tool {args[0]} {args[1]} failed: {last[:200]}")
