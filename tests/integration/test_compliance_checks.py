"""Mutation tests of `adsuite report compliance` on the real lab DC: a violation planted
by hand (samba-tool and ldbmodify on the DC's own database, never through adsuite)
marks its clause — and no other — not compliant with the object named, and the clause
is compliant again after the repair or an exemption. Exit 0 only when every clause is.

The map holds only the clauses the directory-wide checks of playbooks/checks.yml
prove (二.2.c, 二.1.a, 一.3, 五.6, 三.4), with no playbooks and no evidence, so each clause's
state is its checks'. The test's inventory has one company, the test's own top OU.
The checks read the whole domain, and the lab DC is shared: whatever other tests left
that a check flags is exempted by DN first (ticket TEST-SHARED-LAB), so the clean
starting point is proven by a report that exits 0, never assumed.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml
from labkit import Cli, Lab

REPO = Path(__file__).resolve().parents[2]
BASE = "DC=group,DC=example,DC=com"
CLAUSES = ("二.2.c", "二.1.a", "一.3", "五.6", "三.4")
MEMBER = "bf9679c0-0de6-11d0-a285-00aa003049e2"  # schemaIDGUID of the member attribute


def tool(lab: Lab, *args: str, stdin: str | None = None) -> None:
    sam = str(lab.status.state_dir / "private" / "sam.ldb")
    command = [*args, "-H", sam] if args[0] == "ldbmodify" else [
        "samba-tool", *args, "-H", sam, "-s", str(lab.status.smb_conf)]  # fmt: skip
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=120,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def set_uac(lab: Lab, dn: str, value: int) -> None:
    ldif = (
        f"dn: {dn}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: {value}\n"
    )
    tool(lab, "ldbmodify", stdin=ldif)


def group_sid(lab: Lab, name: str) -> str:
    sam = str(lab.status.state_dir / "private" / "sam.ldb")
    found = subprocess.run(
        ["ldbsearch", "-H", sam, f"(sAMAccountName={name})", "objectSid"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    (sid,) = [line.split(": ", 1)[1] for line in found.splitlines() if line.startswith("objectSid")]
    return sid


def files(
    lab_env: Lab, folder: Path, code: str, exempt: list[dict[str, Any]], shared: Sequence[str] = ()
) -> tuple[Path, Path]:
    data = yaml.safe_load(lab_env.inventory.read_text(encoding="utf-8"))
    data["companies"] = [{"code": code, "name": f"{code} 测试", "ip_range": "10.97.0.0/16"}]
    inventory = folder / "inv.yml"
    inventory.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    checks = yaml.safe_load((REPO / "playbooks" / "checks.yml").read_text(encoding="utf-8"))
    left = [{"object": dn, "reason": "left by another test in the shared lab DC",
             "ticket": "TEST-SHARED-LAB", "expires": "2099-12-31"} for dn in shared]  # fmt: skip
    for task in checks["tasks"]:
        task["check"]["exempt"] = task["check"].get("exempt", []) + left
        if task["check"]["rule"] == "password_flags":
            task["check"]["exempt"] += exempt
    (folder / "checks.yml").write_text(yaml.safe_dump(checks, allow_unicode=True), "utf-8")
    shipped = yaml.safe_load((REPO / "playbooks" / "compliance.yml").read_text(encoding="utf-8"))
    clauses = [dict(c, playbooks=[], tickets=[], evidence=[]) for c in shipped["clauses"]
               if c["id"] in CLAUSES]  # fmt: skip
    doc = {"approvals": str(REPO / "playbooks" / "approvals.yml"), "checks": ["checks.yml"],
           "clauses": clauses}  # fmt: skip
    (folder / "map.yml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return inventory, folder / "map.yml"


def report(cli: Callable[..., Cli], inventory: Path, map_file: Path) -> tuple[int, dict[str, Any]]:
    done = cli("report", "compliance", "-i", str(inventory), "--map", str(map_file),
               "--format", "json", "--ticket", "AUDIT-12")  # fmt: skip
    assert done.code in (0, 2), done.err
    return done.code, {c["id"]: c for c in json.loads(done.out)["clauses"]}


def shared_findings(
    lab_env: Lab, folder: Path, code: str, cli: Callable[..., Cli], mine: str
) -> list[str]:
    """The DNs the checks flag before this test plants anything: other tests' objects."""
    inventory, map_file = files(lab_env, folder, code, [])
    _, clauses = report(cli, inventory, map_file)
    flagged = sorted({f["target"] for c in clauses.values() for k in c["checks"]
                      for f in k["findings"]})  # fmt: skip
    assert not [dn for dn in flagged if mine.lower() in dn.lower()], flagged
    return flagged


def findings(clause: dict[str, Any]) -> str:
    return "\n".join(f["text"] for k in clause["checks"] for f in k["findings"])


def only_broken(clauses: dict[str, Any], broken: str, names: str) -> None:
    states = {i: c["state"] for i, c in clauses.items()}
    assert states == {i: ("drift" if i == broken else "compliant") for i in CLAUSES}, states
    assert names in findings(clauses[broken]), findings(clauses[broken])


