"""The kinds table (resources/registry.py) and the protocol tables (engine/protocols.py)
are plain data until used: each entry names the module that holds it, that module is
imported on first lookup, and what it holds is checked against the table."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from adsuite.engine import protocols
from adsuite.resources import registry
from adsuite.resources.base import Kind


def test_every_kind_name_gives_the_kind_of_that_name_from_its_module() -> None:
    for name, module in registry.MODULES.items():
        kind = registry.KINDS[name]
        assert isinstance(kind, Kind)
        assert kind.name == name
        assert sys.modules[module].KIND is kind


def test_the_kinds_iterate_and_their_specs_are_each_kinds_model() -> None:
    specs = registry.specs()
    assert list(registry.KINDS) == list(specs) == list(registry.MODULES)
    assert {name: k.spec for name, k in registry.KINDS.items()} == dict(specs.items())
    assert "ou" in specs and "gpo" in registry.KINDS and "nope" not in specs
    assert registry.KINDS.get("nope") is None
    with pytest.raises(KeyError):
        specs["nope"]


def test_a_table_entry_whose_module_holds_another_kind_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(registry.MODULES, "not_ou", "adsuite.resources.directory.ou")  # type: ignore[index]
    with pytest.raises(RuntimeError, match="holds no KIND named 'not_ou'"):
        registry.kind("not_ou")


def test_every_claimed_request_type_is_routed_to_the_protocol_that_claims_it() -> None:
    for table in (protocols.READERS, protocols.WRITERS, protocols.CHECKERS):
        everything = table.everything()
        assert everything, table.part
        for request_type, handler in everything.items():
            route = protocols.ROUTES[request_type.__module__]
            assert handler.__module__ in route, (request_type, route)
            assert table[request_type] is handler


def test_an_ldap_query_is_read_by_the_directory_protocol_alone() -> None:
    from adsuite.formats.ldap_query import Query
    from adsuite.resources.base import Expect, LdapWrite
    from adsuite.resources.directory import io as ldap_io

    assert protocols.READERS[Query] is ldap_io.read_ldap
    assert protocols.WRITERS[LdapWrite] is ldap_io.execute
    assert protocols.CHECKERS[Expect] is ldap_io.check_expectation


@dataclass(frozen=True)
class TwiceClaimed:
    """A request type two protocol modules both say they read."""


@pytest.fixture
def two_claimants(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, tuple[str, ...]]]:
    def reader(*_: object) -> dict[object, object]:
        return {}

    for name in ("fake_protocol_a", "fake_protocol_b"):
        module = types.ModuleType(name)
        module.READS = {TwiceClaimed: reader}  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, name, module)
    yield {__name__: ("fake_protocol_a", "fake_protocol_b")}


def test_a_request_type_two_protocols_claim_is_an_error(
    two_claimants: dict[str, tuple[str, ...]],
) -> None:
    table: protocols.Table[protocols.Reader] = protocols.Table("READS", two_claimants)
    with pytest.raises(RuntimeError, match=r"two protocols handle \['TwiceClaimed'\]"):
        table[TwiceClaimed]
    with pytest.raises(RuntimeError, match="two protocols handle"):
        table.everything()


def test_a_request_type_no_protocol_handles_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        protocols.READERS[TwiceClaimed]
    with pytest.raises(KeyError):
        protocols.WRITERS[int]
