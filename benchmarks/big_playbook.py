"""Write a playbook that expands to N tasks (default 200,000) for the large-playbook benchmark.

A playbook file may hold 4 MiB and one loop 10,000 items (docs/playbook-input.md), so
the tasks come from loops: one OU tree, then users, groups and memberships in loops of
10,000 over ``range``, each item rendered through templates the way a real playbook's
are. Every object is new to a lab domain, so a plan of it is one create per task.

    python benchmarks/big_playbook.py --tasks 200000 --out benchmarks/out/big_playbook.yml
    adsuite plan benchmarks/out/big_playbook.yml -i inventory/lab.yml
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

LOOP = 10_000  # loader.MAX_LOOP_ITEMS
OUS = 20
TOP = "BigPlay"


def _ou_tasks() -> str:
    return (
        f"  - name: Top OU\n    ou: {{path: {TOP}, protected: false}}\n"
        f'  - name: Sub OUs\n    loop: "{{{{ range({OUS}) | list }}}}"\n'
        f'    ou: {{path: "{TOP}/Unit{{{{ item }}}}", description: "Unit {{{{ item }}}}",'
        " protected: false}\n"
    )


def _user_task(number: int, items: int) -> str:
    return (
        f'  - name: Users {number}\n    loop: "{{{{ range({items}) | list }}}}"\n'
        "    user:\n"
        f'      name: "b{number}u{{{{ item }}}}"\n'
        f'      ou: "{TOP}/Unit{{{{ item % {OUS} }}}}"\n'
        f'      given_name: "Given{{{{ item }}}}"\n'
        f'      surname: "Sur{number}"\n'
        f'      description: "bench user {{{{ item }}}} of batch {number}"\n'
        "      enabled: false\n"
    )


def _group_task(number: int, items: int) -> str:
    return (
        f'  - name: Groups {number}\n    loop: "{{{{ range({items}) | list }}}}"\n'
        "    group:\n"
        f'      name: "b{number}g{{{{ item }}}}"\n'
        f'      ou: "{TOP}/Unit{{{{ item % {OUS} }}}}"\n'
        f'      description: "bench group {{{{ item }}}}"\n'
    )


def _membership_task(group_batch: int, user_batch: int, items: int) -> str:
    return (
        f'  - name: Members {group_batch}\n    loop: "{{{{ range({items}) | list }}}}"\n'
        "    membership:\n"
        f'      group: "b{group_batch}g{{{{ item }}}}"\n'
        f'      members: ["b{user_batch}u{{{{ item }}}}", "b{user_batch}u{{{{ 9999 - item }}}}"]\n'
    )


def playbook(tasks: int, domain: str) -> str:
    """The text of a playbook expanding to exactly ``tasks`` tasks (at least 22)."""
    left = tasks - 1 - OUS
    users, groups = left * 4 // 5, left * 3 // 20
    members = left - users - groups
    parts = [f"name: Big playbook ({tasks} tasks)\ndomain: {domain}\ntasks:\n", _ou_tasks()]
    parts += _batches(users, _user_task)
    parts += _batches(groups, _group_task)
    batch = 0
    while members > 0:
        count = min(LOOP, members)
        parts.append(_membership_task(batch, batch, count))
        members -= count
        batch += 1
    return "".join(parts)


def _batches(total: int, task: object) -> list[str]:
    out = []
    number = 0
    while total > 0:
        count = min(LOOP, total)
        out.append(task(number, count))  # type: ignore[operator]
        total -= count
        number += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200_000)
    parser.add_argument("--domain", default="group")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/big_playbook.yml"))
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(playbook(args.tasks, args.domain), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
