"""What a drift check keeps to be recalled, and when it refuses to keep or recall it.
(The recall itself, against changes planted on the real DC: tests/integration/
test_drift_memo_lab.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adsuite.engine import drift, drift_memo
from adsuite.engine import drift_snapshot as snap
from adsuite.engine.drift_incremental import SnapshotReader
from adsuite.engine.drift_snapshot import Dc, Snapshot, Stored
from adsuite.engine.playbook import Playbook
from adsuite.formats.ldap_query import Entry, Query

BASE = "DC=group,DC=example,DC=com"
QUERY = Query(BASE, "(sAMAccountName=wang.fang)", ("description",), "sub")
DC = Dc("ldaps://dc1", "CN=NTDS Settings", "ab" * 16, 5000)
FOUND = drift.Finding("0123456789ab", "user", f"CN=w,{BASE}", "user CN=w: differs", "a.yml:3")
OUTCOME = drift.Outcome(
    domain="corp",
    base_dn=BASE,
    counts={"create": 0, "update": 1, "delete": 0},
    objects_read=3,
    queries=2,
    changes=({"kind": "user", "action": "update", "before": {"description": ["x"]}},),
    notices=(),
    findings=(FOUND,),
    actions=("update",),
)


def reader(old: Snapshot | None = None, results: dict[Query, Any] | None = None) -> Any:
    """A SnapshotReader in the state start() leaves it in, without a directory: only
    for the refusals decided before any search is sent."""
    made = SnapshotReader.__new__(SnapshotReader)
    made.old, made.changed, made.results = old, {}, dict(results or {})
    return made


def kept(key: str = "k", requests: list[Any] | None = None) -> Snapshot:
    stored = [Stored(b"g" * 16, Entry(f"CN=w,{BASE}", {"description": (b"x",)}))]
    memo = {
        "format": drift_memo.FORMAT,
        "key": key,
        "requests": [snap.query_doc(QUERY)] if requests is None else requests,
        "outcome": drift_memo.to_data(OUTCOME),
    }
    return Snapshot(DC, 0.0, {}, {QUERY: stored}, memo=memo)


def test_an_outcome_survives_the_round_trip_through_a_snapshot_file(tmp_path: Path) -> None:
    path = tmp_path / "drift" / "s.snapshot"
    sha256 = snap.save(path, kept())
    loaded = snap.load(path.read_bytes(), sha256 or "")
    assert loaded is not None and loaded.memo is not None
    assert drift_memo.from_data(loaded.memo["outcome"]) == OUTCOME


@pytest.mark.parametrize(
    "spoil",
    [
        lambda d: d.update(objects_read="3"),
        lambda d: d.update(objects_read=True),
        lambda d: d.update(actions=["update", "create"]),  # one action per finding
        lambda d: d.update(actions=["erase"]),
        lambda d: d["findings"][0].update(id=12),
        lambda d: d["findings"][0].update(extra="x"),
        lambda d: d["changes"][0].update(before=object()),
        lambda d: d.pop("domain"),
        lambda d: d.update(changes="not a list"),
    ],
)
def test_a_kept_outcome_with_a_value_of_another_type_is_not_recalled(spoil: Any) -> None:
    data = drift_memo.to_data(OUTCOME)
    data["findings"] = [dict(f) for f in data["findings"]]
    data["changes"] = [dict(c) for c in data["changes"]]
    spoil(data)
    assert drift_memo.from_data(data) is None


def test_nothing_is_kept_unless_every_request_was_a_search_through_the_snapshot() -> None:
    through = reader(results={QUERY: []})
    assert drift_memo.memo("k", [QUERY, QUERY], through, True, OUTCOME) is not None
    assert drift_memo.memo("k", [QUERY], through, False, OUTCOME) is None  # a clocked kind
    assert drift_memo.memo(None, [QUERY], through, True, OUTCOME) is None  # no key
    assert drift_memo.memo("k", [QUERY], reader(), True, OUTCOME) is None  # searched live
    assert drift_memo.memo("k", [QUERY, ("sysvol", "x")], through, True, OUTCOME) is None


@pytest.mark.parametrize(
    ("old", "key"),
    [
        (None, "k"),  # no snapshot used: a full read
        (kept(), None),
        (kept(), "another key"),  # the playbook, an import, the inventory or adsuite changed
        (kept(requests=[{"base": BASE}]), "k"),  # malformed
        (kept(requests=[snap.query_doc(Query(BASE, "(cn=x)", (), "sub"))]), "k"),  # unknown
        (Snapshot(DC, 0.0, {}, {}), "k"),  # no memo
    ],
)
def test_nothing_is_recalled_for_another_key_or_a_search_the_snapshot_lacks(
    old: Snapshot | None, key: str | None
) -> None:
    assert drift_memo.recall(reader(old), key) is None


def test_the_key_follows_every_file_the_playbook_read_and_the_inventory(tmp_path: Path) -> None:
    main, imported = tmp_path / "site.yml", tmp_path / "part.yml"
    main.write_text("tasks: []\n")
    imported.write_text("tasks: []\n")
    book = Playbook(main, "x", (), (imported,))

    class Inventory:
        def __init__(self, shown: dict[str, Any]) -> None:
            self.shown = shown

        def model_dump(self, mode: str) -> dict[str, Any]:
            return self.shown

    first = drift_memo.key(book, Inventory({"a": 1}), "corp")
    assert first == drift_memo.key(book, Inventory({"a": 1}), "corp")
    assert first != drift_memo.key(book, Inventory({"a": 2}), "corp")
    assert first != drift_memo.key(book, Inventory({"a": 1}), "other")
    imported.write_text("tasks: [] # edited\n")
    assert first != drift_memo.key(book, Inventory({"a": 1}), "corp")
    imported.unlink()
    assert drift_memo.key(book, Inventory({"a": 1}), "corp") is None
