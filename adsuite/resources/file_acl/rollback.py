"""Exact images of a folder's permissions, so ``adsuite rollback`` can put them back.

Every planned ``file_acl`` change journals, beside the words people read, the parts of
the security descriptor it writes as SDDL under ``sddl``: in ``before`` what the folder
held when the plan read it, in ``after`` what the change leaves (as planned; accounts
the run itself creates stand as placeholder SIDs, named in ``after.placeholders``). An
image holds exactly the parts written — ``O:`` the owner, ``D:`` the DACL with its
flags (``P``: protected) and every ACE, ``S:`` the SACL likewise (``S:`` alone: none) —
with SIDs spelled in full, so the text means the same on every file server.

Rollback (:func:`restore`) declares the folder as an image says, in a task only a
rollback can write (:class:`RollbackSpec`); :func:`plan_image` compares what file_acl
manages — owner, protection, explicit ACEs and audit entries — and writes back the
parts that differ exactly as the image has them, inherited ACEs included (on Windows,
Set-Acl recomputes those from the parent). A folder whose only difference is in its
inherited ACEs is therefore not rewritten. A folder the run created is left in place,
and a run journaled before images existed cannot be rolled back: both say why.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from adsuite.errors import DirectoryError, InputError
from adsuite.formats import sddl as sddlib
from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.security_descriptor import Acl, Control, SecurityDescriptor
from adsuite.resources.base import Action, Change, Desired
from adsuite.resources.file_acl import places
from adsuite.resources.file_acl import requests as io
from adsuite.resources.file_acl.spec import Spec
from adsuite.resources.file_acl.words import ace_key, explicit, same_aces, view

log = logging.getLogger(__name__)

KIND = "file_acl"
CREATED = (
    "left in place: the run created this folder, and adsuite does not delete folders "
    "(files may have been put in it since); remove it by hand if it is empty and unwanted"
)
UNREPRESENTABLE = (
    "cannot roll back: the folder's permissions held entries an exact image cannot carry "
    "(conditional or resource-attribute ACEs); `adsuite journal show --run RUN` shows them"
)
PREDATES = (
    "cannot roll back: this run predates exact file_acl images (its journal holds the "
    "permissions in words only); `adsuite journal show --run RUN` shows what they were"
)
DACL_BITS = (
    Control.SE_DACL_PRESENT
    | Control.SE_DACL_PROTECTED
    | Control.SE_DACL_AUTO_INHERITED
    | Control.SE_DACL_AUTO_INHERIT_REQ
)
SACL_BITS = (
    Control.SE_SACL_PRESENT
    | Control.SE_SACL_PROTECTED
    | Control.SE_SACL_AUTO_INHERITED
    | Control.SE_SACL_AUTO_INHERIT_REQ
)
Show = Callable[[str], str]


class Image(BaseModel):
    """The parts of a folder's descriptor, exactly (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    sddl: str
    names: dict[str, str] = {}  # placeholder SID -> account the run created

    @field_validator("sddl")
    @classmethod
    def _parts(cls, value: str) -> str:
        try:
            sd, parts = parse_image(value)
        except InputError as error:
            raise ValueError(error.message) from None
        if not parts or sd.group is not None:
            raise ValueError("an image holds an owner (O:), a DACL (D:) or a SACL (S:)")
        return value


class RollbackSpec(Spec):
    """A file_acl task as ``adsuite rollback`` writes it: the folder set to an image.

    No playbook can declare an ``image`` (a playbook's task is :class:`Spec`).
    """

    image: Image | None = None

    @model_validator(mode="after")
    def _image_alone(self) -> RollbackSpec:
        managed = [
            f for f in ("owner", "inherit", "access", "audit") if getattr(self, f) is not None
        ]
        if self.image is not None and (managed or self.key_data or self.check_tree):
            raise ValueError("a rollback's file_acl task sets an image and nothing else")
        return self


