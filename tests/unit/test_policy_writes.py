"""What the password, PSO, site and subnet changes write, beyond what plans show:
the raw LDAP values, the bits kept, the conflict expectations, and spec validation."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from adsuite.formats.ldap_query import Entry, Query
from adsuite.resources.base import Change, Desired, Expect, LdapWrite, PlanContext
from adsuite.resources.directory import site, subnet
from adsuite.resources.password import password_policy, pso
from adsuite.source import Location

BASE = "DC=group,DC=example,DC=com"


def context(entries: list[Entry], names: dict[str, str] | None = None) -> PlanContext:
    ctx = PlanContext(BASE, "GROUP.EXAMPLE.COM", {})
    queries: list[Query] = [
        password_policy.domain_object(ctx),
        pso.all_psos(ctx),
        site.all_sites(ctx),
        subnet.all_subnets(ctx),
    ]
    ctx.facts = {
        q: [e for e in entries if e.dn.endswith(q.base) or e.dn == q.base] for q in queries
    }
    ctx.names = names or {}
    return ctx


def entry(dn: str, **attributes: Any) -> Entry:
    values = {
        k.lower(): tuple(str(x).encode() for x in (v if isinstance(v, list) else [v]))
        for k, v in attributes.items()
    }
    return Entry(dn, values)


def desired(spec: Any) -> Desired:
    return Desired(spec, Location("t.yml", 1), "t")


def only_write(change: Change) -> LdapWrite:
    (write,) = change.writes
    assert isinstance(write, LdapWrite)
    return write


def test_policy_writes_ticks_and_keeps_the_other_pwd_properties_bits() -> None:
    domain = entry(
        BASE, pwdProperties=0x1 | 0x4 | 0x8, maxPwdAge=-36288000000000, lockoutDuration=0
    )
    spec = password_policy.Spec(
        complexity=False, reversible_encryption=True, max_age=180, lockout_duration=30
    )
    (change,) = password_policy.plan([desired(spec)], context([domain]))
    write = only_write(change)
    assert write.changes == {
        "maxPwdAge": ("replace", ["-155520000000000"]),
        "lockoutDuration": ("replace", ["-18000000000"]),
        "pwdProperties": ("replace", [str(0x4 | 0x8 | 0x10)]),
    }
    assert isinstance(change.expect, Expect)
    assert change.expect.raw == {
        "maxPwdAge": (b"-36288000000000",),
        "lockoutDuration": (b"0",),
        "pwdProperties": (b"13",),
    }


def test_policy_never_is_written_as_the_most_negative_value() -> None:
    domain = entry(BASE, maxPwdAge=-36288000000000)
    spec = password_policy.Spec.model_validate(
        {"max_age": "never", "floor_override": {"reason": "test"}}
    )
    (change,) = password_policy.plan([desired(spec)], context([domain]))
    assert only_write(change).changes == {"maxPwdAge": ("replace", ["-9223372036854775808"])}


def test_pso_is_added_with_the_class_its_booleans_and_its_groups() -> None:
    group = "CN=HQ-IT-Admins,OU=Groups,OU=HQ," + BASE
    spec = pso.Spec(
        name="Strict", precedence=10, min_length=12, history=24, complexity=True,
        reversible_encryption=False, min_age=1, max_age=90, lockout_threshold=5,
        lockout_window=30, lockout_duration="never", applies_to=["HQ-IT-Admins"],
    )  # fmt: skip
    (change,) = pso.plan([desired(spec)], context([], {"hq-it-admins": group}))
    write = only_write(change)
    assert write.op == "add"
    assert write.attributes == {
        "objectClass": ["msDS-PasswordSettings"],
        "msDS-PasswordSettingsPrecedence": ["10"],
        "msDS-MinimumPasswordLength": ["12"],
        "msDS-PasswordHistoryLength": ["24"],
        "msDS-MinimumPasswordAge": ["-864000000000"],
        "msDS-MaximumPasswordAge": ["-77760000000000"],
        "msDS-LockoutThreshold": ["5"],
        "msDS-LockoutObservationWindow": ["-18000000000"],
        "msDS-LockoutDuration": ["-9223372036854775808"],
        "msDS-PasswordComplexityEnabled": ["TRUE"],
        "msDS-PasswordReversibleEncryptionEnabled": ["FALSE"],
        "msDS-PSOAppliesTo": [group],
    }


def test_site_is_created_with_the_two_children_samba_tool_makes() -> None:
    (change,) = site.plan([desired(site.Spec(name="HQ"))], context([]))
    dn = "CN=HQ,CN=Sites,CN=Configuration," + BASE
    assert [(w.op, w.dn, dict(w.attributes)) for w in change.writes] == [
        ("add", dn, {"objectClass": ["site"]}),
        ("add", "CN=NTDS Site Settings," + dn, {"objectClass": ["nTDSSiteSettings"]}),
        ("add", "CN=Servers," + dn, {"objectClass": ["serversContainer"]}),
    ]


def test_subnet_points_at_its_site_with_site_object() -> None:
    hq = "CN=HQ,CN=Sites,CN=Configuration," + BASE
    spec = subnet.Spec(prefix="172.16.0.0/16", site="HQ")
    (change,) = subnet.plan([desired(spec)], context([entry(hq, objectClass=["top", "site"])]))
    write = only_write(change)
    assert write.dn == "CN=172.16.0.0/16,CN=Subnets,CN=Sites,CN=Configuration," + BASE
    assert write.attributes == {"objectClass": ["subnet"], "siteObject": [hq]}


@pytest.mark.parametrize(
    ("prefix", "canonical"),
    [("172.16.0.0/16", "172.16.0.0/16"), ("2001:0db8:0000::/48", "2001:db8::/48")],
)
def test_subnet_prefixes_are_kept_in_canonical_form(prefix: str, canonical: str) -> None:
    assert subnet.Spec(prefix=prefix).prefix == canonical


@pytest.mark.parametrize("prefix", ["172.16.1.0/16", "172.16.0.0/33", "HQ"])
def test_a_subnet_prefix_that_is_not_a_network_is_refused(prefix: str) -> None:
    with pytest.raises(ValidationError, match=r"is not a network like 172\.16\.0\.0/16"):
        subnet.Spec(prefix=prefix)


@pytest.mark.parametrize("name", ["HQ Site", "HQ.", "-HQ", "x" * 64, ""])
def test_a_site_name_must_be_a_dns_label(name: str) -> None:
    with pytest.raises(ValidationError, match="must be a DNS label"):
        site.Spec(name=name)
