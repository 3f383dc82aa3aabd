"""file_acl's exact images and rollback, without a server: what a change journals, the
task a rollback makes of it, and that undoing a planned write gives back exactly the
parts it wrote. Plans run through the real planner with the folders as data
(the harness of test_file_acl_plan.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest
from pydantic import ValidationError
from test_file_acl_plan import DOMAIN, account_entries, answer, descriptor

from adsuite.engine.planner import build_plan
from adsuite.formats import sddl
from adsuite.formats import security_descriptor as sdlib
from adsuite.resources.base import Change, Desired
from adsuite.resources.file_acl import file_acl
from adsuite.resources.file_acl.places import parse_name
from adsuite.resources.file_acl.requests import DACL, OWNER, SACL, FolderRead, FolderState, SdInputs
from adsuite.resources.file_acl.rollback import (
    CREATED,
    PREDATES,
    UNREPRESENTABLE,
    RollbackSpec,
    image_text,
    parse_image,
    restore,
)
from adsuite.resources.file_acl.spec import Spec
from adsuite.source import Location

BASE = "DC=group,DC=example,DC=com"
OWNER_ONE = {"department": "Finance", "head": "li.hua"}
BEFORE = (
    "O:S-1-5-21-1-2-3-2000G:DUD:AI(A;OICI;FA;;;S-1-5-21-1-2-3-2000)(A;OICIID;FA;;;BA)"
    "S:AI(AU;OICIIDSA;FA;;;WD)"
)
TASK: dict[str, Any] = {
    "host": "fs1",
    "share": "data",
    "path": "HQ/Finance",
    "data_owner": OWNER_ONE,
    "owner": "Administrators",
    "inherit": False,
    "access": [
        {"who": "Administrators", "rights": "full"},
        {"who": "HQ-Fin-RW", "rights": "modify"},
    ],
    "audit": [{"who": "Everyone", "rights": "delete"}],
}
ACCOUNTS = {"HQ-Fin-RW": "S-1-5-21-1-2-3-1104"}


def plan(spec: Spec, folder: bytes | None) -> list[Change]:
    """Plan one file_acl task against one folder (None: it does not exist)."""
    names = {"S-1-5-21-1-2-3-2000": "bob"}
    entries = account_entries(ACCOUNTS)
    desired = {"file_acl": [Desired(spec, Location("case.yml", 1), "task")]}

    def read(requests: Sequence[Any]) -> dict[Any, Any]:
        return {
            r: FolderState(folder, names) if isinstance(r, FolderRead) else answer(r, {}, entries)
            for r in requests
        }

    return list(build_plan("group", DOMAIN, desired, read).changes)


def apply(change: Change, folder: bytes, parent: bytes | None = None) -> bytes:
    """What the change's writer would leave: its pure build, on the folder as it is."""
    (write,) = change.writes
    above = sdlib.parse(parent) if parent else None
    built = write.build(SdInputs(sdlib.parse(folder), above, dict(ACCOUNTS)))
    return merge(folder, built, write.info)


def merge(folder: bytes, built: bytes, info: int) -> bytes:
    """A server setting only the parts *info* names (as SMB SET_INFO and Set-Acl do)."""
    old, new = sdlib.parse(folder), sdlib.parse(built)
    dacl_bits = sdlib.Control.SE_DACL_PROTECTED | 0x0504
    sacl_bits = sdlib.Control.SE_SACL_PROTECTED | 0x0A10
    control = sdlib.Control.SE_SELF_RELATIVE
    control |= (new if info & DACL else old).control & dacl_bits
    control |= (new if info & SACL else old).control & sacl_bits
    return sdlib.to_bytes(
        sdlib.SecurityDescriptor(
            1,
            control,
            (new if info & OWNER else old).owner,
            old.group,
            (new if info & DACL else old).dacl,
            (new if info & SACL else old).sacl,
        )
    )


def settled(raw: bytes) -> sdlib.SecurityDescriptor:
    """The descriptor without its auto-inherit *requests* (AR), which a write carries to
    ask the server to keep the auto-inherited flags (AI); servers differ in storing them."""
    sd = sdlib.parse(raw)
    requests = sdlib.Control.SE_DACL_AUTO_INHERIT_REQ | sdlib.Control.SE_SACL_AUTO_INHERIT_REQ
    return dataclasses.replace(sd, control=sd.control & ~requests)


