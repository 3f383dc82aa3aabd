"""Incremental drift of the seeded Bench tree: the no-change and the N-changes case.

Run after ``benchmarks/seed.py``, inside the namespace whose ``/etc/hosts`` names the
DC (benchmarks/run.sh sets that up). Two steps, so that any timing harness can time
the second one as a whole process, paired with ldapsearch of the full domain:

    python3 benchmarks/incremental_drift.py prepare --changes 100
    python3 benchmarks/incremental_drift.py run          # the timed command

``prepare`` takes a full drift (the snapshot), keeps a copy of the snapshot and of the
journal that vouches for it (its digest, docs/drift.md) aside, then
changes the department (declared) of N seeded users by hand (ldbmodify on the DC's own
database, not through adsuite). ``run`` puts the copies back and runs ``adsuite drift``,
so every timed run merges the same N changes (with ``--changes 0``: no change).
``ldapsearch`` prints the ldapsearch baseline command: OUs, groups and users of the
whole domain with the attributes the drift reads.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from benchlab import INVENTORY, OUT_DIR, PLAYBOOK, lab_target

CACHE = OUT_DIR / "incremental-cache"
JOURNAL = OUT_DIR / "incremental-journal.sqlite"
KEPT = OUT_DIR / "incremental-snapshot"
KEPT_JOURNAL = OUT_DIR / "incremental-journal.kept"
UNDO = OUT_DIR / "incremental-undo.ldif"  # the departments the last prepare overwrote
ATTRIBUTES = [
    "ou",
    "description",
    "managedBy",
    "nTSecurityDescriptor",
    "objectGUID",
    "sAMAccountName",
    "groupType",
    "userPrincipalName",
    "givenName",
    "sn",
    "displayName",
    "mail",
    "title",
    "department",
    "company",
    "employeeID",
    "telephoneNumber",
    "physicalDeliveryOfficeName",
    "manager",
    "userAccountControl",
    "member",
]


def env() -> dict[str, str]:
    return {**os.environ, "ADSUITE_CACHE_DIR": str(CACHE), "ADSUITE_JOURNAL": str(JOURNAL)}


def drift(*extra: str) -> int:
    command = [sys.executable, "-m", "adsuite", "drift", str(PLAYBOOK), "-i", str(INVENTORY)]
    done = subprocess.run([*command, "--format", "json", *extra], env=env(),
                          stdout=subprocess.DEVNULL, check=False)  # fmt: skip
    return done.returncode


def snapshot_file() -> Path:
    (found,) = list((CACHE / "drift").glob("*.snapshot"))
    return found


def ldbmodify(sam: Path, ldif: str) -> None:
    subprocess.run(["ldbmodify", "-H", str(sam)], input=ldif, text=True, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def undo_ldif(sam: Path, dns: list[str]) -> str:
    """LDIF that puts back the department of each user in *dns* as it is now."""
    out = []
    for dn in dns:
        found = subprocess.run(["ldbsearch", "-H", str(sam), "-s", "base", "-b", dn,
                                "department"], capture_output=True, text=True,
                               check=True).stdout  # fmt: skip
        values = [line for line in found.splitlines() if line.startswith("department:")]
        out.append(f"dn: {dn}\nchangetype: modify\nreplace: department\n" + "".join(
            f"{v}\n" for v in values) + "\n")  # fmt: skip
    return "".join(out)


def prepare(changes: int) -> None:
    shutil.rmtree(CACHE, ignore_errors=True)
    target = lab_target()
    sam = target.state_dir / "private" / "sam.ldb"
    if UNDO.exists():  # the last prepare's changes, undone by hand as they were made
        ldbmodify(sam, UNDO.read_text())
        UNDO.unlink()
    code = drift("--full")
    if code != 0:
        raise SystemExit(f"the full drift of the fresh seed exits {code}, not 0")
    shutil.copyfile(snapshot_file(), KEPT)
    shutil.copyfile(JOURNAL, KEPT_JOURNAL)  # its last drift run vouches for that snapshot
    KEPT.chmod(0o600)
    KEPT_JOURNAL.chmod(0o600)
    users = subprocess.run(
        ["ldbsearch", "-H", str(sam), "-b", target.bench_dn, "(objectClass=user)", "dn"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    dns = sorted(line[4:] for line in users.splitlines() if line.startswith("dn: "))[:changes]
    ldif = "".join(
        f"dn: {dn}\nchangetype: modify\nreplace: department\ndepartment: changed {i}\n\n"
        for i, dn in enumerate(dns)
    )
    if ldif:
        UNDO.write_text(undo_ldif(sam, dns))
        ldbmodify(sam, ldif)
    print(f"snapshot kept; {len(dns)} users changed by hand")


def run() -> int:
    shutil.copyfile(KEPT, snapshot_file())
    for stale in ("-wal", "-shm"):  # SQLite's side files of the journal being replaced
        JOURNAL.with_name(JOURNAL.name + stale).unlink(missing_ok=True)
    shutil.copyfile(KEPT_JOURNAL, JOURNAL)
    return drift()


def ldapsearch() -> None:
    target = lab_target()
    flt = "(|(objectClass=group)(objectClass=organizationalUnit)(objectClass=user))"
    words = ["ldapsearch", "-H", f"ldaps://{target.tls_name}", "-x", "-D", target.username,
             "-y", "PASSWORD_FILE", "-E", "pr=1000/noprompt",
             "-E", "1.2.840.113556.1.4.801=::MAMCAQQ=", "-s", "sub", "-b", target.base_dn,
             flt, *ATTRIBUTES]  # fmt: skip
    print(f"LDAPTLS_CACERT={target.ca_file} LDAPTLS_REQCERT=demand " + " ".join(
        f"'{w}'" if "(" in w else w for w in words))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="step", required=True)
    sub.add_parser("prepare").add_argument("--changes", type=int, default=0)
    sub.add_parser("run")
    sub.add_parser("ldapsearch")
    args = p.parse_args(argv)
    if args.step == "prepare":
        prepare(args.changes)
        return 0
    if args.step == "ldapsearch":
        ldapsearch()
        return 0
    return run()


if __name__ == "__main__":
    raise SystemExit(main())
