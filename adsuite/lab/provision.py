"""Provision the lab domain into its state folder and lay out the files Samba needs.

``provision`` runs ``samba-tool domain provision`` once; ``configure`` re-applies the
lab's smb.conf options and the Kerberos overlay on every start (both idempotent).
The admin password reaches samba-tool only through the 0600 secret file.
"""

from __future__ import annotations

import logging
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from adsuite.errors import LabError
from adsuite.lab.config import FIRST_DC_IP, LabConfig, LabPaths
from adsuite.lab.namespace import resolv_conf_text
from adsuite.lab.secret import (
    ensure_journal_key,
    generate_password,
    read_secret,
    write_secret,
)
from adsuite.lab.smbconf import krb5_overlay_text, lab_smb_conf_options, patch_smb_conf

log = logging.getLogger(__name__)

PROVISION_TIMEOUT = 600.0
_WRAPPER = Path(__file__).with_name("samba_tool_wrapper.py")
_ERROR_CLASS = re.compile(r"^ERROR\(<class '[^']*'>\):")


def provision_args(config: LabConfig) -> list[str]:
    """samba-tool's arguments, without the password (the wrapper appends it)."""
    return [
        "domain",
        "provision",
        f"--targetdir={config.state_dir}",
        f"--realm={config.realm}",
        f"--domain={config.domain}",
        "--server-role=dc",
        "--dns-backend=SAMBA_INTERNAL",
        f"--host-name={config.host_name}",
        f"--host-ip={config.host_ip}",
        "--option=interfaces=lo",
        "--option=bind interfaces only=yes",
        "--use-rfc2307",
    ]


def provision(config: LabConfig, samba_tool: str) -> None:
    """Create the domain. On failure the half-made state folder is removed again."""
    paths = LabPaths(config.state_dir)
    _require_empty(config.state_dir)
    write_secret(paths.secret_file, generate_password())
    try:
        run_samba_tool(samba_tool, paths.secret_file, "--adminpass", provision_args(config))
    except BaseException:
        _clear(config.state_dir)
        raise


def configure(config: LabConfig) -> None:
    """Patch smb.conf, write the Kerberos overlay, create the data share and log folders,
    and the journal MAC key."""
    paths = LabPaths(config.state_dir)
    text = paths.smb_conf.read_text(encoding="utf-8")
    patched = patch_smb_conf(text, lab_smb_conf_options(paths))
    if patched != text:
        paths.smb_conf.write_text(patched, encoding="utf-8")
        log.info("patched %s", paths.smb_conf)
    paths.krb5_overlay.write_text(krb5_overlay_text(config), encoding="utf-8")
    nameservers = dict.fromkeys([FIRST_DC_IP, config.host_ip])
    paths.resolv_conf.write_text(resolv_conf_text(config.realm, list(nameservers)), "utf-8")
    for folder in (paths.data_dir, paths.log_dir):
        folder.mkdir(mode=0o755, exist_ok=True)
    ensure_journal_key(paths.journal_key_file)


def _require_empty(state_dir: Path) -> None:
    if state_dir.exists() and any(state_dir.iterdir()):
        raise LabError(
            f"{state_dir} is not empty but holds no complete lab",
            hint="remove it, or pick another folder with --state-dir",
        )


def _clear(state_dir: Path) -> None:
    for child in state_dir.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def run_samba_tool(
    samba_tool: str,
    secret_file: Path,
    option: str,
    args: list[str],
    wrap: Callable[[list[str]], list[str]] | None = None,
) -> str:
    """Run samba-tool with the password from *secret_file* as *option*; return its output.

    *wrap* puts the command into another context (a DC's own mount namespace)."""
    # -I: without it the wrapper's folder, which holds our samba.py, would shadow Samba's.
    command = [*_interpreter(samba_tool), "-I", str(_WRAPPER), samba_tool, str(secret_file)]
    command += [option, *args]
    if wrap is not None:
        command = wrap(command)
    log.info("running %s", shlex.join(["samba-tool", *args]))
    try:
        result = subprocess.run(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=PROVISION_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise LabError(
            f"samba-tool {args[0]} {args[1]} took over {PROVISION_TIMEOUT:.0f} s"
        ) from None
    output = result.stdout.replace(read_secret(secret_file), "********")
    log.debug("samba-tool output:\n%s", output)
    if result.returncode != 0:
        raise LabError(
            f"samba-tool {args[0]} {args[1]} failed: {last_meaningful_line(output)}",
            hint="`adsuite -vv lab up` shows samba-tool's full output",
        )
    return output


def _interpreter(script: str) -> list[str]:
    """samba-tool's own interpreter (from its #! line): Samba's bindings live only there."""
    with open(script, encoding="utf-8", errors="replace") as handle:
        first = handle.readline()
    return shlex.split(first[2:]) if first.startswith("#!") else ["/usr/bin/python3"]


def last_meaningful_line(output: str) -> str:
    """samba-tool's ``ERROR...`` line if it printed one, else its last non-blank line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    if errors:
        return _ERROR_CLASS.sub("ERROR:", errors[-1], count=1)
    return lines[-1] if lines else "samba-tool printed nothing"