def test_applying_then_undoing_gives_back_exactly_the_parts_the_change_wrote() -> None:
    before = descriptor(BEFORE)
    (change,) = plan(Spec.model_validate(TASK), before)
    assert change.before is not None and change.after is not None
    after = apply(change, before)
    assert image_text(sdlib.parse(after), OWNER | DACL | SACL) == change.after["sddl"]

    args = restore(change.target, change.before, BASE)
    (undo,) = plan(RollbackSpec.model_validate(args), after)
    assert undo.before is not None and undo.after is not None
    assert undo.after["sddl"] == change.before["sddl"] == image_text(sdlib.parse(before), 13)
    assert (undo.before["owner"], undo.after["owner"]) == ("Administrators", "GROUP\\bob")
    undone = apply(undo, after)
    assert settled(undone) == settled(before), sddl.to_sddl(sdlib.parse(undone))
    assert plan(RollbackSpec.model_validate(args), undone) == [], "a second undo plans nothing"


def test_redo_of_the_after_image_plans_nothing_until_the_folder_moves_on() -> None:
    before = descriptor(BEFORE)
    (change,) = plan(Spec.model_validate(TASK), before)
    after = apply(change, before)
    redo = RollbackSpec.model_validate(restore(change.target, change.after, BASE))
    assert plan(redo, after) == []
    moved = sdlib.parse(after)
    assert moved.dacl is not None
    extra = sdlib.Ace(0, 0x3, 0x1200A9, "S-1-5-21-1-2-3-2000")
    moved_on = sdlib.to_bytes(
        moved.with_dacl(sdlib.Acl(moved.dacl.revision, (*moved.dacl.aces, extra)))
    )
    (found,) = plan(redo, moved_on)
    assert found.target == "\\\\fs1\\data\\HQ\\Finance"


def test_placeholders_of_accounts_the_run_created_come_back_named() -> None:
    after = {
        "data_owner": OWNER_ONE,
        "sddl": "D:PARAI(A;OICI;FA;;;BA)(A;OICI;0x1301bf;;;S-1-0-1000)",
        "placeholders": {"S-1-0-1000": "HQ-Fin-RW"},
    }
    args = restore("\\\\fs1\\data\\HQ\\New", after, BASE)
    assert args["image"] == {"sddl": after["sddl"], "names": {"S-1-0-1000": "HQ-Fin-RW"}}
    folder = descriptor("O:BAD:PAI(A;OICI;FA;;;BA)(A;OICI;0x1301bf;;;S-1-5-21-1-2-3-1104)")
    assert plan(RollbackSpec.model_validate(args), folder) == []


@pytest.mark.parametrize(
    ("target", "args"),
    [
        ("\\\\fs1\\data\\HQ\\Finance", {"host": "fs1", "share": "data", "path": "HQ\\Finance"}),
        ("\\\\fs1\\data", {"host": "fs1", "share": "data", "path": ""}),
        ("fs01:D:\\Finance\\Ledger", {"host": "fs01", "path": "D:\\Finance\\Ledger"}),
    ],
)
def test_a_rollback_task_names_the_folder_the_change_named(
    target: str, args: dict[str, str]
) -> None:
    made = restore(target, {"data_owner": OWNER_ONE, "sddl": "D:P"}, BASE)
    assert made == {**args, "data_owner": OWNER_ONE, "image": {"sddl": "D:P"}}
    spec = RollbackSpec.model_validate(made)
    assert file_acl.unc(spec) == target


@pytest.mark.parametrize(
    ("view", "reason"),
    [
        (None, CREATED),
        ({"data_owner": OWNER_ONE, "access": ["Administrators: full"]}, PREDATES),
    ],
    ids=["created by the run", "journaled before images"],
)
def test_what_cannot_be_rolled_back_says_why(view: dict[str, Any] | None, reason: str) -> None:
    with pytest.raises(ValueError, match="^" + reason.split(":")[0]):
        restore("\\\\fs1\\data\\HQ\\X", view, BASE)