def image_text(sd: SecurityDescriptor, parts: int) -> str:
    """The *parts* (io.OWNER | io.DACL | io.SACL) of *sd* as an image's SDDL."""
    control = int(Control.SE_SELF_RELATIVE)
    dacl = sacl = None
    if parts & io.DACL:
        control |= (sd.control & DACL_BITS) | Control.SE_DACL_PRESENT
        dacl = sd.dacl
    if parts & io.SACL:
        control |= (sd.control & SACL_BITS) | Control.SE_SACL_PRESENT
        sacl = sd.sacl or Acl(sdlib.ACL_REVISION, ())
    owner = sd.owner if parts & io.OWNER else None
    return sddlib.to_sddl(SecurityDescriptor(1, control, owner, None, dacl, sacl))


def image_or_none(sd: SecurityDescriptor, parts: int) -> str | None:
    """:func:`image_text`, or None when the parts hold an entry SDDL has no form for
    (a callback or resource-attribute ACE): journaled so, rollback says why it cannot."""
    try:
        return image_text(sd, parts)
    except InputError as error:
        log.warning("no exact image of a folder's permissions: %s", error.message)
        return None


def parse_image(text: str) -> tuple[SecurityDescriptor, int]:
    """An image's descriptor and the parts it holds."""
    sd = sddlib.from_sddl(text)
    parts = io.OWNER if sd.owner is not None else 0
    parts |= io.DACL if sd.control & Control.SE_DACL_PRESENT else 0
    return sd, parts | (io.SACL if sd.control & Control.SE_SACL_PRESENT else 0)


def image_sids(image: Image) -> tuple[str, ...]:
    """The SIDs an image names, for the reader to look up (so plans can name them)."""
    sd, _ = parse_image(image.sddl)
    found = {sd.owner} if sd.owner else set()
    for acl in (sd.dacl, sd.sacl):
        found |= {ace.sid for ace in (acl.aces if acl else ())}
    return tuple(sorted(found - set(image.names)))


def differing(image: SecurityDescriptor, parts: int, live: SecurityDescriptor) -> int:
    """The parts whose managed state (owner, protection, explicit ACEs) differs."""
    out = io.OWNER if parts & io.OWNER and image.owner != live.owner else 0
    if parts & io.DACL and _dacl_view(image) != _dacl_view(live):
        out |= io.DACL
    if parts & io.SACL and not same_aces(_explicit(image.sacl), _explicit(live.sacl)):
        out |= io.SACL
    return out


def _explicit(acl: Acl | None) -> list[sdlib.Ace]:
    return explicit(acl.aces if acl else ())


def _dacl_view(sd: SecurityDescriptor) -> tuple[bool, list[tuple[int, int, int, str]]]:
    return bool(sd.control & Control.SE_DACL_PROTECTED), sorted(map(ace_key, _explicit(sd.dacl)))


def realised(
    sd: SecurityDescriptor, names: Mapping[str, str], sids: Mapping[str, str]
) -> tuple[SecurityDescriptor, list[str]]:
    """The image with each placeholder SID replaced by its account's; the accounts not found."""
    real = {p: sids[a.lower()] for p, a in names.items() if a.lower() in sids}

    def acl(found: Acl | None) -> Acl | None:
        if found is None:
            return None
        aces = (dataclasses.replace(a, sid=real.get(a.sid, a.sid)) for a in found.aces)
        return Acl(found.revision, tuple(aces))

    owner = real.get(sd.owner, sd.owner) if sd.owner else None
    missing = sorted(a for p, a in names.items() if p not in real)
    return SecurityDescriptor(1, sd.control, owner, None, acl(sd.dacl), acl(sd.sacl)), missing


