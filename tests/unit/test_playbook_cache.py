"""The playbook cache gives what a fresh load gives, and only while nothing changed."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from adsuite.engine import playbook_cache
from adsuite.engine.loader import Playbook, load_playbook
from adsuite.errors import InputError
from adsuite.resources import registry
from adsuite.runtime.inventory import Inventory, load_inventory

REPO = Path(__file__).resolve().parents[2]
KINDS = registry.specs()
ROOT = """
- import_playbook: ous.yml
- name: groups
  tasks:
    - name: "{{ item.code }} staff"
      group: {name: "{{ item.code }}-staff", ou: "{{ item.code }}"}
      loop: "{{ companies }}"
"""
OUS = """
name: ous
tasks:
  - ou: {path: "{{ item.code }}", description: "{{ item.name }}"}
    loop: "{{ companies }}"
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("ADSUITE_CACHE_DIR", str(folder))
    monkeypatch.delenv("ADSUITE_NO_CACHE", raising=False)
    return folder


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    text = (REPO / "inventory" / "lab.yml").read_text(encoding="utf-8")
    (work / "inventory.yml").write_text(text, encoding="utf-8")
    write("site.yml", ROOT)
    write("ous.yml", OUS)
    return work


def write(name: str, text: str) -> Path:
    path = Path(name)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def inventory() -> Inventory:
    return load_inventory(Path("inventory.yml"))


def load() -> Playbook:
    return load_playbook(Path("site.yml"), inventory(), KINDS)


def entries(cache: Path) -> list[Path]:
    return sorted((cache / "playbooks").glob("*.json"))


def tamper_names(entry: Path, new_name: str) -> None:
    """Rewrite a stored entry's task names, keeping its key: what the cache then
    returns shows whether the entry was used."""
    head, plays = read_entry(entry)
    for play in plays:
        for task in play["tasks"]:
            task[1] = new_name
    entry.write_text(json.dumps(head) + "\n" + json.dumps(plays), encoding="utf-8")


