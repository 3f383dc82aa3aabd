"""A FAKE Windows host's folders and their security descriptors, in memory, answering
adsuite's folder scripts (get_folder_security, new_folder, set_folder_security) as
canned twins of the FAKE WinRM endpoint.

The twins compute from the parameters the scripts receive, so an apply followed by a
read round-trips: a test can plan, apply, re-plan and roll back against it. What it
acts out is what the scripts' comments say Windows does — a new folder inherits from
its parent; Set-Acl replaces the named sections; an unprotected DACL's inherited ACEs
are recomputed from the parent (here with adsuite's own inheritance rules, checked
against Samba, not Windows) — but nothing of Windows runs: it proves the protocol, the
parameters, the batching and the parsing, not what PowerShell or NTFS would do. It does
not propagate a changed DACL to existing subfolders, which Windows does.
"""

from __future__ import annotations

import base64
import dataclasses
import ntpath
from typing import Any

from adsuite.formats import sddl
from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.security_descriptor import Acl, Control, SecurityDescriptor
from adsuite.resources.file_acl.rights import inherited_aces
from fakes.fake_winrm_canned import CannedScript

DRIVE_ROOT = "O:BAG:SYD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICI;0x1200a9;;;BU)S:"
SACL_BITS = Control.SE_SACL_PRESENT | Control.SE_SACL_PROTECTED | Control.SE_SACL_AUTO_INHERITED
DACL_BITS = Control.SE_DACL_PRESENT | Control.SE_DACL_PROTECTED | Control.SE_DACL_AUTO_INHERITED


class FakeFolders:
    """Folders by path (case-insensitive, as on Windows), each with its descriptor."""

    def __init__(self, drives: tuple[str, ...] = ("C:", "D:")) -> None:
        root = sddl.from_sddl(DRIVE_ROOT)
        self.folders: dict[str, tuple[str, SecurityDescriptor]] = {
            f"{d}\\".lower(): (f"{d}\\", root) for d in drives
        }

    def twins(self) -> dict[str, CannedScript]:
        return {
            "get_folder_security": CannedScript(output=self.get_folder_security),
            "new_folder": CannedScript(output=self.new_folder),
            "set_folder_security": CannedScript(output=self.set_folder_security),
        }

    # --- the model --------------------------------------------------------------

    def exists(self, path: str) -> bool:
        return _key(path) in self.folders

    def descriptor(self, path: str) -> SecurityDescriptor:
        return self.folders[_key(path)][1]

    def put(self, path: str, sd: SecurityDescriptor) -> None:
        self.folders[_key(path)] = (self.folders.get(_key(path), (path, sd))[0], sd)

    def create(self, path: str) -> bool:
        if self.exists(path):
            return False
        parent = ntpath.dirname(path)
        self.create(parent)
        above = self.descriptor(parent)
        self.folders[_key(path)] = (path, _child_of(above))
        return True

    def children(self, path: str) -> list[str]:
        prefix = _key(path).rstrip("\\") + "\\"
        return sorted(
            shown[len(prefix) :]
            for key, (shown, _) in self.folders.items()
            if key.startswith(prefix) and "\\" not in key[len(prefix) :] and key != prefix
        )

    # --- the twins --------------------------------------------------------------

    def get_folder_security(self, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        audit, below = bool(parameters.get("Audit", True)), bool(parameters.get("Subfolders"))
        out = []
        for path in parameters["Paths"]:
            found: dict[str, Any] = {"Path": path, "Exists": self.exists(path)}
            found.update(Descriptor=None, Subfolders=[], Error=None)
            if found["Exists"]:
                sd = self.descriptor(path)
                if not audit:
                    sd = dataclasses.replace(sd, sacl=None, control=sd.control & ~SACL_BITS)
                found["Descriptor"] = base64.b64encode(sdlib.to_bytes(sd)).decode("ascii")
                found["Subfolders"] = self.children(path) if below else []
            out.append(found)
        return out

    def new_folder(self, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"Path": parameters["Path"], "Created": self.create(parameters["Path"])}]

    def set_folder_security(self, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        path, sections = parameters["Path"], set(parameters["Sections"])
        given, sd = sddl.from_sddl(parameters["Sddl"]), self.descriptor(parameters["Path"])
        if "Owner" in sections:
            sd = dataclasses.replace(sd, owner=given.owner)
        if "Access" in sections:
            sd = self._with_dacl(path, sd, given)
        if "Audit" in sections:
            control = (sd.control & ~SACL_BITS) | (given.control & SACL_BITS)
            sd = dataclasses.replace(sd, sacl=given.sacl, control=control)
        self.put(path, sd)
        return [{"Path": path, "Descriptor": base64.b64encode(sdlib.to_bytes(sd)).decode()}]

    def _with_dacl(
        self, path: str, sd: SecurityDescriptor, given: SecurityDescriptor
    ) -> SecurityDescriptor:
        control = (sd.control & ~DACL_BITS) | (given.control & DACL_BITS)
        explicit = [a for a in (given.dacl.aces if given.dacl else ()) if not a.is_inherited]
        inherited: list[sdlib.Ace] = []
        if not given.control & Control.SE_DACL_PROTECTED:
            above = self.descriptor(ntpath.dirname(path)).dacl
            inherited = inherited_aces(above.aces if above else (), sd.owner, sd.group)
        dacl = Acl(sdlib.ACL_REVISION, (*explicit, *inherited))
        return dataclasses.replace(sd, dacl=dacl, control=control)


def _key(path: str) -> str:
    return path.lower() if path.endswith(":\\") else path.rstrip("\\").lower()


def _child_of(parent: SecurityDescriptor) -> SecurityDescriptor:
    dacl = inherited_aces(parent.dacl.aces if parent.dacl else (), "S-1-5-32-544", "S-1-5-18")
    control = Control.SE_SELF_RELATIVE | Control.SE_DACL_PRESENT | Control.SE_DACL_AUTO_INHERITED
    return SecurityDescriptor(
        1,
        control | Control.SE_SACL_PRESENT,
        "S-1-5-32-544",
        "S-1-5-18",
        Acl(sdlib.ACL_REVISION, tuple(dacl)),
        Acl(sdlib.ACL_REVISION, ()),
    )
