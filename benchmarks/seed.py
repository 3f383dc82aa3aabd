"""Seed the lab DC with a benchmark tree and write the playbook that declares it.

Creates ``OU=Bench,<base DN>`` holding K OUs (``Bench/OU-0001`` …), N users and M
groups spread over them at random (a fixed random seed, so the same flags give the
same domain), each group with members. Then writes
``benchmarks/out/bench_playbook.yml`` declaring exactly what was seeded, and an
inventory for the lab, so that ``adsuite drift`` of a fresh seed must be clean.

    python3 benchmarks/seed.py --reset                      # 10,000 / 1,000 / 300
    python3 benchmarks/seed.py --users 1000 --groups 100 --ous 30 --reset

Users get the userPrincipalName ``name@<realm in lower case>`` because adsuite manages
``upn`` with that default when a playbook leaves it out. Enabled users are created
without a password unless ``--passwords`` (Samba accepts it; hashing a password costs
the DC several times an add, see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import secrets
import string
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import ldap3
import yaml
from benchlab import (
    PLAYBOOK,
    SEED_META,
    TOP_OU,
    LabTarget,
    connect,
    lab_target,
    write_inventory,
)
from writers import TREE_DELETE, Writer, make_writer

log = logging.getLogger(__name__)

DEPARTMENTS = (
    "财务部 Finance",
    "人力资源部 Human Resources",
    "信息技术部 IT",
    "采购部 Purchasing",
    "生产部 Production",
    "质量部 Quality",
    "销售部 Sales",
    "法务部 Legal",
    "Research & Development",
    "Safety / HSE",
)
TOP_DESCRIPTION = "Benchmark tree (benchmarks/seed.py)"
GLOBAL_SECURITY = -2147483646  # groupType: global scope | security
NORMAL_ACCOUNT, ACCOUNTDISABLE = 0x200, 0x2


@dataclass(frozen=True)
class OuSeed:
    name: str
    description: str


@dataclass(frozen=True)
class UserSeed:
    name: str
    ou: str
    display_name: str
    department: str
    enabled: bool


@dataclass(frozen=True)
class GroupSeed:
    name: str
    ou: str
    description: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Domain:
    ous: tuple[OuSeed, ...]
    users: tuple[UserSeed, ...]
    groups: tuple[GroupSeed, ...]


def build(args: argparse.Namespace) -> Domain:
    """The seeded domain as data: a pure function of the flags."""
    rng = random.Random(args.random_seed)
    ous = tuple(OuSeed(f"OU-{k:04d}", f"Bench OU {k:04d}") for k in range(1, args.ous + 1))
    width = max(5, len(str(args.users)))
    users = tuple(
        UserSeed(
            name=f"bench.u{i:0{width}d}",
            ou=f"{TOP_OU}/{rng.choice(ous).name}",
            display_name=f"User {i:0{width}d}, Bench (测试用户)",
            department=rng.choice(DEPARTMENTS),
            enabled=not (args.disabled_every and i % args.disabled_every == 0),
        )
        for i in range(1, args.users + 1)
    )
    names = [u.name for u in users]
    groups = []
    for j in range(1, args.groups + 1):
        size = args.big_group_size if j <= args.big_groups else args.members_per_group
        members = tuple(sorted(rng.sample(names, min(size, len(names)))))
        ou = f"{TOP_OU}/{rng.choice(ous).name}"
        groups.append(GroupSeed(f"bench-g{j:04d}", ou, f"Bench group {j:04d} 基准测试组", members))
    return Domain(ous, users, tuple(groups))


# --- LDAP -----------------------------------------------------------------------------


def ou_dn(path: str, base_dn: str) -> str:
    return ",".join(f"OU={part}" for part in reversed(path.split("/"))) + "," + base_dn


def user_dn(user: UserSeed, base_dn: str) -> str:
    return f"CN={user.name},{ou_dn(user.ou, base_dn)}"


def user_attributes(user: UserSeed, realm: str, password: bytes | None) -> dict[str, Any]:
    uac = NORMAL_ACCOUNT | (0 if user.enabled else ACCOUNTDISABLE)
    attributes: dict[str, Any] = {
        "objectClass": ["user"],
        "sAMAccountName": user.name,
        "userPrincipalName": f"{user.name}@{realm.lower()}",
        "displayName": user.display_name,
        "department": user.department,
        "userAccountControl": str(uac),
    }
    if password is not None:
        attributes["unicodePwd"] = password
    return attributes


def group_attributes(group: GroupSeed, member_dns: Sequence[str]) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "objectClass": ["group"],
        "sAMAccountName": group.name,
        "description": group.description,
        "groupType": str(GLOBAL_SECURITY),
    }
    if member_dns:
        attributes["member"] = list(member_dns)
    return attributes


def bench_dns(conn: ldap3.Connection, bench_dn: str) -> list[str]:
    """Every DN under (and including) the Bench OU, by a paged search."""
    entries = conn.extend.standard.paged_search(
        bench_dn, "(objectClass=*)", attributes=["1.1"], paged_size=1000, generator=True
    )
    found = [e["dn"] for e in entries if e.get("type") == "searchResEntry"]
    if conn.result and conn.result.get("result") not in (0, 32):
        raise SystemExit(f"listing {bench_dn} failed: {conn.result}")
    return found


def count_under(conn: ldap3.Connection, bench_dn: str) -> dict[str, int]:
    counts = {}
    for kind, object_class in (
        ("ous", "organizationalUnit"),
        ("users", "user"),
        ("groups", "group"),
    ):
        entries = conn.extend.standard.paged_search(
            bench_dn, f"(objectClass={object_class})", attributes=["1.1"], paged_size=1000
        )
        counts[kind] = sum(1 for e in entries if e.get("type") == "searchResEntry")
    return counts


def reset(target: LabTarget, args: argparse.Namespace) -> None:
    conn = connect(target)
    started = time.perf_counter()
    if args.reset_method == "tree":
        conn.delete(target.bench_dn, controls=[TREE_DELETE])
        if conn.result["result"] not in (0, 32):
            raise SystemExit(f"tree delete of {target.bench_dn} failed: {conn.result}")
        print(f"reset: tree delete in {time.perf_counter() - started:.1f} s", flush=True)
        return
    dns = bench_dns(conn, target.bench_dn)
    conn.unbind()
    by_depth: dict[int, list[str]] = {}
    for dn in dns:
        by_depth.setdefault(len(ldap3.utils.dn.parse_dn(dn)), []).append(dn)
    writer = make_writer(args.strategy, target, args.window, args.workers)
    for depth in sorted(by_depth, reverse=True):  # children before their parents
        _send_all(writer, "reset", "delete", ((dn, None) for dn in by_depth[depth]), args)
        writer.drain()
    writer.close()
    _check(writer, "reset")
    elapsed = time.perf_counter() - started
    print(f"reset: deleted {len(dns)} objects in {elapsed:.1f} s", flush=True)


def _send_all(
    writer: Writer,
    label: str,
    op: str,
    items: Iterable[tuple[str, dict[str, Any] | None]],
    args: argparse.Namespace,
    total: int | None = None,
) -> None:
    started = time.perf_counter()
    for sent, (dn, attributes) in enumerate(items, 1):
        writer.send(op, dn, attributes)
        if sent % args.progress_every == 0:
            rate = sent / (time.perf_counter() - started)
            of = f"/{total}" if total else ""
            print(f"  {label}: {sent}{of} ({rate:.0f}/s)", flush=True)


def _check(writer: Writer, phase: str) -> None:
    failures = writer.tally.failures
    if failures:
        shown = "\n  ".join(failures[:5])
        raise SystemExit(f"{phase}: {len(failures)} requests failed, first:\n  {shown}")


Adds = list[tuple[str, dict[str, Any]]]


def phases(target: LabTarget, domain: Domain, password: bytes | None) -> list[tuple[str, Adds]]:
    """The adds, in an order where every parent and every member exists first."""
    base = target.base_dn
    dn_of = {u.name: user_dn(u, base) for u in domain.users}
    top = [(target.bench_dn, _ou_attributes(TOP_OU, TOP_DESCRIPTION))]
    ous = [
        (ou_dn(f"{TOP_OU}/{o.name}", base), _ou_attributes(o.name, o.description))
        for o in domain.ous
    ]
    users = [(dn_of[u.name], user_attributes(u, target.realm, password)) for u in domain.users]
    groups = [
        (_group_dn(g, base), group_attributes(g, [dn_of[m] for m in g.members]))
        for g in domain.groups
    ]
    return [("top OU", top), ("OUs", ous), ("users", users), ("groups", groups)]


def seed(target: LabTarget, domain: Domain, args: argparse.Namespace) -> dict[str, Any]:
    """Add the Bench tree; return per-phase counts and rates."""
    password = _password() if args.passwords else None
    report: dict[str, Any] = {}
    writer = make_writer(args.strategy, target, args.window, args.workers)
    for label, items in phases(target, domain, password):
        done, skipped = writer.tally.done, writer.tally.skipped
        started = time.perf_counter()
        _send_all(writer, label, "add", items, args, total=len(items))
        writer.drain()
        elapsed = time.perf_counter() - started
        rate = len(items) / elapsed if elapsed else 0.0
        created, existed = writer.tally.done - done, writer.tally.skipped - skipped
        print(f"{label}: {created} created, {existed} existed, {elapsed:.1f} s ({rate:.0f}/s)")
        report[label] = {
            "objects": len(items),
            "created": created,
            "existed": existed,
            "seconds": round(elapsed, 2),
            "per_second": round(rate, 1),
        }
        _check(writer, label)
    writer.close()
    return report


def _ou_attributes(name: str, description: str) -> dict[str, Any]:
    return {"objectClass": ["organizationalUnit"], "ou": name, "description": description}


def _group_dn(group: GroupSeed, base_dn: str) -> str:
    return f"CN={group.name},{ou_dn(group.ou, base_dn)}"


def _password() -> bytes:
    """One strong random password for every seeded user; never printed or stored."""
    alphabet = string.ascii_letters + string.digits + "-_.+!"
    value = "Aa1!" + "".join(secrets.choice(alphabet) for _ in range(20))
    return f'"{value}"'.encode("utf-16-le")


# --- playbook -------------------------------------------------------------------------


def playbook_tasks(domain: Domain) -> list[dict[str, Any]]:
    """One task per seeded object and one membership task per group, as seeded."""
    tasks: list[dict[str, Any]] = [
        {
            "ou": {
                "path": TOP_OU,
                "description": TOP_DESCRIPTION,
                "protected": False,
            }
        }
    ]
    tasks += [
        {"ou": {"path": f"{TOP_OU}/{o.name}", "description": o.description, "protected": False}}
        for o in domain.ous
    ]
    tasks += [{"user": asdict(u)} for u in domain.users]
    tasks += [
        {"group": {"name": g.name, "ou": g.ou, "description": g.description}} for g in domain.groups
    ]
    tasks += [
        {"membership": {"group": g.name, "members": list(g.members), "mode": "add"}}
        for g in domain.groups
        if g.members
    ]
    return tasks


def write_playbook(domain: Domain, path: Path, args: argparse.Namespace) -> None:
    play = {
        "name": f"Bench seed: {len(domain.users)} users, {len(domain.groups)} groups, "
        f"{len(domain.ous)} OUs",
        "domain": "bench",
        "tasks": playbook_tasks(domain),
    }
    header = (
        "# Generated by benchmarks/seed.py; declares exactly what it seeded, so a drift\n"
        f"# check of a fresh seed is clean. Flags: {_flags(args)}\n"
    )
    text = yaml.dump(
        play, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False, width=1_000_000
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + text, encoding="utf-8")


def _flags(args: argparse.Namespace) -> str:
    keys = (
        "users",
        "groups",
        "ous",
        "members_per_group",
        "big_groups",
        "big_group_size",
        "disabled_every",
        "random_seed",
    )
    return " ".join(f"--{k.replace('_', '-')} {getattr(args, k)}" for k in keys)


# --- main -----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--state-dir", type=Path, help="lab state folder [$ADSUITE_LAB_DIR]")
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--groups", type=int, default=1_000)
    p.add_argument("--ous", type=int, default=300)
    p.add_argument("--members-per-group", type=int, default=20)
    p.add_argument(
        "--big-groups", type=int, default=1, help="groups given --big-group-size members"
    )
    p.add_argument("--big-group-size", type=int, default=2_000, help="over 1,500: ranged reads")
    p.add_argument(
        "--disabled-every", type=int, default=10, help="every Nth user disabled (0: none)"
    )
    p.add_argument("--passwords", action="store_true", help="give enabled users a password (slow)")
    p.add_argument("--reset", action="store_true", help="delete the Bench tree first")
    p.add_argument("--reset-method", choices=["bottom-up", "tree"], default="bottom-up")
    strategies = ["sync", "pipelined", "async", "threads"]
    p.add_argument("--strategy", choices=strategies, default="sync", help="see writers.py")
    p.add_argument("--window", type=int, default=16, help="pipelined/async: requests in flight")
    p.add_argument("--workers", type=int, default=2, help="threads: connections")
    p.add_argument("--random-seed", type=int, default=2024)
    p.add_argument("--playbook", type=Path, default=PLAYBOOK)
    p.add_argument("--progress-every", type=int, default=1000)
    args = p.parse_args(argv)
    if args.ous < 1 or args.users < 0 or args.groups < 0:
        p.error("need at least one OU, and no negative counts")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    target = lab_target(args.state_dir)
    domain = build(args)
    print(f"seeding {target.bench_dn} on {target.ldap_url} ({args.strategy})", flush=True)
    if args.reset:
        reset(target, args)
    started = time.perf_counter()
    phases = seed(target, domain, args)
    elapsed = time.perf_counter() - started
    total = 1 + len(domain.ous) + len(domain.users) + len(domain.groups)
    print(f"seeded {total} objects in {elapsed:.1f} s: {total / elapsed:.0f} objects/s")
    conn = connect(target)
    found = count_under(conn, target.bench_dn)
    conn.unbind()
    expected = {
        "ous": len(domain.ous) + 1,
        "users": len(domain.users),
        "groups": len(domain.groups),
    }
    write_playbook(domain, args.playbook, args)
    inventory = write_inventory(target)
    meta = {
        "flags": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "expected": expected,
        "found": found,
        "phases": phases,
        "seconds": round(elapsed, 1),
        "objects_per_second": round(total / elapsed, 1),
        "memberships": sum(len(g.members) for g in domain.groups),
    }
    SEED_META.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"playbook: {args.playbook}\ninventory: {inventory}")
    if found != expected:
        print(
            f"WARNING: found {found} under {target.bench_dn}, expected {expected}: "
            "run again with --reset",
            file=sys.stderr,
        )
        return 1
    print(f"verified: {found}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
