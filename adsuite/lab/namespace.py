"""Run a lab DC's processes in a mount namespace of their own.

Each DC gets a private tmpfs ``/run/samba`` (smbd finds winbindd only at the compiled-in
``/run/samba/winbindd``, so two DCs on one machine must not share it) and its own
``/etc/resolv.conf`` bind-mounted over the host's, naming the lab DCs' internal DNS
servers: Samba resolves its replication partners as ``<DSA guid>._msdcs.<forest>`` and
finds their KDC through DNS. ``unshare --propagation private`` keeps these mounts from
leaking back; the daemon stays in the namespace for its life.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

# Paths reach the shell as positional parameters, never pasted into the script text.
_SETUP = (
    'resolv="$1"; shift; '
    "mkdir -p /run/samba && mount -t tmpfs none /run/samba && "
    'mount --bind "$resolv" /etc/resolv.conf && exec "$@"'
)


def in_private_mounts(command: Sequence[str], resolv_conf: Path) -> list[str]:
    """*command* wrapped so it runs with a private /run/samba and *resolv_conf*."""
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        _SETUP,
        "sh",
        str(resolv_conf),
        *command,
    ]


def resolv_conf_text(realm: str, nameservers: Sequence[str]) -> str:
    """A resolv.conf naming the lab DCs' DNS servers, DC1 first."""
    lines = [f"nameserver {ip}" for ip in nameservers]
    return "\n".join([*lines, f"search {realm.lower()}", "options timeout:1 attempts:1", ""])
