"""The benchmark's results as Markdown (BENCHMARKS.md) and as JSON kept per seed size.

``save_results`` keeps one entry per number of seeded users in
``benchmarks/out/results.json``, so runs at several sizes add up to one table;
``markdown`` renders them with the targets, the machine, where adsuite's time goes
and how to reproduce every number.
"""

from __future__ import annotations

import json
import pstats
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TARGET_RATIO = 1.2
TARGET_RSS_MB = 200
TARGET_USERS = 10_000
ADSUITE, BENCH, BASE, PER_CLASS, STARTUP = (
    "adsuite drift",
    "ldapsearch -b OU=Bench",
    "ldapsearch -b <base DN>",
    "ldapsearch, adsuite's searches",
    "adsuite --version (startup)",
)
NETNS = "adsuite-bench"
BEGIN = "<!-- drift_vs_ldapsearch: begin (generated, replaced on every run) -->"
END = "<!-- drift_vs_ldapsearch: end -->"
LAB_DIR = "/tmp/adsuite-bench-lab"


@dataclass(frozen=True)
class Measured:
    name: str
    wall: float  # median seconds
    wall_min: float
    wall_max: float
    cpu: float  # median user+sys seconds of the process(es)
    dc_cpu: float  # median CPU seconds the DC's samba processes used meanwhile
    rss_mb: float  # highest peak RSS over the runs
    entries: int | None
    round_trips: int | None
    runs: int
    commands: list[str]


