"""Pure text edits of the lab's generated smb.conf and its Kerberos overlay.

``patch_smb_conf`` sets options section by section and is idempotent: applying the same
patch twice gives the same text, so ``lab up`` can re-apply it on every start.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from adsuite.lab.config import DATA_SHARE, LabConfig, LabPaths

log = logging.getLogger(__name__)

SectionOptions = Mapping[str, Mapping[str, str]]

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_OPTION = re.compile(r"^\s*([^=#;\[]+?)\s*=")


def lab_smb_conf_options(paths: LabPaths) -> dict[str, dict[str, str]]:
    """The options the lab adds: JSON audit logs, private run/log dirs, the data share."""
    audit = (
        f"1 auth_json_audit:3@{paths.auth_audit_log}"
        f" dsdb_json_audit:5@{paths.dsdb_audit_log}"
        f" dsdb_group_json_audit:5@{paths.group_audit_log}"
    )
    # "winbindd socket directory" stays at its default: smbd reaches winbindd through
    # libwbclient, which only knows the compiled-in /run/samba/winbindd; moving it
    # makes every SMB session setup fail with NT_STATUS_INTERNAL_ERROR.
    return {
        "global": {
            "log level": audit,
            "log file": str(paths.samba_log),
            "pid directory": str(paths.run_dir),
            "ncalrpc dir": str(paths.run_dir / "ncalrpc"),
            "ntp signd socket directory": str(paths.run_dir / "ntp_signd"),
        },
        DATA_SHARE: {"path": str(paths.data_dir), "read only": "No"},
    }


def patch_smb_conf(text: str, sections: SectionOptions) -> str:
    """Set each option in its section; add missing options and sections at their end."""
    lines = text.splitlines()
    for section, options in sections.items():
        lines = _set_section_options(lines, section, options)
    return "\n".join(lines) + "\n"


def krb5_overlay_text(config: LabConfig) -> str:
    """A krb5.conf fragment naming the lab KDC: Samba's generated file asks DNS for it."""
    return f"[realms]\n\t{config.realm} = {{\n\t\tkdc = {config.host_ip}\n\t}}\n"


def _normalise(key: str) -> str:
    # Samba compares parameter names ignoring case and whitespace.
    return "".join(key.split()).lower()


def _option_key(line: str) -> str | None:
    match = _OPTION.match(line)
    return _normalise(match.group(1)) if match else None


def _section_bounds(lines: list[str], section: str) -> tuple[int, int] | None:
    start: int | None = None
    for index, line in enumerate(lines):
        match = _SECTION.match(line)
        if match is None:
            continue
        if start is not None:
            return start, index
        if _normalise(match.group(1)) == _normalise(section):
            start = index
    return None if start is None else (start, len(lines))


def _set_section_options(lines: list[str], section: str, options: Mapping[str, str]) -> list[str]:
    bounds = _section_bounds(lines, section)
    if bounds is None:
        while lines and not lines[-1].strip():
            lines = lines[:-1]
        block = [f"\t{key} = {value}" for key, value in options.items()]
        return [*lines, "", f"[{section}]", *block]
    start, end = bounds
    wanted = {_normalise(key): (key, value) for key, value in options.items()}
    found: set[str] = set()
    body: list[str] = []
    for line in lines[start + 1 : end]:
        key = _option_key(line)
        if key is not None and key in wanted:
            found.add(key)
            name, value = wanted[key]
            line = f"\t{name} = {value}"
        body.append(line)
    missing = [f"\t{name} = {value}" for key, (name, value) in wanted.items() if key not in found]
    insert_at = len(body)
    while insert_at > 0 and not body[insert_at - 1].strip():
        insert_at -= 1
    body[insert_at:insert_at] = missing
    return [*lines[: start + 1], *body, *lines[end:]]
