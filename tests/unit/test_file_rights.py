"""Rights in words ↔ masks, applies-to flags, inheritance, drift words and the approver."""

from __future__ import annotations

from pathlib import Path

import pytest

from adsuite.engine.loader import load_playbook
from adsuite.errors import InputError
from adsuite.formats import sddl
from adsuite.resources import registry
from adsuite.resources.base import Action, Change
from adsuite.resources.file_acl import file_acl
from adsuite.resources.file_acl import rights as file_rights
from adsuite.resources.file_acl.data_owner import DataOwner, approver_for
from adsuite.resources.file_acl.spec import normal_path
from adsuite.runtime.inventory import load_inventory


@pytest.mark.parametrize(
    ("words", "mask"),
    [
        (["full"], 0x1F01FF),
        (["modify"], 0x1301BF),
        (["read_execute"], 0x1200A9),
        (["read"], 0x120089),
        (["write"], 0x100116),
        (["change_permissions", "take_ownership", "delete"], 0xD0000),
        (["read", "write"], 0x12019F),
        (["traverse"], 0x20),
    ],
)
def test_rights_words_spell_the_windows_masks(words: list[str], mask: int) -> None:
    assert file_rights.words_mask(words) == mask


@pytest.mark.parametrize(
    "mask", [0x1F01FF, 0x1301BF, 0x12019F, 0x1200A9 | 0x40, 0xD0000, 0x1, 0x2000000]
)
def test_every_mask_reads_back_as_words_that_make_the_same_mask(mask: int) -> None:
    words = file_rights.mask_words(mask)
    leftover = [w for w in words if w.startswith("0x")]
    assert (
        file_rights.words_mask([w for w in words if w not in leftover])
        | sum(int(w, 16) for w in leftover)
        == mask
    )


def test_list_is_read_execute_on_this_folder_and_subfolders_only() -> None:
    assert file_rights.mask_words(0x1200A9, file_rights.CI) == ["list"]
    assert file_rights.mask_words(0x1200A9, file_rights.OI | file_rights.CI) == ["read_execute"]
    assert file_rights.default_applies_to(["list"]) == "this_folder_subfolders"


def test_file_side_aliases_name_the_same_bits() -> None:
    assert file_rights.word_mask("read_data") == file_rights.word_mask("list_folder") == 0x1
    assert file_rights.word_mask("write_dac") == file_rights.word_mask("change_permissions")


def test_an_unknown_right_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown right 'fullcontrol'.*basic: full, modify"):
        file_rights.word_mask("fullcontrol")


def test_creator_owner_becomes_the_owner_and_an_inherit_only_copy() -> None:
    parent = sddl.from_sddl("D:(A;OICIIO;GA;;;CO)(A;OINP;FR;;;AU)(A;CINP;FR;;;SY)")
    assert parent.dacl is not None
    child = file_rights.inherited_aces(parent.dacl.aces, "S-1-5-32-544", None)
    text = sddl.to_sddl(parent.with_dacl(parent.dacl.__class__(2, tuple(child))))
    assert text == "D:(A;ID;FA;;;BA)(A;OICIIOID;GA;;;CO)(A;ID;FR;;;SY)"


@pytest.mark.parametrize(
    ("given", "normal"),
    [("HQ/Finance", "HQ\\Finance"), ("\\HQ\\Finance\\", "HQ\\Finance"), ("", ""), ("财务", "财务")],
)
def test_folder_paths_are_normalised_to_backslashes(given: str, normal: str) -> None:
    assert normal_path(given) == normal


@pytest.mark.parametrize("bad", ["HQ/../etc", "HQ//Finance", "HQ/a:b", "HQ/trailing. "])
def test_bad_folder_paths_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="bad folder path"):
        normal_path(bad)


def change(before: dict[str, object] | None, after: dict[str, object]) -> Change:
    return Change(
        "file_acl", Action.UPDATE, r"\\fs1\data\HQ\Finance", before, after, None, (), None
    )


OWNER = {"department": "Finance", "head": "li.hua"}


def test_drift_names_the_added_ace_and_who_would_have_approved_it() -> None:
    found = change(
        {"data_owner": OWNER, "access": ["HQ-Finance-RW: modify", r"GROUP\bob: full"]},
        {"data_owner": OWNER, "access": ["HQ-Finance-RW: modify"]},
    )
    assert file_acl.describe(found, drift=True) == [
        r"added outside adsuite: GROUP\bob has 'full' on \\fs1\data\HQ\Finance"
        " — would have needed approval by li.hua (Finance)"
    ]


def test_drift_names_a_removed_ace_too() -> None:
    found = change(
        {"data_owner": OWNER, "access": []}, {"data_owner": OWNER, "access": ["X: read"]}
    )
    assert file_acl.describe(found, drift=True) == [
        r"removed outside adsuite: X should have 'read' on \\fs1\data\HQ\Finance"
        " — would have needed approval by li.hua (Finance)"
    ]


def test_the_approver_of_a_file_acl_change_is_the_data_owners_head() -> None:
    approval = approver_for(change({"data_owner": OWNER}, {"data_owner": OWNER}))
    assert approval is not None
    assert (approval.approver, approval.department) == ("li.hua", "Finance")
    other = DataOwner(department="HR", head="wang.fang")
    assert approver_for(change(None, {}), other).approver == "wang.fang"  # type: ignore[union-attr]
    ou = Change("ou", Action.UPDATE, "OU=HQ,DC=x", None, {}, None, (), None)
    assert approver_for(ou, other) is None


def test_a_bad_right_in_a_playbook_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yml"
    inventory.write_text(
        "domains:\n  group:\n    realm: GROUP.EXAMPLE.COM\n    base_dn: DC=group,DC=example,DC=com\n"
        "    netbios: GROUP\n    credential: c\n    dcs: {dc1: {ldap_url: 'ldaps://127.0.0.1'}}\n"
        "credentials: {c: {username: u}}\n",
        encoding="utf-8",
    )
    playbook = tmp_path / "p.yml"
    playbook.write_text(
        "tasks:\n  - file_acl:\n      host: fs1\n      share: data\n      path: HQ\n"
        "      data_owner: {department: IT, head: it.head}\n"
        "      access:\n        - {who: Everyone, rights: fullcontrol}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as raised:
        load_playbook(playbook, load_inventory(inventory), registry.specs())
    assert str(raised.value).startswith(f"{playbook}:8: ")
    assert "unknown right 'fullcontrol'" in str(raised.value)


def test_every_folder_needs_its_data_owner() -> None:
    with pytest.raises(ValueError, match="data_owner"):
        file_acl.Spec.model_validate({"host": "fs1", "share": "data", "path": "HQ"})