def save_results(path: Path, row: dict[str, Any]) -> list[dict[str, Any]]:
    """Append *row* to the runs kept in *path*; return them all, oldest first."""
    stored: Any = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    runs: list[dict[str, Any]] = list(stored.values()) if isinstance(stored, dict) else stored
    runs.append(row)
    path.write_text(json.dumps(runs, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return runs


def focus(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The run the targets are judged on: the latest at 10,000 users, else the latest."""
    at = [r for r in rows if r["seed"]["expected"]["users"] == TARGET_USERS]
    return (at or list(rows))[-1]


def _by_name(row: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in row["results"]}


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}×" if b else "n/a"


def _cpu(result: dict[str, Any]) -> float:
    """CPU of the command and of the DC meanwhile: what the check costs, without waiting."""
    return float(result["cpu"] + result["dc_cpu"])


def results_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    lines = [
        "| N users | groups / OUs / member links | adsuite drift s | ldapsearch -b Bench s "
        "| ratio | ldapsearch -b base s | ratio | CPU ratio (process + DC) vs -b Bench "
        "| adsuite peak RSS MB | LDAP round trips adsuite / ldapsearch | fresh seed drift "
        "| date | adsuite tree |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|",
    ]
    for row in rows:
        r, n = _by_name(row), row["seed"]["expected"]
        a, b, base = r[ADSUITE], r[BENCH], r[BASE]
        verdict = row["verdict"]
        clean = "clean (exit 0)" if verdict["clean"] else f"{verdict['findings']} findings"
        lines.append(
            f"| {n['users']:,} | {n['groups']:,} / {n['ous']:,} / {row['seed']['memberships']:,} "
            f"| {a['wall']:.2f} | {b['wall']:.2f} | {_ratio(a['wall'], b['wall'])} "
            f"| {base['wall']:.2f} | {_ratio(a['wall'], base['wall'])} "
            f"| {_ratio(_cpu(a), _cpu(b))} | {a['rss_mb']:.0f} "
            f"| {a['round_trips']} / {b['round_trips']} | {clean} | {row['machine']['date']} "
            f"| {row['adsuite']} |"
        )
    return lines


def detail_table(row: dict[str, Any]) -> list[str]:
    lines = [
        "| command | wall s median | min – max | process CPU s | DC (samba) CPU s "
        "| peak RSS MB | entries | round trips |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in row["results"]:
        lines.append(
            f"| {r['name']} | {r['wall']:.2f} | {r['wall_min']:.2f} – {r['wall_max']:.2f} "
            f"| {r['cpu']:.2f} | {r['dc_cpu']:.2f} | {r['rss_mb']:.0f} "
            f"| {r['entries'] if r['entries'] is not None else ''} "
            f"| {r['round_trips'] if r['round_trips'] is not None else ''} |"
        )
    return lines


def _verdict(met: bool) -> str:
    return "**met**" if met else "**missed**"


def targets(row: dict[str, Any]) -> list[str]:
    r, users = _by_name(row), row["seed"]["expected"]["users"]
    ratio = r[ADSUITE]["wall"] / r[PER_CLASS]["wall"]
    rss = r[ADSUITE]["rss_mb"]
    return [
        f"Measured at {users:,} users"
        + ("" if users == TARGET_USERS else f" (the targets are set for {TARGET_USERS:,})")
        + ".",
        "",
        "| target | measured | verdict |",
        "|---|---:|---|",
        f"| drift ≤ {TARGET_RATIO}× ldapsearch of adsuite's searches (wall, median) "
        f"| {ratio:.2f}× ({r[ADSUITE]['wall']:.2f} s vs {r[PER_CLASS]['wall']:.2f} s) "
        f"| {_verdict(ratio <= TARGET_RATIO)} |",
        f"| peak RSS < {TARGET_RSS_MB} MB | {rss:.0f} MB | {_verdict(rss < TARGET_RSS_MB)} |",
        "",
        f"By CPU (the command's own plus the DC's, which waiting for a busy machine does not "
        f"inflate) adsuite costs {_ratio(_cpu(r[ADSUITE]), _cpu(r[PER_CLASS]))} what "
        f"ldapsearch of the same searches costs ({_cpu(r[ADSUITE]):.1f} s vs "
        f"{_cpu(r[PER_CLASS]):.1f} s).",
    ]


def stages_table(probe: dict[str, Any]) -> list[str]:
    stages = dict(probe["stages"])
    read = stages.get("read (LDAP searches)", 0.0)
    if "plan incl. read" in stages:
        stages["plan (pure Python, after the read)"] = stages.pop("plan incl. read") - read
    known = sum(stages.values()) + probe["import_seconds"]
    lines = ["| stage | seconds | share |", "|---|---:|---:|"]
    total = probe["wall_seconds"]
    rows = [
        ("import adsuite (engine, connectors, resources)", probe["import_seconds"]),
        *stages.items(),
    ]
    rows.append(("everything else (click, unbind, …)", max(total - known, 0.0)))
    for label, seconds in rows:
        lines.append(f"| {label} | {seconds:.2f} | {seconds / total:.0%} |")
    lines.append(f"| **total (in-process probe run)** | **{total:.2f}** | |")
    lines += ["", f"Peak RSS of that run: {probe['peak_rss_mb']:.0f} MB."]
    return lines


def _comparisons(search: dict[str, Any]) -> int:
    """Simple (attr=value) terms in the filter: its parentheses minus the & and | ones."""
    head = str(search["filter_head"])
    return int(search["filter_terms"]) - head.count("(&") - head.count("(|") - head.count("(!")


def searches_table(probe: dict[str, Any]) -> list[str]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for s in probe["searches"]:
        match = re.search(r"\(objectClass=([A-Za-z]+)\)", s["filter_head"])
        if s["scope"] == "base":
            label = "base object (domain root SD)"
        elif match:
            label = f"objectClass={match.group(1)}, {len(s['attributes'])} attributes"
        else:
            label = "name lookups (sAMAccountName OR-filter)"
        groups.setdefault(label, []).append(s)
    lines = ["| searches | count | comparisons per filter (max) | entries | pages | seconds |"]
    lines.append("|---|---:|---:|---:|---:|---:|")
    for label, found in groups.items():
        lines.append(
            f"| {label} | {len(found)} | {max(_comparisons(s) for s in found)} "
            f"| {sum(s['entries'] for s in found):,} | {sum(s['pages'] for s in found)} "
            f"| {sum(s['seconds'] for s in found):.2f} |"
        )
    return lines


def profile_table(path: Path, key: str, limit: int = 15, only_adsuite: bool = False) -> list[str]:
    stats = pstats.Stats(str(path))
    table = stats.stats  # type: ignore[attr-defined]
    column = {"tottime": 2, "cumulative": 3}[key]
    items = table.items()
    if only_adsuite:  # below the CLI wrappers, where the decisions are
        items = [i for i in items if "/adsuite/" in i[0][0] and "/cli/" not in i[0][0]]
    ranked = sorted(items, key=lambda item: item[1][column], reverse=True)[:limit]
    lines = ["| function | calls | own s | cumulative s |", "|---|---:|---:|---:|"]
    for (filename, line, function), (_cc, calls, own, cumulative, _callers) in ranked:
        where = _short_path(filename)
        name = f"`{where}:{line} {function}`" if line else f"`{function}`"
        lines.append(f"| {name} | {calls:,} | {own:.2f} | {cumulative:.2f} |")
    return lines


def _short_path(filename: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def machine_lines(host: dict[str, str], adsuite: str) -> list[str]:
    lines = [f"- {key}: {value}" for key, value in host.items()]
    lines.append(f"- adsuite: working tree at {adsuite}")
    return lines


def reproduce(row: dict[str, Any]) -> list[str]:
    r = _by_name(row)
    secret = "PASSWORD_FILE"
    ns = f"ip netns exec {NETNS} env ADSUITE_LAB_DIR={LAB_DIR}"
    lines = [
        "```sh",
        "benchmarks/run.sh --fresh-lab            # everything below, in order",
        "",
        f"ip netns add {NETNS} && ip netns exec {NETNS} ip link set lo up",
        f"mkdir -p /etc/netns/{NETNS} && printf '127.0.0.1 localhost dc1.group.example.com\\n' "
        f"> /etc/netns/{NETNS}/hosts",
        f"{ns} adsuite lab up --state-dir {LAB_DIR}",
        f"{ns} python3 benchmarks/seed.py {_seed_flags(row)}",
        f"{ns} python3 benchmarks/drift_vs_ldapsearch.py --repeat {r[ADSUITE]['runs']}",
        "```",
        "",
        "Commands timed (inside the namespace, from the repository root; ldapsearch with "
        "`LDAPTLS_CACERT=<lab CA> LDAPTLS_REQCERT=demand`, PASSWORD_FILE holding the lab "
        "admin password without a newline):",
        "",
        "```sh",
    ]
    for result in row["results"]:
        for command in result["commands"]:
            lines.append(re.sub(r"-y \S+", f"-y {secret}", _relative(command)))
    lines.append("```")
    return lines


def _relative(command: str) -> str:
    return command.replace("/work/main/", "").replace("/root/.pyenv/versions/3.11.7/bin/", "")


def _seed_flags(row: dict[str, Any]) -> str:
    flags = row["seed"]["flags"]
    keys = ("users", "groups", "ous", "members_per_group", "big_groups", "big_group_size")
    return " ".join(f"--{k.replace('_', '-')} {flags[k]}" for k in keys if k in flags)


def profile_tables(profile: Path) -> dict[str, list[str]]:
    """Kept in the results, so a report can show the profile of any stored run."""
    return {
        "own": profile_table(profile, "tottime"),
        "adsuite": profile_table(profile, "cumulative", 20, only_adsuite=True),
    }


def _where_time_goes(row: dict[str, Any]) -> list[str]:
    out = [
        "Stages of one in-process run (`benchmarks/adsuite_probe.py`, wrapped functions, "
        "not profiled):",
        "",
        *stages_table(row["probe"]),
        "",
        "The searches adsuite sent:",
        "",
        *searches_table(row["probe"]),
        "",
    ]
    tables = row.get("profile_tables")
    if tables:
        out += [
            "Top functions by own time under cProfile (which slows pure Python about 2×; "
            "the shares matter, not the seconds):",
            "",
            *tables["own"],
            "",
            "Top adsuite functions (outside the CLI) by cumulative time:",
            "",
            *tables["adsuite"],
            "",
        ]
    return out


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The whole generated section: targets and details from :func:`focus`, all runs."""
    row = focus(rows)
    users, runs = row["seed"]["expected"]["users"], _by_name(row)[ADSUITE]["runs"]
    return "\n".join(
        [
            BEGIN,
            "## Drift check vs ldapsearch",
            "",
            "`adsuite drift` of a seeded domain against `ldapsearch` dumping the same "
            "objects with the same attributes. Generated by "
            "`benchmarks/drift_vs_ldapsearch.py` (see `benchmarks/README.md`); every "
            "number below comes from that script.",
            "",
            "### Targets",
            "",
            *targets(row),
            "",
            "### Results",
            "",
            f"Wall times are medians of {runs} runs after one warm-up run, interleaved. "
            "The ratio is adsuite drift / ldapsearch. Round trips: the bind plus one per "
            "search page (page size 1000 for both tools). One line per benchmark run, "
            "oldest first; `adsuite tree` is the commit and the number of files changed "
            "under `adsuite/` when it ran.",
            "",
            *results_table(rows),
            "",
            f"Detail of the run the targets are judged on ({users:,} users, "
            f"{row['machine']['date']}):",
            "",
            *detail_table(row),
            "",
            "### Where adsuite's time goes",
            "",
            *_where_time_goes(row),
            "### Machine",
            "",
            *machine_lines(row["machine"], row["adsuite"]),
            "",
            "### Reproduce",
            "",
            *reproduce(row),
            END,
        ]
    )


def write_section(path: Path, section: str) -> None:
    """Put *section* into *path*, replacing an earlier one and keeping everything else."""
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        text = head + section.rstrip("\n") + "\n" + ("\n" + tail if tail else "")
    else:
        text = current.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    path.write_text(text, encoding="utf-8")
