"""GPO changes journaled by name, tied to their group policy containers, as data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from adsuite.audit.gpo import Container, generalized_time, with_containers
from adsuite.journal.records import ChangeRecord

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BASE = "DC=group,DC=example,DC=com"


def gpc(guid: str) -> str:
    return f"CN={{{guid}}},CN=Policies,CN=System,{BASE}"


A, B, C = (f"{n}0000000-0000-4000-8000-00C04FB984F9" for n in "ABC")


def change(
    target: str,
    action: str,
    seconds: float,
    before: Any = None,
    seq: int = 1,
    resource: str = "gpo",
) -> ChangeRecord:
    at = (T0 + timedelta(seconds=seconds)).isoformat()
    return ChangeRecord(
        "run", seq, resource, target, action, before, {}, "applied", None, at, at, seq
    )


def test_names_become_the_dns_of_the_containers_that_bear_them_now() -> None:
    containers = [
        Container(gpc(A), "HQ Restricted", None),
        Container(gpc(B), "Default Domain Policy", None),
    ]
    changes = [
        change('"hq restricted"', "update", 5),
        change('"Default Domain Policy"', "update", 6, resource="default_domain_policy"),
        change(f"OU=HQ,{BASE}", "update", 7),  # a link change already names its OU
    ]
    resolved, missing = with_containers(changes, containers, BASE)
    assert [c.target for c in resolved] == [gpc(A), gpc(B), f"OU=HQ,{BASE}"]
    assert missing == []


def test_a_creation_finds_the_container_made_during_it_even_if_renamed_since() -> None:
    containers = [
        Container(gpc(A), "Renamed by hand", T0 + timedelta(seconds=10)),
        Container(gpc(B), "Other", T0 - timedelta(days=3)),
    ]
    resolved, missing = with_containers(
        [change('"HQ Restricted"', "create", 10.4)], containers, BASE
    )
    assert [c.target for c in resolved] == [gpc(A)] and missing == []


def test_a_deletion_uses_its_recorded_guid_and_earlier_changes_of_the_name_follow_it() -> None:
    changes = [
        change('"Gone"', "update", 5, seq=1),
        change('"Gone"', "delete", 9, before={"GUID": "{" + C + "}", "status": "enabled"}, seq=2),
    ]
    resolved, missing = with_containers(changes, [Container(gpc(A), "Other", None)], BASE)
    assert [c.target for c in resolved] == [gpc(C), gpc(C)] and missing == []


def test_a_name_nothing_explains_is_reported_and_left_out() -> None:
    resolved, missing = with_containers([change('"Lost"', "update", 5)], [], BASE)
    assert (resolved, missing) == ([], ["Lost"])


def test_generalized_time_is_read_to_the_second() -> None:
    assert generalized_time("20261127120010.0Z") == T0 + timedelta(seconds=10)
    assert generalized_time("garbage") is None and generalized_time(None) is None
