"""The usage log's pure parts: logon events from Samba and Windows in one shape, the
journal's check-out and run windows, reconciliation, and the event store's digests."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adsuite.admin.events import LogonEvent, Watched, from_samba, from_windows
from adsuite.admin.reconcile import reconcile
from adsuite.admin.store import EventStore, digest, tampered
from adsuite.admin.windows import (
    RunConnection,
    Window,
    checkout_windows,
    comparable_endpoint,
    latest_checkout_state,
    run_connections,
)
from adsuite.formats.samba_audit import logons
from adsuite.journal.store import Journal

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SID = "S-1-5-21-1-2-3-500"
WATCHED = Watched(
    frozenset({"administrator", "svc-adsuite"}),
    {SID: "administrator"},
    {"cn=administrator,cn=users,dc=group,dc=example,dc=com": "administrator"},
    "GROUP.EXAMPLE.COM",
)
SAMBA_LINE = (
    '{"timestamp": "2026-11-27T12:00:01.000001+0000", "type": "Authentication", '
    '"Authentication": {"eventId": %d, "status": "%s", "remoteAddress": "ipv4:127.0.0.1:5000", '
    '"serviceDescription": "LDAP", "authDescription": "simple bind/TLS", '
    '"clientAccount": "%s", "mappedAccount": "%s", "becameSid": %s}}'
)


def samba(event_id: int, status: str, client: str, mapped: str, sid: str | None) -> str:
    return SAMBA_LINE % (event_id, status, client, mapped, f'"{sid}"' if sid else "null")


@pytest.mark.parametrize(
    ("line", "account", "ok"),
    [
        (samba(4624, "NT_STATUS_OK", "Administrator@GROUP.EXAMPLE.COM", "Administrator", SID), "administrator", True),
        (samba(4624, "NT_STATUS_OK", "CN=Administrator,CN=Users,DC=group,DC=example,DC=com", "Administrator", SID), "administrator", True),
        (samba(4625, "NT_STATUS_WRONG_PASSWORD", "GROUP\\\\Administrator", "Administrator", None), "administrator", False),
        (samba(4624, "NT_STATUS_OK", "li.na@GROUP.EXAMPLE.COM", "li.na", "S-1-5-21-1-2-3-1200"), None, True),
        (samba(4624, "NT_STATUS_OK", "Administrator@OTHER.TEST", "", None), None, True),
        (samba(4625, "NT_STATUS_NO_SUCH_USER", "GROUP\\\\ghost", "ghost", None), None, False),
    ],
    ids=["upn", "dn", "failed-netbios", "not-watched", "other-realm", "unknown-user"],
)  # fmt: skip
def test_samba_logons_map_to_watched_accounts_by_sid_or_any_spelling(
    line: str, account: str | None, ok: bool
) -> None:
    (logon,) = logons([line])
    event = from_samba("dc1", logon, WATCHED)
    if account is None:
        assert event is None
        return
    assert event is not None
    assert (event.account, event.ok, event.event_id) == (account, ok, logon.event_id)
    assert (event.remote, event.service, event.source) == (
        "ipv4:127.0.0.1:5000",
        "LDAP simple bind/TLS",
        "samba",
    )


def windows(event_id: int, **data: str) -> dict[str, Any]:
    return {"RecordId": 70, "EventId": event_id, "TimeCreated": "2026-11-27T12:00:00.1234567Z",
            "Computer": "DC2", "Data": data}  # fmt: skip


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (windows(4624, TargetUserName="Administrator", TargetUserSid=SID, IpAddress="::ffff:10.0.0.5", IpPort="51234", LogonType="3", AuthenticationPackageName="Kerberos"),
         ("administrator", True, "10.0.0.5:51234", "Kerberos, logon type 3")),
        (windows(4625, TargetUserName="administrator", IpAddress="10.0.0.6", Status="0xc000006d"),
         ("administrator", False, "10.0.0.6", None)),
        (windows(4769, TargetUserName="Administrator@GROUP.EXAMPLE.COM", ServiceName="ldap/dc2", Status="0x0", IpAddress="-"),
         ("administrator", True, None, "Kerberos service ticket ldap/dc2")),
        (windows(4768, TargetUserName="svc-adsuite", Status="0x18"),
         ("svc-adsuite", False, None, "Kerberos TGT")),
        (windows(4672, SubjectUserName="Administrator", SubjectUserSid=SID),
         ("administrator", True, None, None)),
        (windows(4648, SubjectUserName="li.na", TargetUserName="Administrator"),
         ("administrator", True, None, None)),
        (windows(4624, TargetUserName="li.na"), None),
    ],
    ids=["4624", "4625", "4769-upn", "4768-failed", "4672-subject", "4648-target", "unwatched"],
)  # fmt: skip
def test_windows_events_become_logons_with_success_read_from_their_status(
    item: dict[str, Any], expected: tuple[Any, ...] | None
) -> None:
    event = from_windows("dc2", item, WATCHED)
    if expected is None:
        assert event is None
        return
    assert event is not None
    assert (event.account, event.ok, event.remote, event.service) == expected
    assert (event.record, event.source) == ("70", "windows")
    assert event.at == datetime(2026, 11, 27, 12, 0, 0, 123456, tzinfo=UTC)


def event(account: str, seconds: float, ok: bool = True, port: int = 40001) -> LogonEvent:
    at = T0 + timedelta(seconds=seconds)
    return LogonEvent("dc1", f"r{seconds}", at, 4624 if ok else 4625, account, None,
                      f"ipv4:127.0.0.1:{port}", "LDAP", ok, None, "samba")  # fmt: skip


CHECKOUT = Window(T0 + timedelta(seconds=100), T0 + timedelta(seconds=200), "co1",
                  "adm.ops", "li.wei", "IT-1", "disk repair")  # fmt: skip
RUN_SPAN = Window(T0 + timedelta(seconds=300), T0 + timedelta(seconds=310), "run1")
RUNS = {"127.0.0.1:40001": [RunConnection("127.0.0.1:40001", RUN_SPAN)]}  # run1's connection


@pytest.mark.parametrize(
    ("logon", "verdict"),
    [
        (event("adm.ops", 150), "checked_out"),
        (event("adm.ops", 201.5), "checked_out"),  # within the slack after check-in
        (event("adm.ops", 202.5), "unrecorded"),  # past it
        (event("adm.ops", 250), "unrecorded"),
        (event("adm.ops", 305), "unrecorded"),  # a run covers only the service account
        (event("svc-adsuite", 305), "automation"),
        (event("svc-adsuite", 299), "automation"),  # its bind, logged before the run began
        (event("svc-adsuite", 299, port=40002), "unrecorded"),  # a hand logon 1 s before
        (event("svc-adsuite", 305, port=40002), "unrecorded"),  # by hand, during the run
        (event("svc-adsuite", 5000), "unrecorded"),  # the port, reused long after
        (event("adm.ops", 150, ok=False), "failed"),
        (event("svc-adsuite", 305, ok=False), "failed"),
    ],
    ids=["inside", "slack", "past-slack", "after-checkin", "run-other", "run-service",
         "run-bind-before-start", "hand-1s-before-run", "hand-during-run", "port-reused-later",
         "failed-in-checkout", "failed-in-run"],
)  # fmt: skip
def test_each_logon_is_reconciled_with_a_checkout_or_for_the_service_account_a_run(
    logon: LogonEvent, verdict: str
) -> None:
    (use,) = reconcile([logon], [CHECKOUT], RUNS, "svc-adsuite")
    assert use.verdict == verdict
    assert use.finding == (verdict in ("unrecorded", "failed"))


def test_checkout_windows_pair_each_checkout_with_the_checkin_that_closes_it(
    tmp_path: Path,
) -> None:
    operator = {"os_user": "li.wei"}
    with Journal.open(tmp_path / "j.sqlite") as journal:
        for mode, status, account in [
            ("checkout", "ok", "adm.ops"),
            ("checkin", "ok", "adm.ops"),
            ("checkout", "failed", "Administrator"),
            ("checkout", "ok", "Administrator"),
        ]:
            run = journal.start_run(mode=mode, operator=operator, ticket="IT-1",
                                    extra={"account": account, "holder": "li.wei"})  # fmt: skip
            journal.finish_run(run, status=status, counts={})
        runs = journal.runs()
    windows = checkout_windows(runs)
    assert [(w.account, w.end is not None) for w in windows] == [
        ("adm.ops", True),
        ("administrator", False),
    ]
    assert latest_checkout_state(runs, "adm.ops") is None
    held = latest_checkout_state(runs, "ADMINISTRATOR")
    assert held is not None and held.status == "ok"
    assert run_connections(runs, datetime.now(UTC)) == {}  # no run recorded an endpoint


def test_a_run_is_known_by_the_client_endpoint_journaled_at_its_bind(tmp_path: Path) -> None:
    bound = "2026-11-27T11:59:00.000000+00:00"
    with Journal.open(tmp_path / "j.sqlite") as journal:
        operator = {"os_user": "a", "bound_at": bound, "client": "::ffff:127.0.0.1:40001"}
        run = journal.start_run(mode="apply", operator=operator)
        journal.finish_run(run, status="ok", counts={})
        found = run_connections(journal.runs(), datetime.now(UTC))
    ((endpoint, [connection]),) = found.items()
    assert endpoint == "127.0.0.1:40001" and connection.window.run_id == run
    assert connection.window.start == datetime(2026, 11, 27, 11, 59, tzinfo=UTC)


def test_connections_a_run_lists_with_its_end_are_its_own_too(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.sqlite") as journal:
        operator = {"os_user": "a", "clients": "127.0.0.1:40001"}
        run = journal.start_run(mode="health", operator=operator, extra={"domain": "group"})
        journal.finish_run(run, status="healthy", counts={},
                           extra={"clients": ["127.0.0.1:40001", "127.0.0.1:40002"]})  # fmt: skip
        other = journal.start_run(mode="drift", operator={"os_user": "a"})
        journal.finish_run(other, status="ok", counts={}, extra={"clients": "127.0.0.1:9"})
        runs = journal.runs()
        found = run_connections(runs, datetime.now(UTC))
    assert sorted(found) == ["127.0.0.1:40001", "127.0.0.1:40002"]  # a string is not a list
    assert {c.window.run_id for cs in found.values() for c in cs} == {run}
    assert next(r for r in runs if r.id == run).extra["domain"] == "group"  # start's kept


@pytest.mark.parametrize(
    ("remote", "endpoint"),
    [
        ("ipv4:127.0.0.1:40001", "127.0.0.1:40001"),
        ("ipv6:::1:40001", "::1:40001"),
        ("10.0.0.5:4711", "10.0.0.5:4711"),
        ("10.0.0.5", None),  # a Windows event with no IpPort cannot be matched
        ("ipv4:127.0.0.1:0", None),
        (None, None),
    ],
)
def test_endpoints_compare_as_address_and_port(remote: str | None, endpoint: str | None) -> None:
    assert comparable_endpoint(remote) == endpoint


def test_stored_events_are_kept_once_and_an_altered_collection_is_found(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    Journal.open(path).close()
    events = [event("adm.ops", 1), event("adm.ops", 2)]
    with EventStore(path) as store:
        assert store.add(events, "run1") == events
        assert store.add(events, "run2") == []  # the same DC record is stored once
        recorded = digest(events)
        assert tampered(store, [("run1", "dc1", recorded)]) == []
        assert [e.record for e in store.events(T0 + timedelta(seconds=2))] == ["r2"]
    raw = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("DELETE FROM logon_events")
    raw.execute("DROP TRIGGER logon_events_no_delete")
    raw.execute("DELETE FROM logon_events WHERE record = 'r1'")
    raw.commit()
    raw.close()
    with EventStore(path) as store:
        assert tampered(store, [("run1", "dc1", recorded)]) == [
            "logon events of dc1 collected by run run1 no longer match their journaled digest"
        ]
