"""The registry type table in docs/playbook-input.md names every type a playbook may
write, and each row's example data is accepted for that type."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from adsuite.errors import InputError
from adsuite.formats.registry_pol import reg_type, type_names
from adsuite.resources.gpo.spec import RegistryPolicy

DOC = Path(__file__).parents[2] / "docs" / "playbook-input.md"
ROW = re.compile(r"^\| `(\w+)` \| (REG_\w+) \| (.*) \|$")


def table() -> list[tuple[str, str, str]]:
    return [m.groups() for m in map(ROW.match, DOC.read_text().splitlines()) if m]  # type: ignore[misc]


def test_the_doc_table_lists_exactly_the_accepted_types() -> None:
    assert sorted(name for name, _, _ in table()) == sorted(type_names())
    assert all(reg_type(name).name == windows for name, windows, _ in table())


@pytest.mark.parametrize(("name", "example"), [(n, d) for n, _, d in table() if "data:" in d])
def test_each_rows_example_data_is_accepted(name: str, example: str) -> None:
    data = yaml.safe_load(re.search(r"`data: (.+?)`", example).group(1))  # type: ignore[union-attr]
    policy = RegistryPolicy(key="Software\\X", value="V", type=name, data=data)
    assert policy.pol_entry().type is reg_type(name)


@pytest.mark.parametrize("name", ["none", "binary"])
def test_hex_text_is_bytes_for_the_byte_types(name: str) -> None:
    policy = RegistryPolicy(key="Software\\X", value="V", type=name, data="01 ff")
    assert policy.pol_entry().data == b"\x01\xff"


def test_an_unknown_type_names_what_is_accepted_and_what_was_meant() -> None:
    with pytest.raises(InputError) as caught:
        reg_type("String")
    assert str(caught.value) == (
        "unknown registry type 'String' (did you mean 'sz'?); accepted: "
        + ", ".join(type_names())
        + " (or REG_SZ, REG_DWORD, …)"
    )