def test_a_folder_with_an_entry_sddl_cannot_carry_is_journaled_as_such_and_not_rolled_back() -> (
    None
):
    sd = sdlib.parse(descriptor("O:BAD:PAI(A;OICI;FA;;;BA)"))
    assert sd.dacl is not None
    callback = sdlib.Ace(0x09, 0x3, 0x1200A9, "S-1-1-0", application_data=b"artx\x00\x00\x00\x00")
    odd = sd.with_dacl(sdlib.Acl(sd.dacl.revision, (*sd.dacl.aces, callback)))
    task = {**TASK, "audit": None, "owner": None}
    (change,) = plan(Spec.model_validate(task), sdlib.to_bytes(odd))
    assert change.before is not None and change.before["sddl"] is None
    with pytest.raises(ValueError, match="^" + UNREPRESENTABLE.split(":")[0]):
        restore(change.target, change.before, BASE)


@pytest.mark.parametrize(
    "text",
    [
        "O:S-1-5-21-1-2-3-2000",
        "D:PAI(A;OICI;FA;;;BA)(A;OICIID;0x1200a9;;;S-1-5-21-1-2-3-1104)",
        "D:NO_ACCESS_CONTROL",
        "S:",
        "O:BAD:ARAI(D;;SD;;;WD)(A;OICI;FA;;;SY)S:PAI(AU;CISA;WDWO;;;WD)",
    ],
)
def test_an_image_reads_back_to_the_same_text_and_parts(text: str) -> None:
    sd, parts = parse_image(text)
    assert image_text(sd, parts) == text


def test_an_image_of_a_folder_without_a_sacl_says_it_has_no_audit_rules() -> None:
    sd = sdlib.parse(descriptor("O:BAD:PAI(A;OICI;FA;;;BA)"))
    assert image_text(sd, SACL) == "S:"
    assert image_text(sd, OWNER | DACL) == "O:BAD:PAI(A;OICI;FA;;;BA)"


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"image": {"sddl": "D:P"}, "access": []}, "sets an image and nothing else"),
        ({"image": {"sddl": "G:BA"}}, "holds an owner"),
        ({"image": {"sddl": "D:(Z;;;;;)"}}, "unknown ACE type"),
    ],
)
def test_a_rollback_task_is_an_image_alone(extra: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        RollbackSpec.model_validate({"host": "fs1", "share": "d", "data_owner": OWNER_ONE, **extra})


def test_no_playbook_can_declare_an_image() -> None:
    with pytest.raises(ValidationError, match="image"):
        Spec.model_validate({"host": "fs1", "share": "d", "data_owner": OWNER_ONE, "image": {}})


@pytest.mark.parametrize(
    ("where", "path"),
    [
        ({"path": "d:/Finance/Ledger"}, "D:\\Finance\\Ledger"),
        ({"path": "E:\\Data\\"}, "E:\\Data"),
        ({"share": "data", "path": "/HQ/Finance/"}, "HQ\\Finance"),
    ],
)
def test_a_folder_is_a_share_path_or_a_local_path_of_the_host(
    where: dict[str, str], path: str
) -> None:
    spec = Spec.model_validate({"host": "fs01", "data_owner": OWNER_ONE, **where})
    assert (spec.path, spec.local) == (path, "share" not in where)


@pytest.mark.parametrize(
    ("where", "words"),
    [
        ({"path": "Finance\\Ledger"}, "must be a local path of the host"),
        ({"path": "D:\\"}, "is a whole drive"),
        ({}, "name the folder"),
        ({"path": "D:\\a\\..\\b"}, "is not a folder name"),
    ],
)
def test_a_path_without_a_share_must_be_a_folder_on_a_drive(
    where: dict[str, str], words: str
) -> None:
    with pytest.raises(ValidationError, match=words):
        Spec.model_validate({"host": "fs01", "data_owner": OWNER_ONE, **where})


def test_a_name_that_is_no_folder_is_refused() -> None:
    for bad in ("fs1", "\\\\fs1", "host:"):
        with pytest.raises(ValueError, match="does not name a folder"):
            parse_name(bad)
