"""Benchmark: a file_acl drift check over a tree of 5,000 folders, against smbcacls
reading the same descriptors one by one, in the same run on the same lab share.

    adsuite lab up          # or scripts/lab-in-netns.sh NS up, then run under ip netns exec NS
    .venv/bin/python benchmarks/fileacl_drift.py [--state-dir DIR] [--folders 5000]

It applies a small playbook (an OU, a group, one managed folder with ``check_tree``),
creates the tree below it over SMB (50 folders of 99 subfolders for 5,000, pipelined),
gives 5 of them an explicit ACE (drift), then times ``adsuite drift``'s plan (facts +
plan, in process; best of 3) and ``smbcacls --sddl --query-security-info=7`` run once
per folder. ``--smbcacls-sample N`` times only N folders and extrapolates. Results go
to benchmarks/out/fileacl_drift.json and stdout as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from benchlab import OUT_DIR, LabTarget, lab_target, machine

from adsuite.connectors import smb, smb_walk
from adsuite.connectors.credentials import Secret
from adsuite.connectors.smb import SmbEndpoint, SmbHost, Tree
from adsuite.engine.session import Session
from adsuite.formats import security_descriptor as sdlib

log = logging.getLogger(__name__)

ROOT = "BenchFS\\Tree"
DRIFTED = 5
INVENTORY = OUT_DIR / "fileacl_inventory.yml"
PLAYBOOK = OUT_DIR / "fileacl_playbook.yml"
RESULT = OUT_DIR / "fileacl_drift.json"
JOURNAL = OUT_DIR / "fileacl_journal.sqlite"


def write_inputs(target: LabTarget) -> None:
    inventory = {
        "domains": {
            "bench": {
                "realm": target.realm,
                "base_dn": target.base_dn,
                "netbios": target.netbios,
                "credential": "bench-admin",
                "dcs": {
                    "dc1": {
                        "ldap_url": target.ldap_url,
                        "ca_file": str(target.ca_file),
                        "tls_name": target.tls_name,
                    }
                },
            }
        },
        "hosts": {"fs1": {"address": target.host, "smb": {"credential": "bench-admin"}}},
        "credentials": {
            "bench-admin": {"username": target.username, "secret_file": str(target.secret_file)}
        },
    }
    folder = {
        "host": "fs1",
        "share": "data",
        "path": ROOT.replace("\\", "/"),
        "data_owner": {"department": "Bench", "head": "bench.head"},
        "inherit": False,
        "access": [
            {"who": "Administrators", "rights": "full"},
            {"who": "BenchFS-RW", "rights": "modify"},
        ],
        "check_tree": True,
    }
    playbook = {
        "name": "file_acl drift benchmark",
        "tasks": [
            {"ou": {"path": "BenchFS", "protected": False}},
            {"group": {"name": "BenchFS-RW", "ou": "BenchFS"}},
            {"file_acl": folder},
        ],
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    INVENTORY.write_text(yaml.safe_dump(inventory, sort_keys=False), encoding="utf-8")
    PLAYBOOK.write_text(yaml.safe_dump(playbook, sort_keys=False, allow_unicode=True), "utf-8")


def tree_paths(count: int) -> list[str]:
    """*count* folders below ROOT: 50 top folders, the rest spread evenly under them."""
    tops = min(50, count)
    paths = [f"{ROOT}\\d{i:02d}" for i in range(tops)]
    for n in range(count - tops):
        paths.append(f"{paths[n % tops]}\\s{n // tops:03d}")
    return paths


def create_tree(tree: Tree, paths: list[str]) -> float:
    started = time.perf_counter()

    def build(path: str) -> list[Any]:
        access = smb.SYNCHRONIZE | smb.READ_CONTROL
        return [smb.create_request(path, access, 3), smb.close_request()]  # 3: FILE_OPEN_IF

    def check(path: str, replies: list[smb.Reply]) -> None:
        if not replies[0].ok:
            raise SystemExit(f"cannot create {path}: {smb.words(replies[0].status)}")

    for depth in sorted({p.count("\\") for p in paths}):
        level = [p for p in paths if p.count("\\") == depth]
        smb_walk.pipeline(tree, level, build, check, per_item=2)
    return time.perf_counter() - started


def add_drift(tree: Tree, paths: list[str]) -> list[str]:
    chosen = paths[:: max(1, len(paths) // DRIFTED)][:DRIFTED]
    for path in chosen:
        sd = sdlib.parse(smb.query_security(tree, path, smb.DACL_INFO) or b"")
        extra = sdlib.Ace(sdlib.AceType.ACCESS_ALLOWED, 0, 0x1200A9, "S-1-5-11")
        dacl = sd.dacl or sdlib.Acl(2)
        changed = sd.with_dacl(sdlib.Acl(dacl.revision, (extra, *dacl.aces)))
        smb.set_security(tree, path, sdlib.to_bytes(changed), smb.DACL_INFO)
    return chosen


def time_drift(rounds: int) -> tuple[list[float], int, int]:
    session = Session.from_files(PLAYBOOK, INVENTORY, JOURNAL)
    times, findings, read = [], 0, 0
    for _ in range(rounds):
        started = time.perf_counter()
        with session.connect() as conn:
            plan = session.plan(conn)
        times.append(time.perf_counter() - started)
        findings, read = len(plan.changes), plan.objects_read
    return times, findings, read


def time_smbcacls(target: LabTarget, paths: list[str], sample: int | None) -> tuple[float, int]:
    chosen = paths if not sample else paths[:: max(1, len(paths) // sample)][:sample]
    with tempfile.TemporaryDirectory() as folder:
        auth = Path(folder) / "auth"
        user = target.username.split("@")[0]
        auth.write_text(f"username={user}\npassword={target.password()}\ndomain={target.netbios}\n")
        auth.chmod(0o600)
        started = time.perf_counter()
        for path in chosen:
            done = subprocess.run(
                [
                    "smbcacls",
                    f"//{target.host}/data",
                    path.replace("\\", "/"),
                    "-A",
                    str(auth),
                    "--sddl",
                    "--query-security-info=7",
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            if done.returncode != 0:
                raise SystemExit(f"smbcacls failed on {path}: {done.stdout}{done.stderr}")
        return time.perf_counter() - started, len(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--folders", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smbcacls-sample", type=int, default=0)
    args = parser.parse_args()
    target = lab_target(args.state_dir)
    write_inputs(target)
    setup = Session.from_files(PLAYBOOK, INVENTORY, JOURNAL)
    with setup.connect() as conn:
        setup.apply(setup.plan(conn), conn)
    host = SmbHost.connect(
        SmbEndpoint(target.host, 445, target.username), Secret(target.password())
    )
    paths = tree_paths(args.folders)
    try:
        tree = host.tree("data")
        created_in = create_tree(tree, paths)
        drifted = add_drift(tree, paths)
    finally:
        host.close()
    times, findings, read = time_drift(args.rounds)
    tool_seconds, tool_count = time_smbcacls(target, [ROOT, *paths], args.smbcacls_sample)
    per_folder = tool_seconds / tool_count
    report(args, created_in, drifted, times, findings, read, per_folder, len(paths) + 1)


def report(
    args: argparse.Namespace,
    created_in: float,
    drifted: list[str],
    times: list[float],
    findings: int,
    read: int,
    per_folder: float,
    total: int,
) -> None:
    best, median = min(times), statistics.median(times)
    smbcacls_all = per_folder * total
    result = {
        "machine": machine(),
        "folders": total,
        "created_in_s": round(created_in, 2),
        "drift_findings": findings,
        "drift_expected": len(drifted),
        "objects_read": read,
        "adsuite_drift_s": {"best": round(best, 2), "median": round(median, 2)},
        "smbcacls_per_folder_ms": round(per_folder * 1000, 1),
        "smbcacls_all_s": round(smbcacls_all, 1),
        "smbcacls_sampled": args.smbcacls_sample or total,
        "speedup": round(smbcacls_all / best, 1),
    }
    RESULT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    sampled = f" (timed {args.smbcacls_sample}, extrapolated)" if args.smbcacls_sample else ""
    print(f"| what | {total} folders |\n|---|---|")
    print(f"| adsuite drift (facts + plan, best of {len(times)}) | {best:.1f} s |")
    print(f"| smbcacls, one process per folder{sampled} | {smbcacls_all:.1f} s |")
    print(f"| speed-up | {smbcacls_all / best:.0f}× |")
    print(f"findings: {findings} (expected {len(drifted)}); result in {RESULT}")


if __name__ == "__main__":
    main()
