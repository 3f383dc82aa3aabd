"""The one-company inventory the unit tests of playbook loading share."""

from __future__ import annotations

from pathlib import Path

from adsuite.runtime.inventory import Inventory, load_inventory

INVENTORY = """\
domains:
  group:
    realm: GROUP.EXAMPLE.COM
    base_dn: DC=group,DC=example,DC=com
    netbios: GROUP
    credential: admin
    dcs: {dc1: {ldap_url: "ldaps://127.0.0.1:636"}}
companies:
  - {code: HQ, name: 集团总部 Group headquarters, ip_range: 172.16.0.0/16}
credentials:
  admin: {username: Administrator@GROUP.EXAMPLE.COM}
"""


def load_in(folder: Path) -> Inventory:
    """Write the inventory into *folder* and load it (the tests' current directory)."""
    path = folder / "inventory.yml"
    path.write_text(INVENTORY, encoding="utf-8")
    return load_inventory(path)
