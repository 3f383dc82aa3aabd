"""Time ``adsuite drift`` of the seeded Bench tree against ``ldapsearch`` reading it.

Run after ``benchmarks/seed.py``, inside the namespace whose ``/etc/hosts`` maps the
DC's certificate name to 127.0.0.1 (``benchmarks/run.sh`` sets that up):

1. checks that a drift check of the fresh seed is clean (exit 0, no findings);
2. runs adsuite once in-process (``adsuite_probe.py``) to record the searches it sends,
   so ldapsearch asks for exactly the attributes adsuite reads; once more under cProfile;
3. times, interleaved and ``--repeat`` times each: ``adsuite drift ... --format json
   -o /dev/null``; ``ldapsearch`` of OUs, groups and users under ``OU=Bench`` with those
   attributes; the same from the base DN; and one ldapsearch per object class (what
   adsuite needs, no more);
4. prints the Markdown report and writes ``BENCHMARKS.md`` and ``benchmarks/out/results.json``.

Every process is timed on its own: wall time and CPU (``os.wait4``), peak RSS (GNU
time) and the CPU the DC's Samba processes spent meanwhile. TLS certificates are
validated by both tools.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchlab import (
    BENCH_DIR,
    INVENTORY,
    OUT_DIR,
    PLAYBOOK,
    REPO_DIR,
    SEED_META,
    LabTarget,
    lab_target,
    machine,
    read_json,
)
from report import Measured, markdown, profile_tables, save_results, write_section

SD_FLAGS_OID = "1.2.840.113556.1.4.801"
GNU_TIME = "/usr/bin/time"
BASELINE = OUT_DIR / "baseline.sh"
OBJECT_CLASS = re.compile(r"\(objectClass=([A-Za-z]+)\)")


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mb: float
    dc_cpu: float
    exit_code: int


@dataclass
class Tool:
    name: str
    commands: list[list[str]]
    env: dict[str, str]
    samples: list[Sample] = field(default_factory=list)
    entries: int | None = None
    round_trips: int | None = None


def samba_cpu(target: LabTarget) -> float:
    """CPU seconds used so far by the lab DC's processes (one session, led by samba)."""
    leader = int((target.state_dir / "run" / "samba.pid").read_text().strip())
    ticks = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.getsid(int(pid)) != leader:
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def run_once(command: list[str], env: dict[str, str], target: LabTarget) -> Sample:
    """Run *command* to completion under GNU time, which gives its true peak RSS.

    ``os.wait4`` alone would not: a child's ru_maxrss starts from the RSS of the process
    it was forked from (this one), so a 10 MB ldapsearch would show this script's size.
    """
    with tempfile.NamedTemporaryFile("r", prefix="adsuite-bench-rss-") as rss:
        dc_before = samba_cpu(target)
        started = time.perf_counter()
        process = subprocess.Popen(
            [GNU_TIME, "-f", "%M", "-o", rss.name, *command],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        errors = process.stderr.read()
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        dc_cpu = samba_cpu(target) - dc_before
        process.returncode = os.waitstatus_to_exitcode(status)
        process.stderr.close()
        peak_kb = int(rss.read().split()[-1])
    if process.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{errors[-2000:]}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, peak_kb / 1024, dc_cpu, process.returncode)


def run_tool(tool: Tool, target: LabTarget) -> Sample:
    parts = [run_once(command, tool.env, target) for command in tool.commands]
    return Sample(
        wall=sum(p.wall for p in parts),
        cpu=sum(p.cpu for p in parts),
        rss_mb=max(p.rss_mb for p in parts),
        dc_cpu=sum(p.dc_cpu for p in parts),
        exit_code=max(p.exit_code for p in parts),
    )


# --- the commands ---------------------------------------------------------------------


def adsuite_executable() -> str:
    """The console script next to this Python, not a pyenv shim that would add a shell."""
    beside = Path(sys.executable).parent / "adsuite"
    found = str(beside) if beside.exists() else shutil.which("adsuite")
    if found is None:
        raise SystemExit("adsuite is not installed (pip install -e .)")
    return found