def plan_image(
    item: Desired, state: io.FolderState, show: Show, sids: Mapping[str, str], base_dn: str
) -> list[Change]:
    """The change that sets the folder to its image (none if it already holds it)."""
    spec = item.spec
    assert isinstance(spec, RollbackSpec) and spec.image is not None
    image, parts = parse_image(spec.image.sddl)
    image, missing = realised(image, spec.image.names, sids)
    target, owner = places.name(spec), spec.data_owner.record()
    if state.descriptor is None:  # gone since: rollback finds it moved on (redo plans this too)
        after = {"data_owner": owner, **_side(image, parts, show)}
        build = exact(image, parts, missing)
        write = places.folder_write(spec, spec.path, base_dn, parts, build, create=True)
        expect = places.folder_expect(spec, spec.path, exists=False)
        return [Change(KIND, Action.CREATE, target, None, after, item.location, (write,), expect)]
    live = sdlib.parse(state.descriptor)
    parts = differing(image, parts, live)
    if not parts:
        return []
    before = {"data_owner": owner, **_side(live, parts, show, image)}
    after = {"data_owner": owner, **_side(image, parts, show, live)}
    write = places.folder_write(spec, spec.path, base_dn, parts, exact(image, parts, missing))
    fingerprint = io.fingerprint(state.descriptor, parts)
    expect = places.folder_expect(spec, spec.path, True, parts, fingerprint)
    return [Change(KIND, Action.UPDATE, target, before, after, item.location, (write,), expect)]


def _side(
    sd: SecurityDescriptor, parts: int, show: Show, other: SecurityDescriptor | None = None
) -> dict[str, Any]:
    """One side of the change: the parts in words (beside *other*: those that differ)
    and their exact image."""
    return {**_words(sd, parts, show, other), "sddl": image_or_none(sd, parts)}


def _words(
    sd: SecurityDescriptor, parts: int, show: Show, other: SecurityDescriptor | None = None
) -> dict[str, Any]:
    """The parts in words; beside *other*, only the words that differ from it."""
    mine = view(sd, show)
    keys = [k for k in ("owner", "inherit", "access", "audit") if _PART[k] & parts]
    if other is not None:
        theirs = view(other, show)
        keys = [k for k in keys if _differs(mine[k], theirs[k])] or keys
    return {k: mine[k] for k in keys}


_PART = {"owner": io.OWNER, "inherit": io.DACL, "access": io.DACL, "audit": io.SACL}


def _differs(mine: Any, theirs: Any) -> bool:
    if isinstance(mine, list) and isinstance(theirs, list):
        return sorted(mine) != sorted(theirs)
    return bool(mine != theirs)


def exact(
    image: SecurityDescriptor, parts: int, missing: list[str]
) -> Callable[[io.SdInputs], bytes]:
    """The pure edit that writes the image's *parts* over the live descriptor."""

    def build(inputs: io.SdInputs) -> bytes:
        if missing:
            raise DirectoryError(f"no account named {missing[0]!r} to put back in the permissions")
        cur = inputs.current
        control = int(Control.SE_SELF_RELATIVE)
        control |= _requested((image if parts & io.DACL else cur).control & DACL_BITS)
        control |= _requested((image if parts & io.SACL else cur).control & SACL_BITS)
        owner = image.owner if parts & io.OWNER else cur.owner
        dacl = image.dacl if parts & io.DACL else cur.dacl
        sacl = image.sacl if parts & io.SACL else cur.sacl
        return sdlib.to_bytes(SecurityDescriptor(1, control, owner, cur.group, dacl, sacl))

    return build


def _requested(control: int) -> int:
    """An auto-inherited ACL is written with its auto-inherit request: a server (Samba,
    like Windows) keeps the auto-inherited flag only when the write asks for it."""
    if control & Control.SE_DACL_AUTO_INHERITED:
        control |= Control.SE_DACL_AUTO_INHERIT_REQ
    if control & Control.SE_SACL_AUTO_INHERITED:
        control |= Control.SE_SACL_AUTO_INHERIT_REQ
    return control


def restore(target: str, view: Mapping[str, Any] | None, base_dn: str) -> dict[str, Any]:
    """A rollback's task for *target*: the folder as the journaled image *view* has it."""
    if view is None:
        raise ValueError(CREATED)
    if "sddl" not in view or "data_owner" not in view:
        raise ValueError(PREDATES)
    if view["sddl"] is None:
        raise ValueError(UNREPRESENTABLE)
    where = places.parse_name(target)
    image: dict[str, Any] = {"sddl": view["sddl"]}
    if view.get("placeholders"):
        image["names"] = dict(view["placeholders"])
    args = {
        "host": where.host,
        "path": where.path,
        "data_owner": dict(view["data_owner"]),
        "image": image,
    }
    return args if where.share is None else {**args, "share": where.share}