def test_planted_violations_mark_their_clause_only_and_clear_after_repair_or_exemption(
    lab_env: Lab, top: str, tmp_path: Path, cli: Callable[..., Cli]
) -> None:
    code = top.upper()
    ou = f"OU={code},{BASE}"
    users = f"{top}u"  # names of this test's own
    shared = shared_findings(lab_env, tmp_path, code, cli, top)
    inventory, map_file = files(lab_env, tmp_path, code, [], shared)
    tool(lab_env, "ou", "create", ou)
    tool(lab_env, "ou", "create", f"OU=Personal Devices,{ou}")
    tool(lab_env, "group", "add", f"{code}-Restricted", "--groupou", f"OU={code}")
    for suffix in ("a", "b", "c"):
        tool(lab_env, "user", "create", users + suffix, "Pw-12345678x!")
    try:
        code_now, clauses = report(cli, inventory, map_file)
        assert code_now == 0, {i: findings(c) for i, c in clauses.items()}

        # 二.2.c: password not required, repaired by hand
        set_uac(lab_env, f"CN={users}a,CN=Users,{BASE}", 0x200 | 0x20)
        code_now, clauses = report(cli, inventory, map_file)
        assert code_now == 2
        only_broken(
            clauses, "二.2.c", f"CN={users}a,CN=Users,{BASE}: userAccountControl has PASSWD_NOTREQD"
        )
        set_uac(lab_env, f"CN={users}a,CN=Users,{BASE}", 0x200)
        assert report(cli, inventory, map_file)[0] == 0

        # 二.2.c: password never expires, cleared by a named exemption
        tool(lab_env, "user", "setexpiry", f"{users}b", "--noexpiry")
        code_now, clauses = report(cli, inventory, map_file)
        only_broken(
            clauses,
            "二.2.c",
            f"CN={users}b,CN=Users,{BASE}: userAccountControl has DONT_EXPIRE_PASSWORD",
        )
        exemption = {"object": f"{users}b", "reason": "test: service account", "ticket": "SEC-1",
                     "expires": "2099-12-31"}  # fmt: skip
        inventory, map_file = files(lab_env, tmp_path, code, [exemption], shared)
        code_now, clauses = report(cli, inventory, map_file)
        assert code_now == 0
        used = [f["text"] for k in clauses["二.2.c"]["checks"] for f in k["warnings"]]
        assert any(f"{users}b" in w and "ticket SEC-1" in w for w in used), used

        # 二.1.a: a user of the company in no class group, then put in one
        tool(lab_env, "user", "create", f"{users}d", "Pw-12345678x!", "--userou", f"OU={code}")
        code_now, clauses = report(cli, inventory, map_file)
        assert code_now == 2
        only_broken(clauses, "二.1.a", f"CN={users}d,{ou}: is in no class group")
        tool(lab_env, "group", "addmembers", f"{code}-Restricted", f"{users}d")
        assert report(cli, inventory, map_file)[0] == 0

        # 一.3: a computer made by hand in Personal Devices (with an asset number, so
        # 一.1 holds), then deleted
        tool(
            lab_env,
            "computer",
            "create",
            f"{code[:8]}PD1",
            "--computerou",
            f"OU=Personal Devices,OU={code}",
        )
        pd = f"CN={code[:8]}PD1,OU=Personal Devices,{ou}"
        tool(
            lab_env,
            "ldbmodify",
            stdin=f"dn: {pd}\nchangetype: modify\nreplace: info\ninfo: asset: PD-1\n",
        )
        code_now, clauses = report(cli, inventory, map_file)
        only_broken(
            clauses, "一.3", f"{pd}: is in Personal Devices but no approved personal_device ticket"
        )
        tool(lab_env, "computer", "delete", f"{code[:8]}PD1")
        assert report(cli, inventory, map_file)[0] == 0

        # 五.6: a DnsAdmins member, then removed
        tool(lab_env, "group", "addmembers", "DnsAdmins", f"{users}c")
        code_now, clauses = report(cli, inventory, map_file)
        assert code_now == 2
        only_broken(clauses, "五.6", f"has member {users}c")
        tool(lab_env, "group", "removemembers", "DnsAdmins", f"{users}c")
        assert report(cli, inventory, map_file)[0] == 0

        # 三.4: a company's IT administrators given write-member on an approver role
        # group by hand; repaired by re-creating the group with its default ACL
        tool(lab_env, "group", "add", f"{code}-IT-Admins", "--groupou", f"OU={code}")
        tool(lab_env, "group", "add", f"{code}-GM", "--groupou", f"OU={code}")
        admins_sid = group_sid(lab_env, f"{code}-IT-Admins")
        gm = f"CN={code}-GM,{ou}"
        tool(lab_env, "dsacl", "set", f"--objectdn={gm}",
             f"--sddl=(OA;;WP;{MEMBER};;{admins_sid})")  # fmt: skip
        code_now, clauses = report(cli, inventory, map_file)
        assert code_now == 2
        only_broken(clauses, "三.4", f"{code}-IT-Admins can change the membership of {code}-GM")
        tool(lab_env, "group", "delete", f"{code}-GM")
        tool(lab_env, "group", "add", f"{code}-GM", "--groupou", f"OU={code}")
        assert report(cli, inventory, map_file)[0] == 0
    finally:
        subprocess.run(["samba-tool", "ou", "delete", ou, "--force-subtree-delete", "-H",
                        str(lab_env.status.state_dir / "private" / "sam.ldb")],
                       capture_output=True, check=False)  # fmt: skip
        for suffix in ("a", "b", "c", "d"):
            subprocess.run(["samba-tool", "user", "delete", users + suffix, "-H",
                            str(lab_env.status.state_dir / "private" / "sam.ldb")],
                           capture_output=True, check=False)  # fmt: skip
        subprocess.run(["samba-tool", "group", "removemembers", "DnsAdmins", f"{users}c", "-H",
                        str(lab_env.status.state_dir / "private" / "sam.ldb")],
                       capture_output=True, check=False)  # fmt: skip