def drift_command(playbook: Path, inventory: Path, output: str | None = None) -> list[str]:
    """The timed drift check, a full read (``--full``: this benchmark pairs reading the
    whole domain with ldapsearch; benchmarks/incremental_drift.py times the default
    read); without *output* the JSON goes to stdout (discarded): adsuite refuses
    ``-o /dev/null``, which is not a regular file."""
    files = [str(playbook), "-i", str(inventory)]
    out = ["-o", output] if output else []
    return [adsuite_executable(), "drift", *files, "--full", "--format", "json", *out]


def sd_control(flags: int) -> str:
    """``-E`` argument for the SD flags control: BER SEQUENCE { INTEGER flags }."""
    value = base64.b64encode(bytes([0x30, 0x03, 0x02, 0x01, flags])).decode()
    return f"{SD_FLAGS_OID}=::{value}"


def ldapsearch(
    target: LabTarget,
    password_file: Path,
    base: str,
    flt: str,
    attributes: Sequence[str],
    *,
    scope: str = "sub",
    sd_flags: int | None = 4,
) -> list[str]:
    sd = ["-E", sd_control(sd_flags)] if sd_flags else []
    return [
        "ldapsearch",
        "-H",
        f"ldaps://{target.tls_name}",
        "-x",
        "-D",
        target.username,
        "-y",
        str(password_file),
        "-E",
        "pr=1000/noprompt",
        *sd,
        "-s",
        scope,
        "-b",
        base,
        flt,
        *(attributes or ["1.1"]),
    ]


def same_searches(
    target: LabTarget, password_file: Path, searches: Sequence[dict[str, Any]]
) -> list[list[str]]:
    """One ldapsearch per search adsuite sent: same base, scope, filter, attributes and
    SD flags (none where adsuite sent none), so both tools ask the DC for the same data."""
    seen: dict[tuple[Any, ...], list[str]] = {}
    for s in searches:
        key = (s["base"], s["scope"], s["filter"], tuple(s["attributes"]), s["sd_flags"])
        seen.setdefault(
            key,
            ldapsearch(
                target,
                password_file,
                s["base"],
                s["filter"],
                s["attributes"],
                scope={"one": "one", "base": "base"}.get(s["scope"], "sub"),
                sd_flags=s["sd_flags"],
            ),
        )
    return list(seen.values())


def write_baseline_script(commands: Sequence[list[str]], ca_file: Path, path: Path) -> None:
    """The exact-searches baseline as one shell script, to time it with other tools."""
    lines = ["#!/bin/sh", "# adsuite's searches replayed with ldapsearch (generated)", "set -e"]
    lines.append(f"export LDAPTLS_CACERT={shlex.quote(str(ca_file))} LDAPTLS_REQCERT=demand")
    lines.append(': "${PASSWORD_FILE:?the lab admin password, no newline}"')
    for command in commands:
        words = ['"$PASSWORD_FILE"' if w.endswith("/password") else shlex.quote(w) for w in command]
        lines.append(" ".join(words) + " >/dev/null")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o755)


