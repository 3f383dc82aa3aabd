"""The GPT folder's permissions derived from the container's, checked against Samba's own
``samba.ntacls.dsacl2fsacl`` (what ``samba-tool gpo create`` sets and ``ntacl
sysvolcheck`` / ``gpo aclcheck`` expect)."""

from __future__ import annotations

import json
import subprocess

import pytest
from samba_oracle import SYSTEM_PYTHON

from adsuite.formats import gpo_acl, sddl
from adsuite.formats import security_descriptor as sdlib

DOMAIN_SID = "S-1-5-21-1-2-3"
GPC_SDDL = {
    # a container as Samba 4.17 creates it (schema default of groupPolicyContainer)
    "new GPO": (
        "O:DAG:DAD:P(A;CI;RPWPCCDCLCLORCWOWDSDDTSW;;;DA)(A;CI;RPWPCCDCLCLORCWOWDSDDTSW;;;EA)"
        "(A;CIIO;RPWPCCDCLCLORCWOWDSDDTSW;;;CO)(A;;RPWPCCDCLCLORCWOWDSDDTSW;;;DA)"
        "(A;CI;RPWPCCDCLCLORCWOWDSDDTSW;;;SY)(A;CI;RPLCLORC;;;AU)"
        "(OA;CI;CR;edacfd8f-ffb3-11d1-b41d-00a0c968f939;;AU)(A;CI;RPLCLORC;;;ED)"
    ),
    # filtered to one group, Pre-Windows 2000 and a deny ACE (both dropped from files)
    "filtered": (
        "O:DAG:DAD:PAI(A;CI;RPWPCCDCLCLORCWOWDSDDTSW;;;DA)(D;;WP;;;S-1-5-21-1-2-3-1200)"
        "(A;CI;RPLCLORC;;;AU)(A;CI;RPLCLORC;;;S-1-5-32-554)"
        "(A;CI;RPLCLORC;;;S-1-5-21-1-2-3-1104)"
        "(OA;CI;CR;edacfd8f-ffb3-11d1-b41d-00a0c968f939;;S-1-5-21-1-2-3-1104)"
    ),
}


def samba_fs_descriptors(sddls: list[str]) -> list[bytes]:
    script = (
        "import json,sys\n"
        "from samba.ntacls import dsacl2fsacl\n"
        "from samba.dcerpc import security\n"
        "from samba.ndr import ndr_pack\n"
        "sid = security.dom_sid(sys.argv[1])\n"
        "out = [ndr_pack(dsacl2fsacl(s, sid, as_sddl=False)).hex() for s in json.load(sys.stdin)]\n"
        "print(json.dumps(out))"
    )
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", script, DOMAIN_SID],
        input=json.dumps(sddls),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"Samba's dsacl2fsacl failed (python3-samba is required):\n{done.stderr}")
    return [bytes.fromhex(h) for h in json.loads(done.stdout)]


def test_the_gpt_permissions_are_what_samba_derives_from_the_container() -> None:
    names = list(GPC_SDDL)
    expected = samba_fs_descriptors([GPC_SDDL[n] for n in names])
    for name, theirs in zip(names, expected, strict=True):
        ours = gpo_acl.file_descriptor(sdlib.to_bytes(sddl.from_sddl(GPC_SDDL[name], DOMAIN_SID)))
        mine, samba = sdlib.parse(ours), sdlib.parse(theirs)
        assert (mine.owner, mine.group, mine.dacl) == (samba.owner, samba.group, samba.dacl), name
        assert gpo_acl.same_permissions(ours, theirs), name


def test_directory_rights_become_file_rights_as_samba_maps_them() -> None:
    assert gpo_acl.file_rights(0x000F01FF & ~0x100) == 0x001F01FF  # full control
    assert gpo_acl.file_rights(0x00020094) == 0x001200A9  # read
    assert gpo_acl.file_rights(0x100) == 0  # Apply Group Policy alone: no file right


def test_a_file_that_only_inherits_passes_and_an_explicit_one_must_match() -> None:
    inherited = sddl.from_sddl("O:DAG:DAD:AI(A;ID;FA;;;DA)(A;ID;0x1200a9;;;AU)", DOMAIN_SID)
    explicit = sddl.from_sddl("O:DAG:DAD:(A;;FA;;;DA)", DOMAIN_SID)
    assert gpo_acl.only_inherits(sdlib.to_bytes(inherited))
    assert not gpo_acl.only_inherits(sdlib.to_bytes(explicit))
