"""Run samba-tool for backups and restores, the password through a pipe, never argv.

With a Kerberos ticket instead, samba-tool gets ``--use-kerberos=required`` and
``KRB5CCNAME`` naming a private copy of the ticket (connectors/kerberos_ccache.py).

Samba's credential code reads ``PASSWD_FD`` (a file descriptor to read the password
from) when ``-U`` names no password; a pipe the child inherits carries it, so the
password is in no command line (``/proc/<pid>/cmdline``), no environment and no file.
samba-tool reads the descriptor once per credentials object and prints "Error reading
password from file descriptor" when a second one finds the pipe drained: harmless, the
first one already holds the password.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence

from adsuite.connectors import kerberos_ccache
from adsuite.connectors.credentials import Login, Secret
from adsuite.connectors.kerberos import Ticket
from adsuite.errors import RecoveryError
from adsuite.lab.process import find_tool
from adsuite.lab.provision import last_meaningful_line

log = logging.getLogger(__name__)

TIMEOUT = 3600.0  # a large domain's backup takes minutes; an hour means it hangs
_SCRUBBED = ("PASSWD", "PASSWD_FD", "PASSWD_FILE", "KRB5CCNAME")


def run(
    args: Sequence[str],
    *,
    password: Login | None = None,
    username: str = "",
    prefix: Sequence[str] = (),
    timeout: float = TIMEOUT,
) -> str:
    """Run ``samba-tool ARGS`` (after *prefix*, e.g. ``unshare -n``); return its output.

    Signed in as *username* with *password* (a pipe), or with a Kerberos ticket
    (``--use-kerberos=required`` and a private ccache, kerberos_ccache.py).
    RecoveryError naming samba-tool's own error line when it fails.
    """
    if isinstance(password, Ticket):
        with kerberos_ccache.private_ccache(password) as cache:
            return _run([*args, "--use-kerberos=required"], None, cache, prefix, timeout)
    sign_in = ["-U", username] if password is not None else []
    return _run([*args, *sign_in], password, {}, prefix, timeout)


def _run(
    args: Sequence[str],
    password: Secret | None,
    extra_env: Mapping[str, str],
    prefix: Sequence[str],
    timeout: float,
) -> str:
    command = [*prefix, find_tool("samba-tool"), *args]
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED} | dict(extra_env)
    passed: tuple[int, ...] = ()
    if password is not None:
        passed = (_password_pipe(password),)
        env["PASSWD_FD"] = str(passed[0])
    log.info("running %s", shlex.join(["samba-tool", *args]))
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            pass_fds=passed,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RecoveryError(f"samba-tool {args[0]} {args[1]} took over {timeout:.0f} s") from None
    finally:
        for fd in passed:
            os.close(fd)
    output = done.stdout if password is None else done.stdout.replace(password.reveal(), "***")
    log.debug("samba-tool output:\n%s", output)
    if done.returncode != 0:
        raise RecoveryError(
            f"samba-tool {' '.join(args[:3])} failed: {last_meaningful_line(output)}",
            hint="`adsuite -vv ...` shows samba-tool's full output",
        )
    return output


def _password_pipe(password: Secret) -> int:
    """The read end of a pipe that holds the password and is closed for writing."""
    data = password.reveal().encode("utf-8")
    read_end, write_end = os.pipe()
    try:
        if len(data) >= 65536 or os.write(write_end, data) != len(data):
            raise RecoveryError("the password does not fit in a pipe")
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    return read_end