def attributes_by_class(searches: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    """What adsuite read, per object class named in its filters (lookups add nothing new)."""
    out: dict[str, dict[str, str]] = {}
    for search in searches:
        match = OBJECT_CLASS.search(search["filter_head"])
        if match is None or search["scope"] == "base":
            continue
        names = out.setdefault(match.group(1), {})
        for name in search["attributes"]:
            names.setdefault(name.lower(), name)
    return {cls: list(names.values()) for cls, names in out.items()}


def tools(
    target: LabTarget, args: argparse.Namespace, password_file: Path, probe: dict[str, Any]
) -> list[Tool]:
    env = {**os.environ, "LDAPTLS_CACERT": str(target.ca_file), "LDAPTLS_REQCERT": "demand"}
    by_class = attributes_by_class(probe["searches"])
    union = list({a.lower(): a for names in by_class.values() for a in names}.values())
    flt = "(|" + "".join(f"(objectClass={c})" for c in sorted(by_class)) + ")"
    bench, base = target.bench_dn, target.base_dn
    exact = same_searches(target, password_file, probe["searches"])
    write_baseline_script(exact, target.ca_file, BASELINE)
    return [
        Tool("adsuite drift", [drift_command(args.playbook, args.inventory)], env),
        Tool("ldapsearch -b OU=Bench", [ldapsearch(target, password_file, bench, flt, union)], env),
        Tool("ldapsearch -b <base DN>", [ldapsearch(target, password_file, base, flt, union)], env),
        Tool("ldapsearch, adsuite's searches", exact, env),
        Tool("adsuite --version (startup)", [[adsuite_executable(), "--version"]], env),
    ]


# --- steps ----------------------------------------------------------------------------


@contextmanager
def password_file(target: LabTarget) -> Iterator[Path]:
    """The admin password without a newline (ldapsearch -y sends the file's bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="adsuite-bench-"))
    path = folder / "password"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(target.password())
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check_name_resolution(target: LabTarget) -> None:
    try:
        address = socket.gethostbyname(target.tls_name)
    except OSError:
        address = "nothing"
    if address != target.host:
        raise SystemExit(
            f"{target.tls_name} resolves to {address}, not {target.host}: run inside the "
            "namespace with /etc/netns/<name>/hosts mapping it (benchmarks/run.sh does)"
        )


def verify_clean(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    report = OUT_DIR / "drift_report.json"
    command = drift_command(args.playbook, args.inventory, str(report))
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 2):
        raise SystemExit(f"adsuite drift failed ({done.returncode}): {done.stderr.strip()}")
    data = read_json(report)
    changes = data.get("changes", [])
    for change in changes[:10]:
        print(
            f"  DRIFT {change.get('kind')} {change.get('action')} {change.get('target')}: "
            f"{change.get('before')} -> {change.get('after')}"
        )
    return {
        "exit_code": done.returncode,
        "counts": data.get("counts"),
        "findings": len(changes),
        "clean": done.returncode == 0 and not changes,
    }


def probe(args: argparse.Namespace, env: dict[str, str], profile: Path | None) -> dict[str, Any]:
    out = OUT_DIR / ("probe_profiled.json" if profile else "probe.json")
    command = [sys.executable, str(BENCH_DIR / "adsuite_probe.py"), "--out", str(out)]
    command += ["--profile", str(profile)] if profile else []
    command += ["--", *drift_command(args.playbook, args.inventory)[1:]]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 2):
        raise SystemExit(f"probe failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return read_json(out)


def count_ldapsearch(tool: Tool) -> None:
    """Entries and round trips (bind + one per page) from one run's LDIF, streamed."""
    entries = pages = 0
    for command in tool.commands:
        with subprocess.Popen(command, env=tool.env, stdout=subprocess.PIPE, text=True) as run:
            assert run.stdout is not None
            for line in run.stdout:
                entries += line.startswith("dn: ")
                pages += line.startswith("search: ")
        if run.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({run.returncode})")
        pages += 1  # the bind
    tool.entries, tool.round_trips = entries, pages


def measure(all_tools: Sequence[Tool], target: LabTarget, repeat: int) -> None:
    for tool in all_tools:  # warm-up: caches on both sides, not counted
        run_tool(tool, target)
    for round_number in range(1, repeat + 1):
        for tool in all_tools:
            tool.samples.append(run_tool(tool, target))
        walls = ", ".join(f"{t.name} {t.samples[-1].wall:.2f}" for t in all_tools)
        print(f"  round {round_number}/{repeat}: {walls}", flush=True)


def summarize(tool: Tool) -> Measured:
    def med(values: list[float]) -> float:
        return round(statistics.median(values), 3)

    walls = [s.wall for s in tool.samples]
    return Measured(
        name=tool.name,
        wall=med(walls),
        wall_min=round(min(walls), 3),
        wall_max=round(max(walls), 3),
        cpu=med([s.cpu for s in tool.samples]),
        dc_cpu=med([s.dc_cpu for s in tool.samples]),
        rss_mb=round(max(s.rss_mb for s in tool.samples), 1),
        entries=tool.entries,
        round_trips=tool.round_trips,
        runs=len(tool.samples),
        commands=[shlex.join(c) for c in tool.commands],
    )


def adsuite_state() -> str:
    """Commit, changed files and a digest of the adsuite sources: the code being timed."""

    def git(*words: str) -> str:
        done = subprocess.run(["git", "-C", str(REPO_DIR), *words], capture_output=True, text=True)
        return done.stdout.strip()

    dirty = len(git("status", "--porcelain", "--", "adsuite").splitlines())
    digest = hashlib.sha256()
    for path in sorted((REPO_DIR / "adsuite").rglob("*.py")):
        digest.update(path.read_bytes())
    changed = f" + {dirty} changed files" if dirty else ""
    return f"{git('rev-parse', '--short', 'HEAD')}{changed}, sources {digest.hexdigest()[:8]}"


def _code_during(at_start: str) -> str:
    at_end = adsuite_state()
    return at_start if at_end == at_start else f"{at_start}, changed during the run: {at_end}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--state-dir", type=Path, help="lab state folder [$ADSUITE_LAB_DIR]")
    p.add_argument("--playbook", type=Path, default=PLAYBOOK)
    p.add_argument("--inventory", type=Path, default=INVENTORY)
    p.add_argument("--repeat", type=int, default=5, help="timed runs per command (median)")
    p.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    p.add_argument("--markdown", type=Path, default=REPO_DIR / "BENCHMARKS.md")
    p.add_argument(
        "--baseline-only",
        action="store_true",
        help="probe, write out/baseline.sh (adsuite's searches for ldapsearch) and stop",
    )
    p.add_argument("--no-markdown", action="store_true", help="print only, write no BENCHMARKS.md")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    target = lab_target(args.state_dir)
    check_name_resolution(target)
    if not Path(GNU_TIME).exists():
        raise SystemExit(f"{GNU_TIME} is missing: apt-get install time")
    if not SEED_META.exists() or not args.playbook.exists():
        raise SystemExit("no seed found: run benchmarks/seed.py first")
    seed = read_json(SEED_META)
    code_at_start = adsuite_state()
    host = machine()
    env = dict(os.environ)
    print("checking that a drift check of the fresh seed is clean ...", flush=True)
    verdict = verify_clean(args, env)
    print(f"  drift: exit {verdict['exit_code']}, {verdict['findings']} findings", flush=True)
    print("probe run (searches adsuite sends, stage times) ...", flush=True)
    found = probe(args, env, None)
    if args.baseline_only:
        with password_file(target) as secret:
            searches = same_searches(target, secret, found["searches"])
            write_baseline_script(searches, target.ca_file, BASELINE)
        print(f"wrote {BASELINE} (it reads the password from PASSWORD_FILE)")
        return 0
    profile = None if args.no_profile else probe(args, env, OUT_DIR / "drift.prof")
    with password_file(target) as secret:
        all_tools = tools(target, args, secret, found)
        for tool in all_tools[1:4]:
            count_ldapsearch(tool)
        all_tools[0].entries = sum(s["entries"] for s in found["searches"])
        all_tools[0].round_trips = 1 + sum(s["pages"] for s in found["searches"])
        print(f"timing {len(all_tools)} commands, {args.repeat} runs each ...", flush=True)
        measure(all_tools, target, args.repeat)
    results = [summarize(t) for t in all_tools]
    host["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    row = {
        "seed": seed,
        "verdict": verdict,
        "results": [asdict(r) for r in results],
        "probe": found,
        "machine": host,
        "adsuite": _code_during(code_at_start),
    }
    if profile is not None:
        row["profile_tables"] = profile_tables(OUT_DIR / "drift.prof")
    text = markdown(save_results(OUT_DIR / "results.json", row))
    print(text)
    if not args.no_markdown:
        write_section(args.markdown, text)
        print(f"wrote {args.markdown}")
    return 0 if verdict["clean"] else 1


if __name__ == "__main__":
    sys.exit(main())
