"""SYSVOL file operations against the lab DC's real sysvol share: a write replaces a file
whole (also one larger than a read chunk), reads come back byte for byte with the
descriptor set, missing files read as None, and a tree is listed and deleted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from labkit import Lab

from adsuite.connectors import smb_files
from adsuite.connectors.credentials import Secret
from adsuite.connectors.smb import SmbEndpoint, SmbHost, Tree
from adsuite.formats import gpo_acl, sddl
from adsuite.formats.security_descriptor import to_bytes

pytestmark = pytest.mark.lab

DOMAIN_SID = "S-1-5-21-1-2-3"  # only the well-known SIDs below are used


@pytest.fixture()
def sysvol(lab_env: Lab) -> Iterator[Tree]:
    status = lab_env.status
    password = Secret(Path(status.secret_file).read_text(encoding="utf-8").strip())
    host = SmbHost.connect(SmbEndpoint("127.0.0.1", 445, status.admin_username), password)
    try:
        yield host.tree("sysvol")
    finally:
        host.close()


def test_files_are_replaced_whole_read_back_and_deleted_with_their_tree(
    lab_env: Lab, sysvol: Tree, top: str
) -> None:
    root = f"{lab_env.status.realm.lower()}\\{top}"
    gpc = sddl.from_sddl(
        "O:BAG:BAD:P(A;CI;RPWPCCDCLCLORCWOWDSDDTSW;;;BA)(A;CI;RPLCLORC;;;AU)", DOMAIN_SID
    )
    descriptor = gpo_acl.file_descriptor(to_bytes(gpc))
    smb_files.ensure_folder(sysvol, f"{root}\\Machine", descriptor)
    big = bytes(range(256)) * 600  # 153,600 bytes: three read chunks
    smb_files.write_file(sysvol, f"{root}\\Machine\\big.bin", b"old content", descriptor)
    smb_files.write_file(sysvol, f"{root}\\Machine\\big.bin", big, descriptor)
    smb_files.write_file(sysvol, f"{root}\\GPT.INI", b"[General]\r\nVersion=1\r\n", descriptor)

    read = smb_files.read_files(
        sysvol, [f"{root}\\Machine\\big.bin", f"{root}\\GPT.INI", f"{root}\\missing.pol"]
    )
    assert read[f"{root}\\Machine\\big.bin"].data == big
    assert read[f"{root}\\GPT.INI"].data == b"[General]\r\nVersion=1\r\n"
    assert read[f"{root}\\missing.pol"] == smb_files.FileState(None, None)
    written = read[f"{root}\\GPT.INI"].descriptor
    assert written is not None and gpo_acl.same_permissions(written, descriptor)

    listed = smb_files.list_tree(sysvol, root) or []
    assert sorted(p.removeprefix(root + "\\") for p, _ in listed) == [
        "GPT.INI",
        "Machine",
        "Machine\\big.bin",
    ]
    assert smb_files.delete_tree(sysvol, root) == 4
    assert smb_files.list_tree(sysvol, root) is None
