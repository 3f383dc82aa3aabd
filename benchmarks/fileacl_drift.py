"""Benchmark: ``adsuite drift`` of a file_acl ``check_tree`` over N folders, against one
smbclient session reading the same security descriptors, paired and interleaved.

    scripts/lab-in-netns.sh NS up
    ip netns exec NS .venv/bin/python benchmarks/fileacl_drift.py --state-dir /tmp/NS-lab \
        --folders 500 --pairs 5

It applies a small playbook (an OU, a group, one managed folder ``BenchFS/Tree<N>`` with
``check_tree``), creates N folders below it over SMB (50 top folders, the rest spread
under them; pipelined), gives 5 of them an explicit ACE (drift), then times, whole
process against whole process, in turn (A B A B ...):

- A: ``adsuite drift PLAYBOOK -i INVENTORY`` (process start, imports, LDAPS bind, SMB
  session, the tree walk, SID naming, planning, the journal run);
- B: ``smbclient //HOST/data -A AUTH --client-protection=encrypt -D BenchFS/Tree<N>
  -c 'showacls; recurse; ls'``: one session listing every folder below the root and
  reading its owner, group and DACL. ``--client-protection=encrypt`` because adsuite's
  session is encrypted (SMB 3.1.1, AES-128-GCM); ``--b-protection default`` times
  smbclient's default (signed, not encrypted) instead.

The password reaches smbclient through an authentication file (mode 0600, removed at
the end), never argv. ``--smbcacls-sample N`` also times smbcacls once per folder for N
folders (the first round's baseline). ``--prepare-only`` builds the tree, writes the
inputs and prints both command lines (to time them with another tool). Results go to
benchmarks/out/fileacl_drift_<N>.json and stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from benchlab import OUT_DIR, REPO_DIR, LabTarget, lab_target, machine

from adsuite.connectors import smb, smb_walk
from adsuite.connectors.credentials import Secret
from adsuite.connectors.smb import SmbEndpoint, SmbHost, Tree
from adsuite.engine.session import Session
from adsuite.formats import security_descriptor as sdlib

log = logging.getLogger(__name__)

DRIFTED = 5
INVENTORY = OUT_DIR / "fileacl_inventory.yml"
JOURNAL = OUT_DIR / "fileacl_journal.sqlite"
AUTH = OUT_DIR / "fileacl_smbclient.auth"


@dataclass(frozen=True)
class Setup:
    """One tree size: its root folder, playbook and result file."""

    folders: int

    @property
    def root(self) -> str:
        return f"BenchFS\\Tree{self.folders}"

    @property
    def playbook(self) -> Path:
        return OUT_DIR / f"fileacl_playbook_{self.folders}.yml"

    @property
    def result(self) -> Path:
        return OUT_DIR / f"fileacl_drift_{self.folders}.json"


def write_inputs(target: LabTarget, setup: Setup) -> None:
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
        "journal": JOURNAL.name,  # relative to the inventory: benchmarks/out/
    }
    folder = {
        "host": "fs1",
        "share": "data",
        "path": setup.root.replace("\\", "/"),
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
    setup.playbook.write_text(yaml.safe_dump(playbook, sort_keys=False), encoding="utf-8")


def write_auth(target: LabTarget) -> None:
    """smbclient's authentication file, created 0600 before the password is written."""
    AUTH.unlink(missing_ok=True)
    descriptor = os.open(AUTH, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    user = target.username.split("@")[0]
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(f"username={user}\npassword={target.password()}\ndomain={target.netbios}\n")


def tree_paths(root: str, count: int) -> list[str]:
    """*count* folders below *root*: 50 top folders, the rest spread evenly under them."""
    tops = min(50, count)
    paths = [f"{root}\\d{i:02d}" for i in range(tops)]
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
    """An explicit ACE on DRIFTED folders (again on a second run: set, not added twice)."""
    chosen = paths[:: max(1, len(paths) // DRIFTED)][:DRIFTED]
    extra = sdlib.Ace(sdlib.AceType.ACCESS_ALLOWED, 0, 0x1200A9, "S-1-5-11")
    for path in chosen:
        sd = sdlib.parse(smb.query_security(tree, path, smb.DACL_INFO) or b"")
        dacl = sd.dacl or sdlib.Acl(2)
        aces = tuple(a for a in dacl.aces if a != extra)
        changed = sd.with_dacl(sdlib.Acl(dacl.revision, (extra, *aces)))
        smb.set_security(tree, path, sdlib.to_bytes(changed), smb.DACL_INFO)
    return chosen


def prepare(target: LabTarget, setup: Setup) -> tuple[float, list[str]]:
    write_inputs(target, setup)
    session = Session.from_files(setup.playbook, INVENTORY, JOURNAL)
    with session.connect() as conn:
        session.apply(session.plan(conn), conn)
    host = SmbHost.connect(
        SmbEndpoint(target.host, 445, target.username), Secret(target.password())
    )
    try:
        tree = host.tree("data")
        paths = tree_paths(setup.root, setup.folders)
        return create_tree(tree, paths), add_drift(tree, paths)
    finally:
        host.close()


def commands(target: LabTarget, setup: Setup, protection: str) -> dict[str, list[str]]:
    adsuite = str(REPO_DIR / ".venv" / "bin" / "adsuite")
    drift = [adsuite, "drift", str(setup.playbook), "-i", str(INVENTORY)]
    smbclient = ["smbclient", f"//{target.host}/data", "-A", str(AUTH)]
    if protection != "default":
        smbclient.append(f"--client-protection={protection}")
    smbclient += ["-D", setup.root.replace("\\", "/"), "-c", "showacls; recurse; ls"]
    return {"adsuite": drift, "smbclient": smbclient}


def run_once(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system of the child) and stdout of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 2):  # drift exits 2 when it finds drift
        raise SystemExit(f"{command[0]} exited {done.returncode}: {done.stderr[-400:]}")
    return wall, cpu, done.stdout


def pair(cmds: dict[str, list[str]], pairs: int) -> dict[str, dict[str, list[float]]]:
    """One warm-up each, then A B A B ...; wall and CPU seconds of every counted run."""
    times: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": []} for n in cmds}
    for command in cmds.values():
        run_once(command)
    for _ in range(pairs):
        for name, command in cmds.items():
            wall, cpu, _ = run_once(command)
            times[name]["wall"].append(wall)
            times[name]["cpu"].append(cpu)
    return times


def check_same_work(cmds: dict[str, list[str]], setup: Setup) -> int:
    """Both read every folder: smbclient lists N folders below the root, drift finds 5."""
    _, _, listing = run_once(cmds["smbclient"])
    folders = sum(1 for line in listing.splitlines() if line.startswith("FILENAME:"))
    if folders != setup.folders:
        raise SystemExit(f"smbclient saw {folders} folders, expected {setup.folders}")
    _, _, drift = run_once(cmds["adsuite"])
    if f"Drift: {DRIFTED} findings" not in drift:
        raise SystemExit(f"adsuite drift did not report {DRIFTED} findings:\n{drift[-400:]}")
    return folders


def time_smbcacls(target: LabTarget, paths: list[str], sample: int) -> float:
    """Seconds per folder of smbcacls, one process per folder, over *sample* folders."""
    chosen = paths[:: max(1, len(paths) // sample)][:sample]
    started = time.perf_counter()
    for path in chosen:
        sddl = ["--sddl", "--query-security-info=7"]
        unc = f"//{target.host}/data"
        run_once(["smbcacls", unc, path.replace("\\", "/"), "-A", str(AUTH), *sddl])
    return (time.perf_counter() - started) / len(chosen)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--folders", type=int, default=500)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--b-protection", choices=("encrypt", "sign", "default"), default="encrypt")
    parser.add_argument("--smbcacls-sample", type=int, default=0)
    parser.add_argument("--prepare-only", action="store_true")
    args = parser.parse_args()
    target, setup = lab_target(args.state_dir), Setup(args.folders)
    load_at_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    created_in, drifted = prepare(target, setup)
    write_auth(target)
    try:
        cmds = commands(target, setup, args.b_protection)
        os.environ["ADSUITE_JOURNAL"] = str(JOURNAL)
        seen = check_same_work(cmds, setup)
        if args.prepare_only:
            print(f"A: ADSUITE_JOURNAL={JOURNAL} {subprocess.list2cmdline(cmds['adsuite'])}")
            print(f"B: {subprocess.list2cmdline(cmds['smbclient'])}")
            return
        times = pair(cmds, args.pairs)
        paths = [setup.root, *tree_paths(setup.root, setup.folders)]
        sample = args.smbcacls_sample
        per_folder = time_smbcacls(target, paths, sample) if sample else 0.0
    finally:
        if not args.prepare_only:
            AUTH.unlink(missing_ok=True)
    walls = [t["wall"] for t in times.values()]
    result = {
        "machine": {**machine(), "load average at start": load_at_start},
        "load average at end": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "folders": seen,
        "created_in_s": round(created_in, 2),
        "drifted": drifted,
        "commands": {n: subprocess.list2cmdline(c) for n, c in cmds.items()},
        "pairs": args.pairs,
        "seconds": {n: {k: summary(v) for k, v in t.items()} for n, t in times.items()},
        "ratio_wall": summary([a / b for a, b in zip(*walls, strict=True)]),
        "smbcacls_per_folder_ms": round(per_folder * 1000, 1) if per_folder else None,
    }
    setup.result.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    report(result, setup)


def report(result: dict[str, Any], setup: Setup) -> None:
    out = sys.stdout
    out.write(f"| {result['folders']} folders, {result['pairs']} pairs | median | min–max |\n")
    out.write("|---|---|---|\n")
    for name, seconds in result["seconds"].items():
        for what in ("wall", "cpu"):
            s = seconds[what]
            out.write(f"| {name} {what} s | {s['median']:.2f} | {s['min']:.2f}–{s['max']:.2f} |\n")
    r = result["ratio_wall"]
    out.write(f"| adsuite / smbclient, wall, pair by pair | {r['median']:.2f} |")
    out.write(f" {r['min']:.2f}–{r['max']:.2f} |\n")
    if result["smbcacls_per_folder_ms"]:
        out.write(f"smbcacls, one process per folder: {result['smbcacls_per_folder_ms']} ms\n")
    load = result["machine"]["load average at start"]
    out.write(f"load average {load} → {result['load average at end']}; {setup.result}\n")


if __name__ == "__main__":
    main()
