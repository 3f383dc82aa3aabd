"""Apply of many creates vs ldapadd of the same LDIF (issue #16 item 3), run by a pairing
timer as two whole processes.

Each timed run needs objects that do not exist yet, and deleting them inside the timed
command would time the delete too. So ``prepare`` writes R numbered inputs per side
ahead of time — ``out/apply/<kind>-a-<k>.yml`` (N groups or users in an OU made
beforehand, for ``adsuite apply``) and ``out/apply/<kind>-b-<k>.ldif`` (as many in
another OU, for ``ldapadd``) — and ``apply_next.sh`` runs the next unused one of a side. The LDIF is
taken from adsuite's own plan of a playbook like A's: the same attributes, byte for byte
(only the names differ), so ldapadd sends exactly the adds adsuite sends.

    python3 benchmarks/apply_vs_ldapadd.py prepare --kind group --objects 1000 --runs 8
    <timer> --vs 'sh benchmarks/apply_next.sh b group' -- sh benchmarks/apply_next.sh a group
    python3 benchmarks/apply_vs_ldapadd.py cleanup      # tree-deletes OU=ApplyBench

Both sides bind once over LDAPS with the certificate validated against the lab CA
(ldapadd by the DC's name, which ``run.sh``'s namespace hosts file maps to 127.0.0.1).
"""

from __future__ import annotations

import argparse
import base64
import logging
from pathlib import Path
from typing import Any

import ldap3
import yaml
from benchlab import OUT_DIR, LabTarget, connect, lab_target, write_inventory
from writers import TREE_DELETE

from adsuite.engine.session import Session
from adsuite.resources.base import LdapWrite

log = logging.getLogger(__name__)

TOP = "ApplyBench"  # --top: a fresh tree when the last one is too big to delete
APPLY_DIR = OUT_DIR / "apply"
INVENTORY = APPLY_DIR / "inventory.yml"


def playbook_text(top: str, kind: str, ou: str, prefix: str, objects: int) -> str:
    tasks: list[dict[str, Any]] = []
    for i in range(objects):
        name = f"{prefix}{i:04d}"
        spec = {"name": name, "ou": f"{top}/{ou}", "description": f"bench {kind} {i}"}
        tasks.append({"name": name, kind: spec})
    return yaml.safe_dump({"name": f"{objects} {kind} creates", "tasks": tasks}, sort_keys=False)


def _ldif_value(name: str, value: Any) -> str:
    data = value if isinstance(value, bytes) else str(value).encode("utf-8")
    safe = data.isascii() and data[:1] not in (b" ", b":", b"<") and b"\n" not in data
    if safe and data.decode().isprintable():
        return f"{name}: {data.decode()}"
    return f"{name}:: {base64.b64encode(data).decode()}"


def ldif_of(session: Session) -> str:
    """The adds adsuite's plan of *session*'s playbook would send, as LDIF."""
    with session.connect(write=False) as conn:
        plan = session.plan(conn)
    records = []
    for change in plan.changes:
        for write in change.writes:
            assert isinstance(write, LdapWrite) and write.op == "add", write
            lines = [f"dn: {write.dn}", "changetype: add"]
            for name, values in write.attributes.items():
                for value in values if isinstance(values, list | tuple) else [values]:
                    lines.append(_ldif_value(name, value))
            records.append("\n".join(lines))
    return "\n\n".join(records) + "\n"


def prepare(target: LabTarget, top: str, kind: str, objects: int, runs: int) -> None:
    APPLY_DIR.mkdir(parents=True, exist_ok=True)
    inventory = write_inventory(target, INVENTORY)
    conn = connect(target)
    top_dn = f"OU={top},{target.base_dn}"
    ous = [f"OU={side}{kind}{k},{top_dn}" for k in range(1, runs + 1) for side in "AB"]
    for dn in [top_dn, *ous]:  # made here, untimed: each side then sends only its creates
        if not conn.add(dn, "organizationalUnit") and conn.result["result"] != 68:
            raise SystemExit(f"cannot add {dn}: {conn.result}")
    conn.unbind()
    for k in range(1, runs + 1):
        a = APPLY_DIR / f"{kind}-a-{k}.yml"
        a.write_text(playbook_text(top, kind, f"A{kind}{k}", f"{top}a{k}{kind[0]}", objects))
        b_playbook = APPLY_DIR / f"{kind}-b-{k}.yml"
        b_playbook.write_text(
            playbook_text(top, kind, f"B{kind}{k}", f"{top}b{k}{kind[0]}", objects)
        )
        ldif = ldif_of(Session.from_files(b_playbook, inventory, APPLY_DIR / "plan.sqlite"))
        (APPLY_DIR / f"{kind}-b-{k}.ldif").write_text(ldif)
    for side in "ab":
        (APPLY_DIR / f"{kind}-{side}.next").write_text("1\n")
    secret = APPLY_DIR / "password"  # ldapadd -y sends the whole file: no newline
    secret.touch(mode=0o600)
    secret.write_text(target.password().strip())
    env = f"URL=ldaps://{target.tls_name}\nCA={target.ca_file}\nBINDDN={target.username}\n"
    (APPLY_DIR / "target.env").write_text(env)
    print(f"prepared {runs} runs of {objects} {kind} creates per side in {APPLY_DIR}")


def cleanup(target: LabTarget, top: str) -> None:
    conn = connect(target)
    conn.delete(f"OU={top},{target.base_dn}", controls=[TREE_DELETE])
    print(f"tree delete of OU={top}: {conn.result['description']}")
    conn.unbind()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["prepare", "cleanup"])
    parser.add_argument("--kind", choices=["group", "user"], default="group")
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--state-dir", type=Path)
    parser.add_argument("--top", default=TOP, help="the OU holding every run's OU")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    target = lab_target(args.state_dir)
    if args.action == "prepare":
        prepare(target, args.top, args.kind, args.objects, args.runs)
    else:
        cleanup(target, args.top)


if __name__ == "__main__":
    ldap3.set_config_parameter("RESTARTABLE_TRIES", 0)
    main()
