"""The pure parts of a lab of several DCs: where DCk lives, how it joins, how it resolves."""

from __future__ import annotations

from pathlib import Path

import pytest

from adsuite.errors import LabError
from adsuite.lab.config import LabConfig
from adsuite.lab.namespace import in_private_mounts, resolv_conf_text
from adsuite.lab.replica import join_args, partitions, replica_config


def test_dc_k_lives_in_its_own_folder_on_its_own_loopback_address(tmp_path: Path) -> None:
    dc3 = replica_config(LabConfig(state_dir=tmp_path), 3)
    assert (dc3.state_dir, dc3.host_name, dc3.host_ip) == (tmp_path / "dc3", "dc3", "127.0.0.3")
    assert dc3.realm == "GROUP.EXAMPLE.COM"


@pytest.mark.parametrize("index", [0, 1, 10])
def test_only_dcs_2_to_9_can_be_replicas(tmp_path: Path, index: int) -> None:
    with pytest.raises(LabError, match="DCs 1 to 9"):
        replica_config(LabConfig(state_dir=tmp_path), index)


def test_join_names_dc1_binds_only_its_address_and_carries_no_password(tmp_path: Path) -> None:
    args = join_args(replica_config(LabConfig(state_dir=tmp_path), 2))
    assert args[:4] == ["domain", "join", "group.example.com", "DC"]
    assert "--server=127.0.0.1" in args
    # with a mask Samba takes the address without finding it on an interface
    assert "--option=interfaces=127.0.0.2/8" in args
    assert "--option=bind interfaces only=yes" in args
    assert "--option=netbios name=DC2" in args
    assert not [a for a in args if a.startswith(("--password", "--adminpass"))]


def test_every_partition_of_the_lab_domain_is_replicated() -> None:
    assert partitions("GROUP.EXAMPLE.COM") == (
        "CN=Schema,CN=Configuration,DC=group,DC=example,DC=com",
        "CN=Configuration,DC=group,DC=example,DC=com",
        "DC=group,DC=example,DC=com",
        "DC=DomainDnsZones,DC=group,DC=example,DC=com",
        "DC=ForestDnsZones,DC=group,DC=example,DC=com",
    )


def test_paths_reach_the_namespace_script_as_arguments_not_as_text() -> None:
    odd = Path("/tmp/a b;rm -rf x/resolv.conf")
    command = in_private_mounts(["samba", "-s", "/tmp/x y/smb.conf", "-D"], odd)
    assert command[:4] == ["unshare", "--mount", "--propagation", "private"]
    script = command[6]
    assert str(odd) not in script and "smb.conf" not in script
    assert command[7:] == ["sh", str(odd), "samba", "-s", "/tmp/x y/smb.conf", "-D"]


def test_resolv_conf_names_dc1_first_then_the_dc_itself() -> None:
    text = resolv_conf_text("GROUP.EXAMPLE.COM", ["127.0.0.1", "127.0.0.2"])
    assert text.splitlines()[:3] == [
        "nameserver 127.0.0.1",
        "nameserver 127.0.0.2",
        "search group.example.com",
    ]
