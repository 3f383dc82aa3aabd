"""Inventory loading: validated models, relative paths, one `file:line` error each."""

from __future__ import annotations

import textwrap
from ipaddress import ip_network
from pathlib import Path

import pytest

from adsuite.errors import InputError
from adsuite.runtime.inventory import Inventory, load_inventory

GOOD = """\
domains:
  group:
    realm: GROUP.EXAMPLE.COM
    base_dn: DC=group,DC=example,DC=com
    netbios: GROUP
    credential: lab-admin
    preferred_dc: dc2
    dcs:
      dc1:
        ldap_url: ldaps://127.0.0.1:636
        ca_file: /var/lib/adsuite/lab/private/tls/ca.pem
        tls_name: dc1.group.example.com
      dc2:
        ldap_url: ldap://127.0.0.2
        ca_file: tls/ca.pem
hosts:
  fs1:
    address: 127.0.0.1
    smb: {port: 445, credential: lab-admin}
    winrm: {url: "https://fs1.group.example.com:5986/wsman", client: pypsrp, auth: kerberos,
            credential: lab-admin, ca_file: null, timeout: 30}
companies:
  - code: HQ
    name: 集团总部 Group headquarters
    ip_range: 172.16.0.0/16
  - code: HANTONG
    name: 韩通船舶 Hantong Shipbuilding
    ip_range: 172.17.0.0/16
credentials:
  lab-admin:
    username: Administrator@GROUP.EXAMPLE.COM
    secret_file: private/adsuite-lab-admin.secret
journal: journal.sqlite
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inventory.yml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> InputError:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    assert caught.value.file == str(path)
    return caught.value


def where(error: InputError) -> str:
    """The error line without the temporary folder: `inventory.yml:7: message`."""
    return f"inventory.yml:{error.line}: {error.message}"


def replace(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


def test_good_inventory_loads(tmp_path: Path) -> None:
    inventory = load_inventory(write(tmp_path, GOOD))
    key, domain = inventory.domain(None)
    assert key == "group"
    assert domain.preferred().ldap_url == "ldap://127.0.0.2"
    assert domain.preferred().starttls
    assert domain.dcs["dc1"].port == 636
    assert inventory.companies[0].name == "集团总部 Group headquarters"
    assert inventory.companies[1].ip_range == ip_network("172.17.0.0/16")
    winrm = inventory.hosts["fs1"].winrm
    assert winrm is not None and winrm.client == "pypsrp" and winrm.ca_file is None


def test_relative_paths_are_relative_to_the_inventory_folder(tmp_path: Path) -> None:
    inventory = load_inventory(write(tmp_path, GOOD))
    assert inventory.journal == tmp_path / "journal.sqlite"
    assert inventory.credentials["lab-admin"].secret_file == (
        tmp_path / "private/adsuite-lab-admin.secret"
    )
    assert inventory.domains["group"].dcs["dc2"].ca_file == tmp_path / "tls/ca.pem"
    assert inventory.domains["group"].dcs["dc1"].ca_file == Path(
        "/var/lib/adsuite/lab/private/tls/ca.pem"
    )


def test_preferred_dc_defaults_to_the_first(tmp_path: Path) -> None:
    inventory = load_inventory(write(tmp_path, replace("    preferred_dc: dc2\n", "")))
    assert inventory.domains["group"].preferred().tls_name == "dc1.group.example.com"


def test_failover_is_refused_unless_the_inventory_allows_it(tmp_path: Path) -> None:
    refused = load_inventory(write(tmp_path, GOOD)).domains["group"]
    assert (refused.failover, refused.dc_order()) == ("refuse", ["dc2"])
    text = replace("    preferred_dc: dc2\n", "    preferred_dc: dc2\n    failover: allowed\n")
    allowed = load_inventory(write(tmp_path, text)).domains["group"]
    assert allowed.dc_order() == ["dc2", "dc1"]  # the preferred DC, then dcs order


def test_failover_takes_only_allowed_or_refuse(tmp_path: Path) -> None:
    text = replace("    preferred_dc: dc2\n", "    preferred_dc: dc2\n    failover: yes\n")
    error = load_error(tmp_path, text)
    assert error.line == 8
    assert "failover" in error.message and "allowed" in error.message


def test_domain_choice_with_several_domains(tmp_path: Path) -> None:
    second = textwrap.indent(
        "branch:\n"
        "  realm: BR.EXAMPLE.COM\n"
        "  base_dn: DC=br,DC=example,DC=com\n"
        "  netbios: BR\n"
        "  credential: lab-admin\n"
        "  dcs: {dc9: {ldap_url: 'ldaps://10.0.0.9'}}\n",
        "  ",
    )
    inventory = load_inventory(write(tmp_path, replace("hosts:\n", second + "hosts:\n")))
    assert inventory.domain("branch")[1].netbios == "BR"
    with pytest.raises(InputError) as caught:
        inventory.domain(None)
    assert str(caught.value) == "the inventory has several domains; name one of: branch, group"
    with pytest.raises(InputError) as caught:
        inventory.domain("grp")
    assert str(caught.value) == "unknown domain 'grp' (known: branch, group)"


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    error = load_error(tmp_path, replace("    netbios: GROUP", "    netbois: GROUP"))
    assert where(error) == (
        "inventory.yml:5: unknown key 'netbois' in domains.group (did you mean 'netbios'?)"
    )


def test_bad_credential_reference(tmp_path: Path) -> None:
    error = load_error(tmp_path, replace("    credential: lab-admin", "    credential: lab-admn"))
    assert where(error) == (
        "inventory.yml:6: credential 'lab-admn' is not in credentials (known: lab-admin)"
    )


def test_bad_host_credential_reference(tmp_path: Path) -> None:
    error = load_error(tmp_path, replace("credential: lab-admin}", "credential: nobody}"))
    assert where(error) == (
        "inventory.yml:19: credential 'nobody' is not in credentials (known: lab-admin)"
    )


def test_a_file_server_company_must_be_one_of_the_companies(tmp_path: Path) -> None:
    text = replace("    address: 127.0.0.1\n", "    address: 127.0.0.1\n    company: ACME\n")
    error = load_error(tmp_path, text)
    assert where(error) == (
        "inventory.yml:19: host fs1: company 'ACME' is not one of companies: HQ, HANTONG"
    )


def test_preferred_dc_must_name_a_dc(tmp_path: Path) -> None:
    error = load_error(tmp_path, replace("preferred_dc: dc2", "preferred_dc: dc3"))
    assert where(error) == "inventory.yml:7: preferred_dc 'dc3' is not one of dcs: dc1, dc2"


def test_overlapping_ip_ranges(tmp_path: Path) -> None:
    error = load_error(tmp_path, replace("172.17.0.0/16", "172.16.128.0/17"))
    assert where(error) == (
        "inventory.yml:28: ip_range 172.16.128.0/17 of HANTONG overlaps 172.16.0.0/16 of HQ"
    )


def test_ip_range_with_host_bits(tmp_path: Path) -> None:
    error = load_error(tmp_path, replace("172.17.0.0/16", "172.17.0.1/16"))
    assert where(error) == (
        "inventory.yml:28: ip_range '172.17.0.1/16' has host bits set; did you mean 172.17.0.0/16?"
    )


def test_duplicate_company_code(tmp_path: Path) -> None:
    error = load_error(tmp_path, replace("code: HANTONG", "code: HQ"))
    assert where(error) == "inventory.yml:26: company code HQ is used twice (first: companies[0])"


def test_company_code_pattern(tmp_path: Path) -> None:
    error = load_error(tmp_path, replace("code: HANTONG", "code: hantong"))
    assert error.line == 26
    assert error.message.startswith("company code 'hantong' must be capitals")


def test_bad_dn(tmp_path: Path) -> None:
    error = load_error(tmp_path, replace("DC=group,DC=example", "OU=group,DC=example"))
    assert where(error) == (
        "inventory.yml:4: base_dn must be DC= components like DC=group,DC=example,DC=com, "
        "not 'OU=group,DC=example,DC=com'"
    )


def test_dn_must_match_the_realm(tmp_path: Path) -> None:
    error = load_error(tmp_path, replace("DC=group,DC=example", "DC=grp,DC=example"))
    assert where(error) == (
        "inventory.yml:4: base_dn 'DC=grp,DC=example,DC=com' does not match realm "
        "GROUP.EXAMPLE.COM (use DC=group,DC=example,DC=com)"
    )


def test_bad_ldap_url(tmp_path: Path) -> None:
    error = load_error(tmp_path, replace("ldaps://127.0.0.1:636", "https://127.0.0.1:636"))
    assert where(error) == (
        "inventory.yml:10: ldap_url must look like ldaps://dc1.example.com:636, "
        "not 'https://127.0.0.1:636'"
    )


def test_bad_winrm_client(tmp_path: Path) -> None:
    error = load_error(tmp_path, replace("client: pypsrp", "client: psrp"))
    assert where(error) == (
        "inventory.yml:20: 'hosts.fs1.winrm.client' must be 'pypsrp' or 'pywinrm', not 'psrp'"
    )


def test_wrong_type(tmp_path: Path) -> None:
    error = load_error(tmp_path, replace("port: 445", "port: many"))
    assert where(error) == (
        "inventory.yml:19: 'hosts.fs1.smb.port' must be a whole number, not 'many'"
    )


def test_missing_key(tmp_path: Path) -> None:
    error = load_error(tmp_path, replace("    netbios: GROUP\n", ""))
    assert where(error) == "inventory.yml:2: domains.group needs 'netbios'"


def test_missing_domains(tmp_path: Path) -> None:
    error = load_error(tmp_path, "companies: []\n")
    assert where(error) == "inventory.yml:1: inventory needs 'domains'"


def test_inventory_must_be_a_mapping(tmp_path: Path) -> None:
    error = load_error(tmp_path, "- a\n- b\n")
    assert where(error) == "inventory.yml:1: an inventory must be a mapping with at least 'domains'"


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_inventory(tmp_path / "nope.yml")
    assert (
        str(caught.value) == f"{tmp_path / 'nope.yml'}: cannot read file: No such file or directory"
    )


def test_model_round_trips_to_plain_data(tmp_path: Path) -> None:
    inventory = load_inventory(write(tmp_path, GOOD))
    data = inventory.model_dump(mode="json")
    assert data["companies"][0] == {
        "code": "HQ",
        "name": "集团总部 Group headquarters",
        "ip_range": "172.16.0.0/16",
    }
    assert Inventory.model_validate(data) == inventory


def test_only_an_inventory_marked_lab_is_the_lab(tmp_path: Path) -> None:
    assert load_inventory(write(tmp_path, GOOD)).lab is False  # warned on all-powerful binds
    assert load_inventory(write(tmp_path, "lab: true\n" + GOOD)).lab is True
    assert "lab" in str(load_error(tmp_path, "lab: maybe\n" + GOOD))


def test_the_shipped_lab_inventory_is_marked_lab() -> None:
    repo = Path(__file__).resolve().parents[2]
    assert load_inventory(repo / "inventory/lab.yml").lab is True
    assert load_inventory(repo / "inventory/production.example.yml").lab is False
