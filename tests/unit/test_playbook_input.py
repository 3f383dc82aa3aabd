"""Input the directory would take wrongly is refused while loading, in one line.

Control characters anywhere in a playbook or inventory, OU paths written as DNs, and
OU names AD cannot hold; a leading space or ``#`` (legal in AD) is escaped instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from one_company import INVENTORY, load_in

from adsuite.engine import drift
from adsuite.engine.drift import MAX_SHOWN
from adsuite.engine.loader import load_playbook
from adsuite.errors import InputError
from adsuite.formats import dn
from adsuite.formats.yaml_source import MAX_FILE_BYTES
from adsuite.resources import registry
from adsuite.runtime.inventory import Inventory, load_inventory


@pytest.fixture
def inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Inventory:
    monkeypatch.chdir(tmp_path)
    return load_in(tmp_path)


def error_of(inventory: Inventory, text: str) -> str:
    Path("pb.yml").write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_playbook(Path("pb.yml"), inventory, registry.specs())
    message = str(caught.value)
    assert "\n" not in message and len(message) < 300, message
    return message


@pytest.mark.parametrize(
    ("escaped", "code"),
    [("\\0", "0000"), ("\\x01", "0001"), ("\\t", "0009"), ("\\n", "000A"), ("\\u2028", "2028")],
)
def test_a_control_character_in_an_ou_name_is_refused(
    inventory: Inventory, escaped: str, code: str
) -> None:
    text = f'tasks:\n  - ou:\n      path: "a{escaped}No changes: nothing to do"\n'
    message = error_of(inventory, text)
    assert message == (
        f"pb.yml:3: 'tasks[0].ou.path' contains a control character (U+{code}); remove it"
    )


def test_a_control_character_in_any_value_or_key_is_refused(inventory: Inventory) -> None:
    description = 'tasks:\n  - ou: {path: HQ, description: "a\\tb"}\n'
    assert error_of(inventory, description).startswith("pb.yml:2: 'tasks[0].ou.description'")
    key = 'tasks:\n  - ou: {path: HQ, "desc\\nription": x}\n'
    assert error_of(inventory, key).startswith("pb.yml:2: 'tasks[0].ou' contains a control")
    name = 'tasks:\n  - name: "x\\ny"\n    ou: {path: HQ}\n'
    assert error_of(inventory, name).startswith("pb.yml:2: 'tasks[0].name' contains a control")


def test_a_control_character_a_template_makes_is_refused(inventory: Inventory) -> None:
    text = "tasks:\n  - ou:\n      path: \"HQ{{ '\\\\x00' }}b\"\n"
    message = error_of(inventory, text)
    assert message == (
        "pb.yml:3: 'tasks[0].ou.path' contains a control character (U+0000); remove it"
    )


def test_a_control_character_in_the_inventory_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(INVENTORY.replace("netbios: GROUP", 'netbios: "GR\\x01OUP"'), "utf-8")
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    assert str(caught.value).endswith(
        "inv.yml:5: 'domains.group.netbios' contains a control character (U+0001); remove it"
    )


def test_an_ou_path_written_as_a_dn_is_refused_without_echoing_it(inventory: Inventory) -> None:
    for path in ("OU=Evil,DC=other,DC=com", "HQ/ou=Evil,DC=other,DC=com"):
        message = error_of(inventory, f'tasks:\n  - ou: {{path: "{path}"}}\n')
        assert message == "pb.yml:2: bad OU path: write it as a path like HQ/Users, not as a DN"


def test_a_trailing_space_is_refused(inventory: Inventory) -> None:
    message = error_of(inventory, 'tasks:\n  - ou: {path: "HQ/x "}\n')
    assert message == "pb.yml:2: bad OU path 'HQ/x ': 'x ' ends with a space"


def test_a_leading_space_or_hash_is_escaped_as_rfc_4514_says(inventory: Inventory) -> None:
    Path("pb.yml").write_text('tasks:\n  - ou: {path: " lead/#hash"}\n', encoding="utf-8")
    playbook = load_playbook(Path("pb.yml"), inventory, registry.specs())
    path = playbook.plays[0].tasks[0].spec.path  # type: ignore[attr-defined]
    target = dn.ou_path_to_dn(path, "DC=group,DC=example,DC=com")
    assert target == "OU=\\#hash,OU=\\ lead,DC=group,DC=example,DC=com"
    assert dn.split(target)[:2] == [("OU", "#hash"), ("OU", " lead")]
    assert dn.ou_path_from_dn(target, "DC=group,DC=example,DC=com") == " lead/#hash"
    assert dn.key("OU=\\20lead,DC=x") == dn.key("OU=\\ lead,DC=x")


def test_a_slash_in_an_ou_name_stays_a_slash_and_nul_is_no_placeholder() -> None:
    assert dn.ou_path_segments("HQ/a\\/b") == ["HQ", "a/b"]
    with pytest.raises(ValueError, match="control character"):
        dn.ou_path_segments("a\x00b")


@pytest.mark.parametrize(
    ("written", "segments"),
    [
        (r"HQ/Sales\/EMEA", ["HQ", "Sales/EMEA"]),  # plain: no YAML escapes
        (r"'HQ/Sales\/EMEA'", ["HQ", "Sales/EMEA"]),  # single quotes: no YAML escapes
        (r'"HQ/Sales\\/EMEA"', ["HQ", "Sales/EMEA"]),  # double quotes: \\ is one backslash
        # in double quotes YAML itself reads \/ as /: three OUs (docs/playbook-input.md)
        (r'"HQ/Sales\/EMEA"', ["HQ", "Sales", "EMEA"]),
    ],
)
def test_a_slash_in_an_ou_name_is_written_backslash_slash_as_documented(
    inventory: Inventory, written: str, segments: list[str]
) -> None:
    Path("pb.yml").write_text(f"tasks:\n  - ou: {{path: {written}}}\n", encoding="utf-8")
    task = load_playbook(Path("pb.yml"), inventory, registry.specs()).plays[0].tasks[0]
    path = task.spec.path
    assert dn.ou_path_segments(path) == segments
    if segments == ["HQ", "Sales/EMEA"]:
        target = dn.ou_path_to_dn(path, "DC=group,DC=example,DC=com")
        assert target == "OU=Sales/EMEA,OU=HQ,DC=group,DC=example,DC=com"
        assert dn.ou_path_from_dn(target, "DC=group,DC=example,DC=com") == "HQ/Sales\\/EMEA"


def test_an_error_is_one_line_whatever_its_message_quotes() -> None:
    error = InputError("unknown key 'a\nNo changes: nothing to do\u202e'", file="pb.yml", line=2)
    assert str(error) == "pb.yml:2: unknown key 'a\\u000aNo changes: nothing to do\\u202e'"


def test_a_description_over_the_schema_range_upper_is_refused_at_load(
    inventory: Inventory,
) -> None:
    text = f'tasks:\n  - ou:\n      path: HQ\n      description: "{"x" * 1025}"\n'
    message = error_of(inventory, text)
    assert message == (
        "pb.yml:4: 'description' is 1025 characters; the AD schema allows 1024 (description)"
    )
    fits = f'tasks:\n  - ou:\n      path: HQ\n      description: "{"x" * 1024}"\n'
    Path("fits.yml").write_text(fits, encoding="utf-8")
    assert load_playbook(Path("fits.yml"), inventory, registry.specs()).plays


def test_an_import_outside_the_playbooks_folder_is_refused_without_reading_it(
    inventory: Inventory, tmp_path: Path
) -> None:
    secret = tmp_path.parent / f"{tmp_path.name}-secret.yml"
    secret.write_text("root:*:20228:0:99999:7:::\n", encoding="utf-8")
    expected = "pb.yml:1: import_playbook must name a file in the playbook's folder"
    for target in (str(secret), f"../{secret.name}", "/etc/shadow"):
        assert error_of(inventory, f"- import_playbook: {target}\n") == expected
    Path("inside").symlink_to(secret)
    assert error_of(inventory, "- import_playbook: inside\n") == expected


def test_an_imported_files_yaml_error_does_not_quote_its_lines(inventory: Inventory) -> None:
    Path("sub").mkdir()
    Path("sub/broken.yml").write_text("secret: [value-one\nother: 1\n", encoding="utf-8")
    message = error_of(inventory, "- import_playbook: sub/broken.yml\n")
    assert message.startswith("sub/broken.yml:")
    assert "secret" not in message and "value-one" not in message


def test_a_file_over_the_size_bound_is_refused_unread(inventory: Inventory) -> None:
    Path("pb.yml").write_bytes(b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    with pytest.raises(InputError) as caught:
        load_playbook(Path("pb.yml"), inventory, registry.specs())
    assert str(caught.value) == "pb.yml: file is over 4 MiB"


def test_a_long_value_is_cut_before_it_is_printed() -> None:
    shown = drift.show("x" * 100_000)
    assert len(shown) < MAX_SHOWN + 40
    assert shown.endswith("… (100002 characters)")
    assert drift.show("集团总部") == '"集团总部"'