def read_entry(entry: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An entry's head line and its plays."""
    head, _, plays = entry.read_bytes().partition(b"\n")
    return json.loads(head), json.loads(plays)


def test_a_cached_load_equals_a_fresh_one_for_the_shipped_playbooks(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    lab = load_inventory(Path("inventory/lab.yml"))
    for name in ("site.yml", "workstation_lockdown.yml", "fileserver_audit.yml"):
        path = Path("playbooks") / name
        monkeypatch.setenv("ADSUITE_NO_CACHE", "1")
        fresh = load_playbook(path, lab, KINDS)
        monkeypatch.delenv("ADSUITE_NO_CACHE")
        load_playbook(path, lab, KINDS)  # stores
        cached = load_playbook(path, lab, KINDS)
        assert cached == fresh, name
    assert len(entries(cache)) == 3


def test_an_entry_is_used_while_every_file_and_the_inventory_are_unchanged(
    cache: Path, workdir: Path
) -> None:
    first = load()
    [entry] = entries(cache)
    tamper_names(entry, "from the cache")
    assert {t.name for p in load().plays for t in p.tasks} == {"from the cache"}
    assert len(first.files) == 2


def test_an_edited_import_is_loaded_afresh(cache: Path, workdir: Path) -> None:
    load()
    [entry] = entries(cache)
    tamper_names(entry, "from the cache")
    write("ous.yml", OUS.replace("{{ item.name }}", "{{ item.name }} (edited)"))
    loaded = load()
    ous = [t for p in loaded.plays for t in p.tasks if t.kind == "ou"]
    assert ous and all(str(getattr(t.spec, "description", "")).endswith("(edited)") for t in ous)
    assert "from the cache" not in {t.name for p in loaded.plays for t in p.tasks}


def test_an_edited_inventory_is_a_different_key(cache: Path, workdir: Path) -> None:
    load()
    text = Path("inventory.yml").read_text(encoding="utf-8")
    Path("inventory.yml").write_text(text.replace("name: ", "name: X ", 1), encoding="utf-8")
    load()
    assert len(entries(cache)) == 2


def test_a_bad_entry_is_ignored_never_an_error(cache: Path, workdir: Path) -> None:
    expected = load()
    [entry] = entries(cache)
    garbage_heads = (b"{not json", b"[]", b'{"key": 1}', json.dumps({"key": entry.stem}).encode())
    _, plays = read_entry(entry)
    for garbage in (
        *garbage_heads,
        *(g + b"\n" + json.dumps(plays).encode() for g in garbage_heads),
    ):
        entry.write_bytes(garbage)
        os.chmod(entry, 0o600)
        assert load() == expected


def test_an_entry_others_could_write_is_not_trusted(cache: Path, workdir: Path) -> None:
    load()
    [entry] = entries(cache)
    tamper_names(entry, "from the cache")
    os.chmod(entry, 0o666)
    assert "from the cache" not in {t.name for p in load().plays for t in p.tasks}


def test_entries_are_private(cache: Path, workdir: Path) -> None:
    load()
    [entry] = entries(cache)
    assert entry.stat().st_mode & 0o777 == 0o600
    assert (cache / "playbooks").stat().st_mode & 0o777 == 0o700


def test_a_mistake_after_a_cached_load_is_reported_as_before(cache: Path, workdir: Path) -> None:
    load()
    write("ous.yml", OUS.replace("path:", "pth:"))
    with pytest.raises(InputError) as caught:
        load()
    assert str(caught.value).startswith("ous.yml:3: ")
    assert len(entries(cache)) == 1  # the failed load stored nothing


def test_a_spec_that_does_not_survive_json_is_not_cached(cache: Path, workdir: Path) -> None:
    class Odd(playbook_cache.BaseModel):
        path: str

        def __eq__(self, other: object) -> bool:
            return False  # a model whose stored form could never be checked equal

    kinds = {**KINDS, "ou": Odd}
    write("site.yml", "name: odd\ntasks:\n  - ou: {path: HQ}\n")
    load_playbook(Path("site.yml"), inventory(), kinds)
    assert entries(cache) == []


def test_a_deferred_load_reads_the_tasks_only_when_asked_and_then_as_the_cache_has_them(
    cache: Path, workdir: Path
) -> None:
    from adsuite.engine.loader import defer_playbook
    from adsuite.engine.playbook import Deferred

    assert not isinstance(defer_playbook(Path("site.yml"), inventory(), KINDS), Deferred)
    fresh = load()  # stored by the line above: a plain load of the same files
    (entry,) = entries(cache)
    tamper_names(entry, "from the entry")  # what the plays come from, once asked for
    deferred = defer_playbook(Path("site.yml"), inventory(), KINDS)
    assert isinstance(deferred, Deferred) and "plays" not in vars(deferred)
    assert (deferred.sha256, deferred.files) == (fresh.sha256, fresh.files)
    assert deferred.domains() == fresh.domains()
    assert {t.name for play in deferred.plays for t in play.tasks} == {"from the entry"}
    assert "plays" in vars(deferred)


def test_a_playbook_declaring_one_object_twice_is_refused_and_never_cached(
    cache: Path, workdir: Path
) -> None:
    from adsuite.engine.loader import defer_playbook

    write("ous.yml", OUS + '  - ou: {path: "HQ", description: again}\n')
    for _ in range(2):
        with pytest.raises(InputError, match="declared twice"):
            defer_playbook(Path("site.yml"), inventory(), KINDS)
    assert entries(cache) == []


def test_reading_an_entry_frees_each_raw_task_as_it_is_built(cache: Path, workdir: Path) -> None:
    """A 200,000-task entry is not held whole beside the 200,000 tasks built from it."""
    fresh = load()
    [stored] = entries(cache)
    head, plays = read_entry(stored)
    entry = {**head, "plays": plays}
    sizes = [len(play["tasks"]) for play in entry["plays"]]
    built = playbook_cache._playbook(Path("site.yml"), entry, KINDS)
    assert [len(play["tasks"]) for play in entry["plays"]] == [0] * len(sizes)
    assert [len(play.tasks) for play in built.plays] == sizes and sum(sizes) > 2
    assert built.plays == fresh.plays


def test_a_deferred_load_reads_only_the_head_line_and_a_bad_body_is_a_fresh_load(
    cache: Path, workdir: Path
) -> None:
    from adsuite.engine.loader import defer_playbook
    from adsuite.engine.playbook import Deferred

    fresh = load()
    (entry,) = entries(cache)
    head, _ = read_entry(entry)
    entry.write_text(json.dumps(head) + "\n{not json", encoding="utf-8")
    deferred = defer_playbook(Path("site.yml"), inventory(), KINDS)
    assert isinstance(deferred, Deferred)  # the head alone was enough
    assert deferred.plays == fresh.plays  # the body did not parse: loaded from YAML
