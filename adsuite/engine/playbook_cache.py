"""The expanded playbook, cached by content: a 10,000-task playbook loads without YAML.

Composing YAML with line marks, rendering every template and validating every task
took about 2–3 s of a 10,000-user drift check (BENCHMARKS.md). What a load gives
depends only on the files it reads, the inventory, the kinds' models and adsuite's
code, so an entry is keyed by all of them:

- the *head* key: adsuite's version and a digest of its source files (path, size,
  mtime), the kinds, the playbook's path as given and resolved, the sha256 of its
  bytes, and the sha256 of the inventory as the templates see it;
- the entry lists every file the load read (imports included) with its sha256, and is
  used only when each of them still has that digest.

Entries are JSON (never pickle: a cache file is data, not code), written 0600 in a
0700 folder (``$ADSUITE_CACHE_DIR``, else ``$XDG_CACHE_HOME/adsuite``, else
``~/.cache/adsuite``), atomically. Specs are stored as their pydantic dump and
validated again when read; a playbook whose specs do not survive that round trip
exactly is not cached. A missing, unreadable, foreign or malformed entry is a miss,
never an error; a load that fails is never cached, so errors read as before.

Validating again is kept on purpose: an entry is only as trustworthy as the file, and
for a 12,301-task playbook it costs about 0.07 s of CPU (the JSON parse 0.05 s).
Trusting a signed entry instead would need a key the cache folder does not hold, and
``model_construct`` (pydantic without validation) measured slower than validating.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

import adsuite
from adsuite.engine import spec_sharing
from adsuite.engine.playbook import Deferred, Play, Playbook, Task
from adsuite.resources import registry
from adsuite.runtime.inventory import Inventory
from adsuite.source import Location

log = logging.getLogger(__name__)

FORMAT = 2  # 2: a head line (key, digests, files, domains), then the plays
MAX_ENTRY_BYTES = 256 * 2**20
_CODE_DIGEST: str | None = None


def cache_dir() -> Path:
    explicit = os.environ.get("ADSUITE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "adsuite"


def code_digest() -> str:
    """adsuite's version and every source file's path, size and mtime: any change to
    the code (an upgrade, an edit in a checkout) makes every entry a miss."""
    global _CODE_DIGEST
    if _CODE_DIGEST is None:
        root = Path(adsuite.__file__).parent
        digest = hashlib.sha256(f"{adsuite.__version__}\n{root}\n".encode())
        for path in sorted(root.rglob("*.py")):
            info = path.stat()
            digest.update(f"{path.relative_to(root)} {info.st_size} {info.st_mtime_ns}\n".encode())
        _CODE_DIGEST = digest.hexdigest()
    return _CODE_DIGEST


def file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class Cache:
    """The cache entry one playbook load would use."""

    def __init__(self, path: Path, key: str | None, kinds: Mapping[str, type[BaseModel]]):
        self.path = path
        self.key = key  # None: nothing to look up (the playbook cannot be read)
        self.kinds = kinds
        self._read: tuple[dict[str, Any] | None] | None = None  # the head, once read
        self._body = b""  # the plays' JSON, after the head line

    @classmethod
    def for_load(
        cls, path: Path, inventory: Inventory, kinds: Mapping[str, type[BaseModel]]
    ) -> Cache:
        own = file_sha256(path)
        if own is None or os.environ.get("ADSUITE_NO_CACHE"):
            return cls(path, None, kinds)
        shown = inventory.model_dump(mode="json")
        head = {
            "format": FORMAT,
            "code": code_digest(),
            "kinds": _origins(kinds),
            "path": str(path),
            "resolved": str(path.resolve()),
            "sha256": own,
            "inventory": hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest(),
        }
        key = hashlib.sha256(json.dumps(head, sort_keys=True).encode()).hexdigest()
        return cls(path, key, kinds)

    @property
    def file(self) -> Path:
        return cache_dir() / "playbooks" / f"{self.key}.json"

    def _head(self) -> dict[str, Any] | None:
        """The entry's head line, read once, if it is this load's and every file it
        lists is unchanged; the plays after it are parsed only by :meth:`lookup`."""
        if self.key is None:
            return None
        if self._read is None:
            head, self._body = _read_private(self.file)
            try:
                usable = head is not None and head.get("key") == self.key
                usable = usable and head is not None and _files_unchanged(head["files"])
            except (KeyError, TypeError, ValueError):
                usable = False
            self._read = (head if usable else None,)
        return self._read[0]

    def peek(self, load: Callable[[], Playbook]) -> Deferred | None:
        """The playbook as its entry's head describes it, its tasks not validated until
        asked for (then *load* loads them), or None if there is no entry to use."""
        head = self._head()
        try:
            if head is None:
                return None
            files = tuple(Path(item["shown"]) for item in head["files"])
            domains = set(head["domains"])
            if not all(isinstance(d, str | None) for d in domains):
                return None
            return Deferred(self.path, str(head["sha256"]), files, domains, load)
        except (KeyError, TypeError, ValueError):
            return None

    def lookup(self) -> Playbook | None:
        head, body = self._head(), self._body
        self._read, self._body = (None,), b""  # _playbook consumes the plays: used once
        if head is None:
            return None
        try:
            entry = {**head, "plays": json.loads(body)}
            return _playbook(self.path, entry, self.kinds)
        except (KeyError, TypeError, ValueError, ValidationError) as error:
            log.debug("playbook cache entry %s ignored: %s", self.file, type(error).__name__)
            return None

    def store(self, playbook: Playbook, digests: Mapping[Path, str]) -> None:
        if self.key is None:
            return
        plays = [_play_doc(play) for play in playbook.plays]
        if not _round_trips(playbook, self.kinds):
            log.debug("playbook %s not cached: a spec does not survive JSON", self.path)
            return
        files = [
            {"shown": str(shown), "resolved": str(resolved), "sha256": sha}
            for shown, (resolved, sha) in zip(playbook.files, digests.items(), strict=True)
        ]
        domains = sorted({play.domain for play in playbook.plays}, key=str)
        head = {"key": self.key, "sha256": playbook.sha256, "files": files, "domains": domains}
        compact = (",", ":")
        text = json.dumps(head, separators=compact) + "\n" + json.dumps(plays, separators=compact)
        write_private(self.file, text.encode())


def _origins(kinds: Mapping[str, type[BaseModel]]) -> dict[str, str]:
    """Where each kind's model comes from; the registry's kinds say so without importing
    every kind's module (only those a playbook uses are imported)."""
    if isinstance(kinds, registry.Specs):
        return {name: kinds.origin(name) for name in kinds}
    return {name: f"{m.__module__}.{m.__qualname__}" for name, m in kinds.items()}


