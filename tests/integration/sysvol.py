"""Samba's own tools and parsers as witnesses of the GPOs adsuite writes: ``samba-tool
gpo listall`` / ``getlink`` and ``ntacl sysvolcheck`` against the lab's sam.ldb, the
GPT files as Samba stores them on disk, and ``smbclient`` for edits made outside adsuite."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from labkit import Lab

from adsuite.connectors.ldap import Directory
from adsuite.formats.ldap_query import Query

BASE = "DC=group,DC=example,DC=com"


@dataclass(frozen=True)
class Gpc:
    guid: str
    version: int
    machine_extensions: str | None
    user_extensions: str | None


def samba_tool(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    status = lab.status
    command = ["samba-tool", *args, "-s", str(status.smb_conf)]
    if args[0] == "gpo":
        command += ["-H", str(status.state_dir / "private" / "sam.ldb")]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def gpc(directory: Directory, name: str) -> Gpc:
    """The container of the GPO named *name* (exactly one)."""
    attributes = ("cn", "versionNumber", "gPCMachineExtensionNames", "gPCUserExtensionNames")
    query = Query(f"CN=Policies,CN=System,{BASE}", f"(displayName={name})", attributes, "one")
    (entry,) = list(directory.search(query))
    return Gpc(
        entry.text("cn") or "",
        entry.integer("versionNumber") or 0,
        entry.text("gPCMachineExtensionNames"),
        entry.text("gPCUserExtensionNames"),
    )


def gpt_file(lab: Lab, guid: str, relative: str) -> Path:
    """A GPT file as Samba stores it; folder names matched without case, as SMB does."""
    here = Path(lab.status.sysvol_path) / lab.status.realm.lower() / "Policies" / guid
    for part in relative.replace("\\", "/").split("/"):
        matches = (
            [p for p in here.iterdir() if p.name.lower() == part.lower()] if here.is_dir() else []
        )
        here = matches[0] if matches else here / part
    return here


def smbclient_put(lab: Lab, authfile: Path, local: Path, remote: str) -> None:
    """Replace a SYSVOL file with Samba's own client, as an administrator editing by hand."""
    done = subprocess.run(
        ["smbclient", "//127.0.0.1/sysvol", "-A", str(authfile), "-c", f'put "{local}" "{remote}"'],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
