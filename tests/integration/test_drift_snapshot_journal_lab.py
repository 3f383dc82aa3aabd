"""A hand-edited drift snapshot is not used: the journal vouches for snapshots.

On the real lab DC: a difference is planted by hand (ldbmodify), a full drift reports it
and writes the snapshot, then the snapshot file is edited as an attacker would (the
stored value set to the declared one, re-dumped). A control proves the edit would hide
the planted difference if the snapshot were trusted; the real incremental drift must
instead read in full, report the planted finding and warn on stderr. A drift journaled
in another journal is not vouched for either.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from labkit import Cli, Lab
from sysvol import BASE

from adsuite.engine import drift as driftlib
from adsuite.engine import drift_snapshot as snap
from adsuite.engine.drift_incremental import SnapshotReader
from adsuite.engine.playbook_cache import cache_dir
from adsuite.journal.store import Journal

pytestmark = pytest.mark.lab


def playbook(top: str) -> str:
    return f"""
tasks:
  - ou: {{path: {top}, description: top}}
  - user: {{name: {top}-a, ou: {top}, description: declared}}
"""


def drift(cli: Callable[..., Cli], path: Path, lab: Lab, *extra: str) -> tuple[dict[str, Any], Cli]:
    done = cli("drift", str(path), "-i", str(lab.inventory), "--format", "json", *extra)
    assert done.code in (0, 2), done.err
    doc: dict[str, Any] = json.loads(done.out)
    return doc, done


def planted(doc: dict[str, Any], top: str) -> list[str]:
    return [f["text"] for f in doc["findings"] if f"CN={top}-a," in f["text"]]


def tamper(file: Path, sha256: str, top: str) -> str:
    """Set the user's stored description back to the declared value; the new digest."""
    raw = snap.read(file)
    assert raw is not None
    kept = snap.load(raw, sha256)
    assert kept is not None
    edited = 0
    for items in kept.queries.values():
        for stored in items:
            values = stored.entry.attributes.get("description")
            if stored.entry.dn.startswith(f"CN={top}-a,") and values == (b"planted",):
                stored.entry.attributes["description"] = (b"declared",)
                edited += 1
    assert edited, "the snapshot holds the planted value"
    forged = snap.save(file, kept)
    assert forged is not None and forged != sha256
    return forged


def trusted_anyway(lab: Lab, path: Path, vouched: tuple[str, dict[str, Any]]) -> list[str]:
    """The findings of a drift that trusted the edited snapshot (as if the journal said so)."""
    session = lab.session(path)
    username = session.inventory.credentials[session.domain.credential].username
    with session.connect(write=False) as conn:
        reader = SnapshotReader(conn.ldap, username, session.domain.base_dn)
        reader.start(full=False, max_age_hours=24, vouched=lambda _: vouched)
        assert reader.summary()["read"] == "incremental", reader.summary()
        return [f.text for f in driftlib.findings(session.plan(conn))]


def test_an_edited_snapshot_is_not_used_and_the_planted_drift_is_reported(
    lab_env: Lab,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
    tmp_path: Path,
) -> None:
    path = write_playbook(playbook(top))
    applied = cli("apply", str(path), "-i", str(lab_env.inventory), "--yes")
    assert applied.code == 0, applied.out + applied.err
    ldif = f"dn: CN={top}-a,OU={top},{BASE}\nchangetype: modify\nreplace: description\n"
    by_hand_ldif(lab_env, ldif + "description: planted\n")
    full, _ = drift(cli, path, lab_env, "--full")
    assert planted(full, top), full["findings"]
    written = full["reading"]["snapshot"]
    assert full["reading"]["read"] == "full" and written["dc"] == lab_env.status.ldap_url
    with Journal.open(lab_env.journal) as journal:  # what the run journaled, not only printed
        assert journal.snapshot_writer(written["file"]) == (full["run_id"], written)

    file = cache_dir() / "drift" / written["file"]
    forged = tamper(file, written["sha256"], top)
    # the control: trusted, the edited snapshot hides the planted difference
    assert not [t for t in trusted_anyway(lab_env, path, (full["run_id"], written | {
        "sha256": forged})) if f"CN={top}-a," in t]  # fmt: skip

    after, done = drift(cli, path, lab_env)
    how = after["reading"]
    assert how["read"] == "full" and how["full_because"].startswith(snap.MISMATCH), how
    assert planted(after, top) == planted(full, top)
    assert "warning:" in done.err and snap.MISMATCH in done.err, done.err
    again, done = drift(cli, path, lab_env)  # that full read wrote a vouched snapshot
    assert again["reading"]["read"] == "incremental" and "warning" not in done.err, done.err
    assert planted(again, top) == planted(full, top)

    other = {"ADSUITE_JOURNAL": str(tmp_path / "another-journal.sqlite")}
    elsewhere = cli("drift", str(path), "-i", str(lab_env.inventory), "--format", "json", env=other)
    how = json.loads(elsewhere.out)["reading"]
    assert how["read"] == "full" and "no drift run in this journal" in how["full_because"], how
    assert snap.MISMATCH in elsewhere.err, elsewhere.err

    text = cli("drift", str(path), "-i", str(lab_env.inventory))  # the other journal wrote it
    assert text.code == 2 and "  read in full: the snapshot does not match" in text.out, text.out
    text = cli("drift", str(path), "-i", str(lab_env.inventory))
    line = (
        r"^  read incrementally: \d+ objects? changed since USN \d+ \(full read \d+ (s|min|h) ago\)"
    )
    recalled = r"; nothing the checks read changed: the findings of run \S+ stand$"
    assert re.search(line + recalled, text.out, re.M), text.out  # the run before wrote it


def by_hand_ldif(lab: Lab, ldif: str) -> None:
    sam = str(lab.status.state_dir / "private" / "sam.ldb")
    done = subprocess.run(["ldbmodify", "-H", sam], input=ldif, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
