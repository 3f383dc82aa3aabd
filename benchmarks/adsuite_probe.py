"""Run one ``adsuite`` command in this process and record where its time goes.

    python3 benchmarks/adsuite_probe.py --out probe.json [--profile drift.prof] -- \\
        drift benchmarks/out/bench_playbook.yml -i benchmarks/out/bench_inventory.yml \\
        --format json -o /dev/null

Records every LDAP search adsuite sends (base, filter size, attributes, SD flags,
entries, pages = round trips, seconds), inclusive wall time of the pipeline stages
that exist in the installed adsuite (load, bind, read, plan, journal, render), the
import time and peak RSS. With ``--profile`` the whole command also runs under
cProfile and the top functions are written next to the profile as text.

Timing is by wrapping functions, so the numbers are those of an unprofiled run
(a probe run is still not a timing run: the benchmark times plain subprocesses).
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import importlib
import io
import json
import pstats
import resource
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

STAGES = {  # label: dotted name; missing ones are skipped (adsuite changes)
    "import the subcommand (cli.commands.LazyGroup.get_command)": (
        "adsuite.cli.commands.LazyGroup.get_command"
    ),
    "load inventory": "adsuite.engine.session.load_inventory",
    "load playbook": "adsuite.engine.session.load_playbook",
    "connect + bind": "adsuite.connectors.ldap.Directory.connect",
    "plan incl. read": "adsuite.engine.planner.build_plan",
    "read (LDAP searches)": "adsuite.engine.facts.gather",
    "journal": "adsuite.engine.session.Session.record_drift",
    "render json": "adsuite.cli.render.drift_json",
}


class Recorder:
    def __init__(self) -> None:
        self.stages: dict[str, float] = {}
        self.searches: list[dict[str, Any]] = []

    def timed(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                self.stages[label] = self.stages.get(label, 0.0) + elapsed

        return wrapper

    def install(self) -> list[str]:
        installed = []
        for label, dotted in STAGES.items():
            owner, name = _resolve_owner(dotted)
            if owner is None:
                continue
            original = owner.__dict__[name]
            if isinstance(original, classmethod):
                wrapped: Any = classmethod(self.timed(label, original.__func__))
            else:
                wrapped = self.timed(label, original)
            setattr(owner, name, wrapped)
            installed.append(label)
        self._wrap_search()
        return installed

    def _wrap_search(self) -> None:
        from adsuite.connectors.ldap import Directory

        original = Directory.search
        searches = self.searches

        def search(directory: Any, query: Any) -> Iterator[Any]:
            before, started, entries = directory.round_trips, time.perf_counter(), 0
            for entry in original(directory, query):
                entries += 1
                yield entry
            searches.append(
                {
                    "base": query.base,
                    "scope": query.scope,
                    "filter_chars": len(query.filter),
                    "filter_terms": query.filter.count("("),
                    "filter_head": query.filter[:70],
                    "filter": query.filter,  # the baseline replays it exactly
                    "attributes": list(query.attributes),
                    "sd_flags": query.sd_flags,
                    "entries": entries,
                    "pages": directory.round_trips - before,
                    "seconds": round(time.perf_counter() - started, 4),
                }
            )

        Directory.search = search  # type: ignore[method-assign,assignment]


def _resolve_owner(dotted: str) -> tuple[Any, str]:
    """The module or class holding the last name of *dotted*, or None if absent."""
    parts = dotted.split(".")
    for split_at in range(len(parts) - 1, 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:split_at]))
        except ImportError:
            continue
        for attribute in parts[split_at:-1]:
            owner = getattr(owner, attribute, None)
        if owner is not None and parts[-1] in getattr(owner, "__dict__", {}):
            return owner, parts[-1]
        return None, parts[-1]
    return None, parts[-1]


def top_functions(profile_path: Path, limit: int = 30) -> str:
    text = io.StringIO()
    stats = pstats.Stats(str(profile_path), stream=text)
    stats.strip_dirs()
    for key in ("cumulative", "tottime"):
        text.write(f"\n=== top {limit} by {key} ===\n")
        stats.sort_stats(key).print_stats(limit)
    return text.getvalue()


def run(argv: Sequence[str], profile: Path | None) -> int:
    from adsuite.cli.main import main as adsuite_main

    def call() -> int:
        try:
            adsuite_main(list(argv))
        except SystemExit as done:
            return done.code if isinstance(done.code, int) else 0
        return 0

    if profile is None:
        return call()
    profiler = cProfile.Profile()
    code = profiler.runcall(call)
    profiler.dump_stats(str(profile))
    profile.with_suffix(".txt").write_text(top_functions(profile), encoding="utf-8")
    return code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON record")
    parser.add_argument("--profile", type=Path, help="also run under cProfile, stats here")
    parser.add_argument("adsuite_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    argv = args.adsuite_args[1:] if args.adsuite_args[:1] == ["--"] else args.adsuite_args
    started = time.perf_counter()
    importlib.import_module("adsuite.cli.main")
    recorder = Recorder()
    installed = recorder.install()  # imports the modules it wraps
    imported = time.perf_counter() - started
    code = run(argv, args.profile)
    record = {
        "argv": argv,
        "exit_code": code,
        "import_seconds": round(imported, 3),
        "wall_seconds": round(time.perf_counter() - started, 3),
        "stages": {k: round(v, 3) for k, v in recorder.stages.items()},
        "stages_found": installed,
        "searches": recorder.searches,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "profiled": args.profile is not None,
    }
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main())