def _files_unchanged(files: list[dict[str, str]]) -> bool:
    return all(file_sha256(Path(item["resolved"])) == item["sha256"] for item in files)


def _spec_doc(spec: BaseModel) -> Any:
    return spec.model_dump(mode="json", exclude_unset=True)


def _play_doc(play: Play) -> dict[str, Any]:
    tasks = [
        [t.kind, t.name, _spec_doc(t.spec), t.location.file, t.location.line, t.loop_index]
        for t in play.tasks
    ]
    location = [play.location.file, play.location.line]
    return {"name": play.name, "domain": play.domain, "location": location, "tasks": tasks}


def _round_trips(playbook: Playbook, kinds: Mapping[str, type[BaseModel]]) -> bool:
    """Whether every spec validated from its stored form equals the one loaded."""
    for play in playbook.plays:
        for task in play.tasks:
            doc = _spec_doc(task.spec)
            try:
                again = kinds[task.kind].model_validate(doc)
            except ValidationError:
                return False
            if again != task.spec or _spec_doc(again) != doc:
                return False
    return True


def _playbook(path: Path, entry: dict[str, Any], kinds: Mapping[str, type[BaseModel]]) -> Playbook:
    plays = []
    field_sets = spec_sharing.FieldSets()  # as the loader shares them
    places: dict[tuple[str, int], Location] = {}  # a loop's tasks share their task's
    kind_names = {name: name for name in kinds}  # one string per kind, not one per task
    for play in entry["plays"]:
        raw = play["tasks"]
        raw.reverse()  # consumed from the end: each raw task is freed once it is a Task
        built = []
        while raw:
            kind, name, spec, file, line, index = raw.pop()
            built.append(
                Task(
                    kind_names[kind],
                    field_sets.share_text(name),
                    field_sets.share(kinds[kind].model_validate(spec)),
                    places.setdefault((file, line), Location(file, line)),
                    field_sets.share_index(index),
                )
            )
        tasks = tuple(built)
        del built
        location = Location(*play["location"])
        plays.append(Play(play["name"], play["domain"], tasks, location))
    files = tuple(Path(item["shown"]) for item in entry["files"])
    return Playbook(path, str(entry["sha256"]), tuple(plays), files)


def _read_private(path: Path) -> tuple[dict[str, Any] | None, bytes]:
    """The entry's head (JSON, first line) and the rest, if it is a regular file of this
    user that no one else can write, else (None, b"")."""
    raw = read_private_bytes(path)
    if raw is None:
        return None, b""
    line, _, body = raw.partition(b"\n")
    try:
        head = json.loads(line)
    except ValueError:
        return None, b""
    return (head, body) if isinstance(head, dict) else (None, b"")


def read_private_bytes(path: Path) -> bytes | None:
    """The file's bytes if it is a regular file of this user, mode 0600 or stricter, at
    most MAX_ENTRY_BYTES, else None."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        info = os.fstat(descriptor)
        mine = info.st_uid == os.geteuid() and not info.st_mode & 0o077
        if not stat.S_ISREG(info.st_mode) or not mine or info.st_size > MAX_ENTRY_BYTES:
            return None
        with os.fdopen(descriptor, "rb") as handle:
            descriptor = -1
            return handle.read()
    except OSError:
        return None
    finally:
        if descriptor >= 0:
            os.close(descriptor)


def write_private(path: Path, data: bytes) -> bool:
    """Write *data* to *path* 0600 (its folder 0700) atomically; whether it was written."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".entry-")  # 0600
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        log.debug("playbook cache not written (%s): %s", path.parent, type(error).__name__)
        return False
    return True
