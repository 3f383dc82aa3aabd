"""The lab with two DCs: replication between them (inbound status read from repsFrom, a
change written on one DC measured until the other shows it: adsuite.health.replication),
and runs with the preferred DC1 stopped (the inventory's ``failover``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lab_fixture import lab_config_for_tests
from labkit import Cli
from labkit import Lab as LabEnv

from adsuite.connectors.credentials import Secret
from adsuite.connectors.ldap import Directory, Endpoint
from adsuite.health.replication import probe_dn, read_inbound
from adsuite.journal.store import Journal
from adsuite.lab.replica import Replica, partitions
from adsuite.lab.samba import Lab, LabStatus


def endpoint(status: LabStatus) -> Endpoint:
    return Endpoint(status.ldap_url, str(status.ca_file), status.tls_name, status.admin_username)


@pytest.fixture()
def password(lab: LabStatus) -> Secret:
    return Secret(Path(lab.secret_file).read_text(encoding="utf-8").strip())


def test_the_joined_dc_has_a_certificate_of_its_own_ca_valid_for_its_name(
    lab: LabStatus, second_dc: LabStatus, password: Secret
) -> None:
    assert second_dc.ca_file != lab.ca_file
    with Directory.connect(endpoint(second_dc), password) as directory:
        assert directory.endpoint.tls_name == "dc2.group.example.com"
    wrong_ca = Endpoint(second_dc.ldap_url, str(lab.ca_file), second_dc.tls_name, "x")
    with pytest.raises(Exception, match=r"certificate verify failed|cannot reach"):
        Directory.connect(wrong_ca, password)


def test_dc2_reports_dc1_as_its_inbound_partner_for_every_partition(
    lab: LabStatus, second_dc: LabStatus, password: Secret
) -> None:
    with Directory.connect(endpoint(second_dc), password) as directory:
        read_at = datetime.now(UTC)
        links = read_inbound(directory)
    by_context = {link.naming_context: link for link in links}
    assert set(by_context) == set(partitions(lab.realm))
    for link in by_context.values():
        assert link.partner_host == "dc1.group.example.com"
        assert link.succeeded, link
        assert link.last_success is not None and link.last_success <= read_at


@pytest.fixture()
def stopped_dc2(second_dc: LabStatus) -> Iterator[Replica]:
    replica = Replica(lab_config_for_tests(), 2)
    assert replica.down()
    yield replica
    replica.up(lambda _step: None)


# --- failover: DC1 (preferred, and the PDC emulator) stopped --------------------------


def two_dc_inventory(
    folder: Path, lab: LabStatus, dc2: LabStatus, failover: str, *, first: str = "dc1"
) -> Path:
    """The lab's two DCs, *first* listed first (the health check measures from it)."""

    def line(name: str, status: LabStatus) -> str:
        return (
            f'      {name}: {{ldap_url: "{status.ldap_url}", ca_file: "{status.ca_file}", '
            f"tls_name: {status.tls_name}}}\n"
        )

    dcs = {"dc1": line("dc1", lab), "dc2": line("dc2", dc2)}
    order = [first, *(key for key in dcs if key != first)]
    path = folder / f"two-dcs-{failover}-{first}.yml"
    path.write_text(
        f"lab: true\ndomains:\n  group:\n    realm: {lab.realm}\n    base_dn: {lab.base_dn}\n"
        f"    netbios: GROUP\n    credential: lab-admin\n    preferred_dc: dc1\n"
        f"    failover: {failover}\n    dcs:\n"
        + "".join(dcs[key] for key in order)
        + f"credentials:\n  lab-admin:\n    username: {lab.admin_username}\n"
        f"    secret_file: {lab.secret_file}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture()
def dc1_stopped(lab: LabStatus, second_dc: LabStatus) -> Iterator[None]:
    first = Lab(lab_config_for_tests())
    assert first.down_first()
    yield
    first.up_first()


def test_with_failover_allowed_a_drift_run_uses_dc2_only_and_journals_it(
    lab: LabStatus,
    second_dc: LabStatus,
    tmp_path: Path,
    write_playbook: Callable[[str], Path],
    cli: Callable[..., Cli],
    lab_env: LabEnv,
    dc1_stopped: None,
) -> None:
    inventory = two_dc_inventory(tmp_path, lab, second_dc, "allowed")
    playbook = write_playbook(
        "tasks:\n  - ou: {path: FailoverProbe, state: absent, allow_delete: true}\n"
    )
    done = cli("drift", str(playbook), "-i", str(inventory))
    assert done.code == 0, done.err
    said = [line for line in done.err.splitlines() if "does not answer" in line]
    assert len(said) == 1
    assert "preferred DC dc1 does not answer" in said[0] and "uses dc2" in said[0]
    with Journal.open(lab_env.journal) as journal:
        run = next(r for r in journal.runs() if r.inventory == str(inventory))
    assert run.mode == "drift"
    assert (run.operator["dc"], run.operator["dc_url"]) == ("dc2", second_dc.ldap_url)


def test_with_failover_refused_a_run_says_so_in_one_line(
    lab: LabStatus,
    second_dc: LabStatus,
    tmp_path: Path,
    write_playbook: Callable[[str], Path],
    cli: Callable[..., Cli],
    dc1_stopped: None,
) -> None:
    inventory = two_dc_inventory(tmp_path, lab, second_dc, "refuse")
    playbook = write_playbook(
        "tasks:\n  - ou: {path: FailoverProbe, state: absent, allow_delete: true}\n"
    )
    done = cli("plan", str(playbook), "-i", str(inventory))
    assert done.code == 1
    lines = [line for line in done.err.splitlines() if line.strip()]
    assert len(lines) <= 2, done.err  # the error, and at most its hint
    assert lines[0].startswith("adsuite: preferred DC dc1: cannot reach ldaps://127.0.0.1:636")
    assert "failover: refuse" in lines[0]
    assert "Traceback" not in done.err


def test_apply_with_dc1_stopped_refuses_because_the_lease_lives_on_the_pdc(
    lab: LabStatus,
    second_dc: LabStatus,
    tmp_path: Path,
    write_playbook: Callable[[str], Path],
    cli: Callable[..., Cli],
    lab_env: LabEnv,
    dc1_stopped: None,
) -> None:
    inventory = two_dc_inventory(tmp_path, lab, second_dc, "allowed")
    playbook = write_playbook("tasks:\n  - ou: {path: FailoverApply}\n")
    done = cli("apply", str(playbook), "-i", str(inventory), "--yes")
    assert done.code == 1
    assert "PDC emulator" in done.err and "refuses" in done.err
    assert "Traceback" not in done.err
    if lab_env.journal.exists():
        with Journal.open(lab_env.journal) as journal:
            assert not [r for r in journal.runs() if r.inventory == str(inventory)]


# --- adsuite health on two DCs -----------------------------------------------------------


@pytest.mark.parametrize(("source", "target"), [("dc1", "dc2"), ("dc2", "dc1")])
def test_health_measures_replication_latency_through_its_journaled_probe(
    lab: LabStatus,
    second_dc: LabStatus,
    tmp_path: Path,
    cli: Callable[..., Cli],
    lab_env: LabEnv,
    password: Secret,
    source: str,
    target: str,
) -> None:
    # earlier tests stopped each DC in turn, and the partner's last pull from it failed
    # then: a pull each way now makes "every link's last attempt succeeded" the fact
    Replica(lab_config_for_tests(), 2).replicate_both_ways()
    inventory = two_dc_inventory(tmp_path, lab, second_dc, "refuse", first=source)
    done = cli("health", "-i", str(inventory), "--format", "json")
    assert done.code in (0, 2), done.err
    report = json.loads(done.out)
    assert [f for f in report["findings"] if f["check"] == "replication"] == []
    seconds = report["measured"][target][f"replication_seconds_from_{source}"]
    assert isinstance(seconds, float | int) and 0 <= seconds < 60
    assert report["measured"][source]["inbound_links"] >= 1  # it pulls from the other too
    said = [i["text"] for i in report["info"] if i["check"] == "replication"]
    assert said == [f"a change on {source} reached {target} in {seconds:.1f} s (measured)"]
    with Journal.open(lab_env.journal) as journal:
        run = journal.run(report["run_id"])
        (probe,) = journal.changes(report["run_id"])
    assert run.mode == "health" and run.status == report["status"]
    assert run.extra["measured"][target][f"replication_seconds_from_{source}"] == seconds
    assert (probe.resource, probe.target, probe.outcome) == (
        "replication_probe", probe_dn(lab.base_dn), "applied")  # fmt: skip
    assert probe.via is not None and probe.via in run.extra["clients"]
    marker = probe.after["description"]
    assert probe.after == {"description": marker}
    assert marker.startswith("adsuite replication probe ")
    # the marker the run journaled is the one the target DC shows: the latency is of
    # that write, and no other write of the probe happened since
    status = {"dc1": lab, "dc2": second_dc}[target]
    with Directory.connect(endpoint(status), password) as directory:
        seen = directory.read(probe_dn(lab.base_dn), ["description"])
    assert seen is not None and seen.text("description") == marker


def test_health_finds_a_stopped_dc2_unreachable_and_its_replication_unmeasured(
    lab: LabStatus,
    second_dc: LabStatus,
    tmp_path: Path,
    cli: Callable[..., Cli],
    lab_env: LabEnv,
    stopped_dc2: Replica,
) -> None:
    inventory = two_dc_inventory(tmp_path, lab, second_dc, "refuse")
    done = cli("health", "-i", str(inventory), "--format", "json")
    assert done.code == 2, done.err
    report = json.loads(done.out)
    by_id = {f["id"]: f for f in report["findings"]}
    assert "127.0.0.2" in by_id["health:dc2:ldaps"]["text"]
    assert by_id["health:dc2:replication:latency:dc1"]["text"] == (
        "no latency measured from dc1 to dc2: dc2 does not answer"
    )
    assert "health:dc1:replication:dc2" not in by_id  # dc1 still has its link from dc2
    assert report["measured"]["dc2"]["replication_seconds_from_dc1"] is None
    assert report["measured"]["dc1"]["inbound_links"] >= 1  # DC1 itself still answers
    said = [i["text"] for i in report["info"] if i["check"] == "replication"]
    assert said == []
    with Journal.open(lab_env.journal) as journal:
        assert journal.changes(report["run_id"]) == []  # no probe written: none to measure
