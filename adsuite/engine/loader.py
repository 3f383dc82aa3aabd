"""Playbooks in the Ansible manner: plays of tasks, loops, `when`, vars and imports.

A playbook file is one play (a mapping) or a list of plays and
``- import_playbook: other.yml`` items. Each task names exactly one resource kind;
its arguments are rendered with Jinja2 (sandboxed and bounded by engine/templating.py,
native types, strict undefined) once per loop item and validated by that kind's
pydantic model; control characters are refused in every value. Every mistake becomes one
``file:line: message`` InputError at the line the bad value came from.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from adsuite.engine import gc_pause, playbook_cache, spec_sharing
from adsuite.engine.playbook import Play, Playbook, Task, check_duplicates, desired_by_kind
from adsuite.errors import InputError
from adsuite.formats.yaml_source import SourceDoc, YamlPath, read_yaml, short_repr, validation_error
from adsuite.runtime.inventory import Domain, Inventory
from adsuite.source import Location

if TYPE_CHECKING:  # bound at run time by _import_jinja(), for a load that expands
    from jinja2 import TemplateSyntaxError, UndefinedError
    from jinja2.exceptions import SecurityError
    from jinja2.runtime import Undefined

    from adsuite.engine import templating

__all__ = ["Play", "Playbook", "Task", "load_playbook"]

log = logging.getLogger(__name__)

PLAY_KEYS = ("name", "domain", "vars", "tasks")
TASK_KEYS = ("name", "loop", "loop_control", "when")
LOOP_CONTROL_KEYS = ("loop_var",)
BUILTIN_VARS = ("companies", "domain", "inventory")
MAX_LOOP_ITEMS = 10_000  # items one task's loop may give
MAX_TASKS = 200_000  # tasks one playbook expands to, imports and loops included
NO_TAGS = (
    "'tags' are not supported: a plan, an apply and a drift check cover the whole playbook; "
    "put these tasks in a playbook of their own (import_playbook joins playbooks)"
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_UNDEFINED_NAME = re.compile(r"^'([^']+)' is undefined$")
_MISSING_KEY = re.compile(r"^'dict object' has no attribute '([^']+)'$")


def load_playbook(
    path: Path, inventory: Inventory, kinds: Mapping[str, type[BaseModel]]
) -> Playbook:
    """Load the playbook at ``path`` with its imports; validate every task, and refuse
    one object declared twice (engine/playbook.py ``check_duplicates``).

    An unchanged playbook (every file it reads, the inventory, adsuite's code) comes
    from the cache (engine/playbook_cache.py); only a load without errors is cached.
    """
    return _load(path, inventory, kinds, playbook_cache.Cache.for_load(path, inventory, kinds))


def defer_playbook(
    path: Path, inventory: Inventory, kinds: Mapping[str, type[BaseModel]]
) -> Playbook:
    """:func:`load_playbook`, except that from a cache entry (a load without errors)
    the tasks are validated only when first asked for: a drift check that recalls its
    last outcome never asks (engine/drift_memo.py)."""
    cache = playbook_cache.Cache.for_load(path, inventory, kinds)

    def load() -> Playbook:
        return _load(path, inventory, kinds, cache)

    deferred = cache.peek(load)
    return deferred if deferred is not None else load()


def _load(
    path: Path,
    inventory: Inventory,
    kinds: Mapping[str, type[BaseModel]],
    cache: playbook_cache.Cache,
) -> Playbook:
    with gc_pause.paused():
        cached = cache.lookup()
        if cached is not None:
            return cached
        loader = _Loader(inventory, kinds)
        plays = loader.load_file(path, origin=None)
        playbook = Playbook(path, loader.sha256(), tuple(plays), tuple(loader.files))
        check_duplicates(desired_by_kind(playbook))  # so every cached playbook passed it
        cache.store(playbook, loader.digests())
        return playbook


# --- Jinja2 ------------------------------------------------------------------------


def _import_jinja() -> None:
    """Import jinja2 and the sandbox (engine/templating.py) for a load that expands a
    playbook: one the cache answers needs neither. Bound as this module's globals so
    that rendering a template costs no import statement per call."""
    global templating, TemplateSyntaxError, UndefinedError, SecurityError, Undefined
    from jinja2 import TemplateSyntaxError, UndefinedError
    from jinja2.exceptions import SecurityError
    from jinja2.runtime import Undefined

    from adsuite.engine import templating


def _is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def _require_defined(value: Any) -> None:
    """Raise UndefinedError for an Undefined anywhere in a rendered value."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    elif isinstance(value, dict):
        for item in value.values():
            _require_defined(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _require_defined(item)


@dataclass(frozen=True)
class _Scope:
    """What a template sees, and how errors rendering it are worded."""

    doc: SourceDoc
    context: dict[str, Any]
    where: str  # "task 'Company root OUs'", "var 'sub_ous'"
    suffix: str = ""  # " (loop item 3: 'HQ')"

    def error(self, path: YamlPath, message: str) -> InputError:
        return self.doc.error(path, f"{message} in {self.where}{self.suffix}")

    @cached_property
    def variables(self) -> templating.Variables:
        return templating.Variables(self.context)

    def with_item(self, name: str, index: int, item: Any) -> _Scope:
        suffix = f" (loop item {index + 1}: {_item_label(item)})"
        return _Scope(self.doc, {**self.context, name: item}, self.where, suffix)


def _render(value: Any, scope: _Scope, path: YamlPath) -> Any:
    """Render every template string in ``value``; mapping keys are not templates."""
    if isinstance(value, str):
        return _render_text(value, scope, path) if _is_template(value) else value
    if isinstance(value, dict):
        return {key: _render(item, scope, (*path, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, scope, (*path, index)) for index, item in enumerate(value)]
    return value


def _render_text(text: str, scope: _Scope, path: YamlPath) -> Any:
    try:
        result = templating.render(text, scope.variables)
        _require_defined(result)
    except UndefinedError as exc:
        message = _undefined_message(exc.message or "undefined value")
        raise scope.error(path, _clip(message)) from None
    except TemplateSyntaxError as exc:
        message = (exc.message or "").rstrip(".")
        raise scope.error(path, f"template syntax error: {_clip(message)}") from None
    except SecurityError as exc:
        raise scope.error(path, f"template refused: {_clip(str(exc)).rstrip('.')}") from None
    except RecursionError:
        raise scope.error(path, "template error: recursion too deep") from None
    except Exception as exc:  # filters and tests run the user's expressions
        message = _clip(f"{type(exc).__name__}: {exc}")
        raise scope.error(path, f"template error: {message}") from None
    return result


def _clip(message: str, limit: int = 120) -> str:
    """An error's words on one line and short: it may quote the values it failed on."""
    line = " ".join(message.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _undefined_message(message: str) -> str:
    if match := _UNDEFINED_NAME.match(message):
        return f"undefined variable '{match[1]}'"
    if match := _MISSING_KEY.match(message):
        return f"undefined key '{match[1]}'"
    return message


def _item_label(item: Any) -> str:
    """A loop item in a few characters: a company as 'HQ', a pair as ('HQ', 'Users')."""
    if isinstance(item, dict):
        for key in ("code", "name", "key", "path"):
            if key in item:
                return short_repr(item[key])
    if isinstance(item, list | tuple) and item:
        inner = ", ".join(_item_label(part) for part in item)
        return short_repr(f"({inner})", limit=60).strip("'\"")
    return short_repr(item)


# --- playbook structure ------------------------------------------------------------


class _Loader:
    """One playbook load: the files read so far and the import chain being followed."""

    def __init__(self, inventory: Inventory, kinds: Mapping[str, type[BaseModel]]) -> None:
        _import_jinja()
        self.inventory = inventory
        self.kinds = kinds  # the registry's: a kind's module is imported at its first task
        self.inventory_data = inventory.model_dump(mode="json")
        self.files: list[Path] = []
        self.task_count = 0
        self.root = Path.cwd()
        self._digests: dict[Path, str] = {}
        self._chain: list[tuple[Path, str]] = []  # (resolved, shown) of files being loaded
        self.field_sets = spec_sharing.FieldSets()

    def digests(self) -> dict[Path, str]:
        """The sha256 of every file this load read, by resolved path."""
        return dict(self._digests)

    def sha256(self) -> str:
        """One file: its own sha256. Several: sha256 of their digests, one a line."""
        digests = list(self._digests.values())
        if len(digests) == 1:
            return digests[0]
        return hashlib.sha256("".join(f"{d}\n" for d in digests).encode()).hexdigest()

    def load_file(self, path: Path, origin: tuple[SourceDoc, YamlPath] | None) -> list[Play]:
        resolved = path.resolve()
        if origin is None:
            self.root = resolved.parent  # imports stay in this folder tree
        if origin is not None and any(resolved == seen for seen, _ in self._chain):
            chain = " -> ".join([shown for _, shown in self._chain] + [str(path)])
            raise origin[0].error(origin[1], f"import cycle: {chain}")
        doc, raw = read_yaml(path, str(path))
        doc.refuse_control_characters()
        if resolved not in self._digests:
            self._digests[resolved] = hashlib.sha256(raw).hexdigest()
            self.files.append(path)
        if doc.data is None:
            raise doc.error((), "the playbook is empty")
        if isinstance(doc.data, dict):
            items: list[tuple[YamlPath, Any]] = [((), doc.data)]
        elif isinstance(doc.data, list):
            items = [((index,), item) for index, item in enumerate(doc.data)]
        else:
            raise doc.error((), "a playbook must be a play (a mapping) or a list of plays")
        self._chain.append((resolved, str(path)))
        plays: list[Play] = []
        for item_path, item in items:
            if isinstance(item, dict) and "import_playbook" in item:
                plays.extend(self.load_import(doc, item_path, item))
            else:
                plays.append(self.load_play(doc, item_path, item))
        self._chain.pop()
        return plays

    def load_import(self, doc: SourceDoc, path: YamlPath, item: dict[str, Any]) -> list[Play]:
        doc.check_keys(path, item, ("import_playbook",), "import_playbook")
        key_path = (*path, "import_playbook")
        name = doc.text(key_path, item["import_playbook"], "import_playbook")
        target = Path(doc.file).parent / name
        if not target.resolve().is_relative_to(self.root):
            raise doc.error(key_path, "import_playbook must name a file in the playbook's folder")
        if not target.is_file():
            raise doc.error(key_path, f"cannot import '{target}': no such file")
        return self.load_file(target, origin=(doc, key_path))

    def load_play(self, doc: SourceDoc, path: YamlPath, data: Any) -> Play:
        if not isinstance(data, dict):
            raise doc.error(path, "a play must be a mapping with 'tasks', or an import_playbook")
        doc.check_keys(path, data, PLAY_KEYS, "play")
        name = doc.text((*path, "name"), data.get("name", Path(doc.file).stem), "name")
        domain_key = data.get("domain")
        if domain_key is not None:
            doc.text((*path, "domain"), domain_key, "domain")
        try:
            resolved_key, domain = self.inventory.domain(domain_key)
        except InputError as exc:
            raise doc.error((*path, "domain"), f"play '{name}': {exc.message}") from None
        if "tasks" not in data:
            raise doc.error(path, f"play '{name}' needs 'tasks'")
        if not isinstance(data["tasks"], list):
            raise doc.error((*path, "tasks"), f"'tasks' of play '{name}' must be a list")
        context = self.play_vars(doc, path, data.get("vars"), resolved_key, domain)
        tasks: list[Task] = []
        for index, task in enumerate(data["tasks"]):
            tasks.extend(self.expand_task(doc, (*path, "tasks", index), task, context))
        location = Location(doc.file, doc.line_for(path))
        return Play(name, resolved_key, tuple(tasks), location)

    def play_vars(
        self, doc: SourceDoc, path: YamlPath, raw: Any, key: str, domain: Domain
    ) -> dict[str, Any]:
        """The template context: inventory facts, then the play's vars in order."""
        context: dict[str, Any] = {
            "inventory": self.inventory_data,
            "companies": self.inventory_data["companies"],
            "domain": {"key": key, **domain.model_dump(include={"realm", "base_dn", "netbios"})},
        }
        if raw is None:
            return context
        if not isinstance(raw, dict):
            raise doc.error((*path, "vars"), "'vars' must be a mapping of name: value")
        for name, value in raw.items():
            var_path = (*path, "vars", name)
            if not _IDENTIFIER.match(name):
                raise doc.error(var_path, f"var name '{name}' must be letters, digits and _")
            if name in BUILTIN_VARS:
                raise doc.error(var_path, f"var '{name}' would hide the inventory's '{name}'")
            context[name] = _render(value, _Scope(doc, context, f"var '{name}'"), var_path)
        return context

    def expand_task(
        self, doc: SourceDoc, path: YamlPath, data: Any, context: dict[str, Any]
    ) -> list[Task]:
        """One task entry as one Task, or one per loop item that passes ``when``."""
        if not isinstance(data, dict):
            raise doc.error(path, "a task must be a mapping like {name: ..., ou: {...}}")
        raw_name = data.get("name")
        if raw_name is not None:
            doc.text((*path, "name"), raw_name, "name")
        if "tags" in data:  # docs/playbook-input.md says why there are none
            raise doc.error((*path, "tags"), NO_TAGS)
        label = f"task '{raw_name}'" if raw_name else "this task"
        kind = self.kind_of(doc, path, data, label)
        scope = _Scope(doc, context, f"task '{raw_name}'" if raw_name else f"{kind} task")
        location = Location(doc.file, doc.line_for(path))
        tasks: list[Task] = []
        for index, item_scope in self.loop_scopes(doc, path, data, scope):
            if "when" in data and not self.when(data["when"], item_scope, (*path, "when")):
                continue
            name = _render(raw_name or kind, item_scope, (*path, "name"))
            doc.refuse_control_characters((*path, "name"), name)
            spec = self.spec(kind, data[kind], item_scope, (*path, kind))
            tasks.append(Task(kind, str(name), spec, location, self.field_sets.share_index(index)))
            self.task_count += 1
            if self.task_count > MAX_TASKS:
                raise doc.error(path, f"the playbook expands to over {MAX_TASKS} tasks")
        return tasks

    def kind_of(self, doc: SourceDoc, path: YamlPath, data: dict[str, Any], label: str) -> str:
        found = [key for key in data if key not in TASK_KEYS]
        for key in found:
            if key in self.kinds:
                continue
            close = difflib.get_close_matches(key, [*TASK_KEYS, *self.kinds], n=1)
            if close and close[0] in TASK_KEYS:
                raise doc.error(
                    (*path, key), f"unknown task key '{key}' (did you mean '{close[0]}'?)"
                )
            known = ", ".join(sorted(self.kinds))
            raise doc.error((*path, key), f"unknown resource kind '{key}' (known: {known})")
        if len(found) > 1:
            raise doc.error(
                (*path, found[1]),
                f"{label} has two resource kinds, '{found[0]}' and '{found[1]}'; "
                "a task declares exactly one",
            )
        if not found:
            known = ", ".join(sorted(self.kinds))
            raise doc.error(path, f"{label} declares no resource kind (one of: {known})")
        return found[0]

    def loop_scopes(
        self, doc: SourceDoc, path: YamlPath, data: dict[str, Any], scope: _Scope
    ) -> list[tuple[int | None, _Scope]]:
        """The task's scope once without a loop, or once per loop item."""
        if "loop" not in data:
            if "loop_control" in data:
                raise doc.error((*path, "loop_control"), "loop_control needs a loop")
            return [(None, scope)]
        loop_var = self.loop_var(doc, (*path, "loop_control"), data.get("loop_control"))
        items = _render(data["loop"], scope, (*path, "loop"))
        if not isinstance(items, list | tuple):
            raise scope.error((*path, "loop"), f"loop must give a list, not {short_repr(items)}")
        if len(items) > MAX_LOOP_ITEMS:
            raise scope.error((*path, "loop"), f"loop gives over {MAX_LOOP_ITEMS} items")
        return [(i, scope.with_item(loop_var, i, item)) for i, item in enumerate(items)]

    def loop_var(self, doc: SourceDoc, path: YamlPath, raw: Any) -> str:
        if raw is None:
            return "item"
        if not isinstance(raw, dict):
            raise doc.error(path, "loop_control must be a mapping like {loop_var: pair}")
        doc.check_keys(path, raw, LOOP_CONTROL_KEYS, "loop_control")
        name = doc.text((*path, "loop_var"), raw.get("loop_var", "item"), "loop_var")
        if not _IDENTIFIER.match(name) or name in BUILTIN_VARS:
            raise doc.error((*path, "loop_var"), f"loop_var '{name}' is not a usable name")
        return name

    def when(self, raw: Any, scope: _Scope, path: YamlPath) -> bool:
        """``when`` is a template or a bare expression (Ansible style) giving a bool."""
        if isinstance(raw, str) and not _is_template(raw):
            raw = "{{ " + raw + " }}"
        result = _render(raw, scope, path)
        if not isinstance(result, bool):
            raise scope.error(path, f"'when' must give true or false, not {short_repr(result)}")
        return result

    def spec(self, kind: str, args: Any, scope: _Scope, path: YamlPath) -> BaseModel:
        rendered = _render(args, scope, path)
        scope.doc.refuse_control_characters(path, rendered)
        model = self.kinds[kind]
        try:
            return self.field_sets.share(model.model_validate(rendered))
        except ValidationError as exc:
            raise validation_error(
                scope.doc, exc, base=path, what=f"{kind} task", model=model, suffix=scope.suffix
            ) from None
