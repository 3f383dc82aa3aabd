"""The pure parts of `adsuite health`: GPO versions against GPT.INI, FSMO holders in
words, the KDC's answers, the replication hook with one DC and with none answering, a check that stops part-way,
thresholds from the inventory, and an unhealthy check as the state of clause 四.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adsuite.compliance.check import DRIFT
from adsuite.compliance.report import clause_state
from adsuite.connectors.credentials import Secret
from adsuite.errors import DirectoryError, InputError
from adsuite.formats import dn as dnlib
from adsuite.formats.krb_probe import KdcReply
from adsuite.health import domain, run, services
from adsuite.health.context import DcLink, HealthContext
from adsuite.health.model import Finding, Info, Report, Thresholds
from adsuite.journal.evidence import Proof
from adsuite.runtime.inventory import DomainController, load_inventory

LAB_INVENTORY = Path(__file__).resolve().parents[2] / "inventory" / "lab.yml"
SITES = "CN=Sites,CN=Configuration,DC=group,DC=example,DC=com"
DC1 = f"CN=NTDS Settings,CN=DC1,CN=Servers,CN=Default-First-Site-Name,{SITES}"
GPC = domain.Gpc("{A}", "Screen lock", 0x00020003, r"group.example.com\Policies\{A}")
INI = GPC.path + r"\GPT.INI"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"[General]\r\nVersion=131075\r\n", None),
        (b"[General]\r\nVersion=131076\r\n", "LDAP version 131075, GPT.INI version 131076"),
        (None, "GPT.INI missing in SYSVOL (LDAP version 131075)"),
        (b"[General]\r\nVersion=x\r\n", "GPT.INI unreadable (LDAP version 131075)"),
    ],
)
def test_a_gpo_whose_gpt_ini_differs_from_ldap_is_named(data: bytes | None, words: str) -> None:
    found = domain.gpo_mismatches([GPC], {INI: data})
    assert found == ([] if words is None else [(GPC, f"GPO Screen lock {{A}}: {words}")])


def test_a_negative_version_number_reads_as_the_dword_gpt_ini_holds() -> None:
    negative = domain.Gpc("{B}", "b", -2, r"d\Policies\{B}")
    fine = b"[General]\nVersion=4294967294"
    assert domain.gpo_mismatches([negative], {r"d\Policies\{B}\GPT.INI": fine}) == []


def test_an_fsmo_holder_is_good_only_as_an_answering_dc_of_the_inventory() -> None:
    servers = {dnlib.key(DC1): "dc1"}
    assert domain.holder_words(DC1.upper(), servers) is None
    other = DC1.replace("CN=DC1", "CN=DC7")
    assert domain.holder_words(other, servers) == (
        "is held by DC7, which is not an answering DC of the inventory"
    )
    deleted = DC1.replace("CN=DC1", "CN=DC7\\0ADEL:1234")
    assert domain.holder_words(deleted, servers) == f"is held by a deleted DC ({deleted})"
    assert domain.holder_words(None, servers) == "has no holder"


@pytest.mark.parametrize(
    ("reply", "wrong"),
    [
        (KdcReply("error", 25, "GROUP.EXAMPLE.COM"), None),
        (KdcReply("error", 6, "GROUP.EXAMPLE.COM"), None),
        (KdcReply("error", 68, "GROUP.EXAMPLE.COM"), "answers KDC_ERR_WRONG_REALM"),
        (KdcReply("error", 25, "OTHER.EXAMPLE"), "answers for realm OTHER.EXAMPLE, not"),
    ],
)
def test_a_kdc_answers_for_the_realm_or_is_named(reply: KdcReply, wrong: str | None) -> None:
    said = services._kdc_wrong(reply, "GROUP.EXAMPLE.COM")
    assert said is None if wrong is None else (said or "").startswith(wrong)


def context(*keys: str) -> HealthContext:
    links = {k: DcLink(k, DomainController(ldap_url=f"ldaps://{k}.example:636")) for k in keys}
    domain_model = load_inventory(LAB_INVENTORY).domains["group"]
    return HealthContext(
        "group",
        domain_model,
        "a@b",
        Secret("never used"),
        Thresholds(),
        links,
        Report("group", keys),
    )


def test_one_dc_has_no_replication_partners_and_that_is_no_finding() -> None:
    assert list(run.replication(context("dc1"))) == [
        Info("domain", "replication", "single DC: no partners")
    ]


def test_two_dcs_of_which_none_answers_measure_no_latency_and_write_nothing() -> None:
    ctx = context("dc1", "dc2")  # no DC bound, and no journal: a probe write would raise
    assert list(run.replication(ctx)) == [
        Info("domain", "replication", "no DC answers: no latency measured")
    ]
    assert ctx.report.measured == {}


def test_a_check_that_stops_part_way_is_a_finding_and_the_others_still_run() -> None:
    def stops(ctx: HealthContext) -> Iterator[Finding | Info]:
        yield Info("dc1", "first", "read one thing")
        raise DirectoryError("search CN=Policies: busy")

    def later(ctx: HealthContext) -> Iterator[Finding | Info]:
        yield Info("dc1", "later", "still ran")

    report = run.run_checks(context("dc1"), [("gpo", stops), ("later", later)])
    assert [f.id for f in report.findings] == ["health:domain:gpo"]
    assert report.findings[0].text == "gpo check stopped: search CN=Policies: busy"
    assert [i.text for i in report.info] == ["read one thing", "still ran"]
    assert report.status == "unhealthy"


def test_thresholds_come_from_the_inventory_with_defaults(tmp_path: Path) -> None:
    assert load_inventory(LAB_INVENTORY).health == Thresholds()
    text = LAB_INVENTORY.read_text(encoding="utf-8")
    wrong = tmp_path / "inv.yml"
    wrong.write_text(text + "health: {max_skew_seconds: 0}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"inv\.yml:\d+: .*max_skew_seconds"):
        load_inventory(wrong)
    (tmp_path / "ok.yml").write_text(text + "health: {cert_warn_days: 60}\n", encoding="utf-8")
    assert load_inventory(tmp_path / "ok.yml").health.cert_warn_days == 60


def test_an_unhealthy_check_makes_the_clause_drift_naming_it() -> None:
    proof = Proof(
        "health", "health checks", "the newest found group unhealthy", 1, met=False, findings=2
    )
    state, words, reasons = clause_state([], [], [proof])
    assert (state, words) == (DRIFT, "drift (2 findings)")
    assert reasons == ["health checks: the newest found group unhealthy"]
