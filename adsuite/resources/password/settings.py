"""Password and lockout settings as playbooks say them, shared by ``password_policy``
(the domain object) and ``pso`` (fine-grained password settings objects).

    min_length: 8               # characters
    history: 5                  # remembered passwords
    complexity: true
    reversible_encryption: false
    min_age: 1                  # days
    max_age: 180                # days, or never
    lockout_threshold: 5        # bad attempts; 0 never locks out
    lockout_window: 30          # minutes until the bad-attempt count resets, or never
    lockout_duration: 30        # minutes, or never (until an administrator unlocks)
    floor_override: {reason: "..."}   # only to go below the regulation floor

Below the floor of regulation 二.2.c (see :mod:`adsuite.resources.regulations`) a
setting is refused when the playbook is loaded, at the line of the setting, unless
``floor_override`` gives a written reason. A change that writes a setting below the
floor carries ``floor_override: <reason>`` in its ``after``, so the journal records
why. Values are shown in words ("180 days", "never") in plans and drift.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from adsuite.formats import intervals
from adsuite.formats.intervals import IntervalKind
from adsuite.formats.ldap_query import Entry
from adsuite.resources import regulations

log = logging.getLogger(__name__)

Count = Annotated[int, Field(ge=0, le=1024)]


def _interval(kind: IntervalKind) -> PlainValidator:
    """Whole days or minutes, or never where the attribute allows it. AD reads a
    maximum age or a lockout duration of 0 as never, so those start at 1."""
    lowest = 1 if kind.zero_is_never else 0
    allowed = f"a whole number of {kind.unit} ({lowest} or more)"
    allowed += " or never" if kind.never_allowed else ""

    def check(value: Any, info: ValidationInfo) -> int | str:
        if value == intervals.NEVER and kind.never_allowed:
            return intervals.NEVER
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
            raise ValueError(f"{info.field_name} must be {allowed}, not {value!r}")
        try:
            intervals.to_ticks(value, kind)
        except ValueError as error:  # too long for 64 bits
            raise ValueError(f"{info.field_name}: {error}") from None
        return value

    return PlainValidator(check)


Interval = int | str
MaxAge = Annotated[Interval, _interval(intervals.MAX_PASSWORD_AGE)]
MinAge = Annotated[Interval, _interval(intervals.MIN_PASSWORD_AGE)]
Window = Annotated[Interval, _interval(intervals.LOCKOUT_WINDOW)]
Duration = Annotated[Interval, _interval(intervals.LOCKOUT_DURATION)]


def _longer(a: Interval, b: Interval) -> bool:
    """True if interval *a* is longer than *b* (never is longer than any number)."""
    if a == intervals.NEVER:
        return b != intervals.NEVER
    return b != intervals.NEVER and int(a) > int(b)


class FloorOverride(BaseModel):
    """Permission to go below the regulation floor, with the written reason."""

    model_config = ConfigDict(extra="forbid")

    reason: str

    @field_validator("reason")
    @classmethod
    def _written(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("floor_override needs a written reason, not an empty one")
        return value.strip()


def _floor(message: str | None, info: ValidationInfo) -> None:
    if message is not None and info.data.get("floor_override") is None:
        raise ValueError(f"{message}; to go below it, give floor_override: {{reason: ...}}")


class Settings(BaseModel):
    """Every setting is optional here; a setting left out is not managed."""

    model_config = ConfigDict(extra="forbid")

    floor_override: FloorOverride | None = None  # first: the checks below read it
    min_length: Count | None = None
    history: Count | None = None
    complexity: bool | None = None
    reversible_encryption: bool | None = None
    min_age: MinAge | None = None
    max_age: MaxAge | None = None
    lockout_threshold: Annotated[int, Field(ge=0, le=65535)] | None = None
    lockout_window: Window | None = None
    lockout_duration: Duration | None = None

    @field_validator("min_length")
    @classmethod
    def _min_length_floor(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None:
            _floor(regulations.min_length_violation(value), info)
        return value

    @field_validator("history")
    @classmethod
    def _history_floor(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None:
            _floor(regulations.history_violation(value), info)
        return value

    @field_validator("max_age")
    @classmethod
    def _max_age(cls, value: Interval | None, info: ValidationInfo) -> Interval | None:
        if value is None:
            return value
        _floor(regulations.max_age_violation(value), info)
        min_age = info.data.get("min_age")
        if min_age is not None and not _longer(value, min_age):
            raise ValueError(
                f"max_age ({_words(value, 'max_age')}) must be longer than "
                f"min_age ({_words(min_age, 'min_age')})"
            )
        return value

    @field_validator("lockout_duration")
    @classmethod
    def _duration(cls, value: Interval | None, info: ValidationInfo) -> Interval | None:
        window = info.data.get("lockout_window")
        if value is not None and window is not None and _longer(window, value):
            raise ValueError(
                f"lockout_duration ({_words(value, 'lockout_duration')}) must not be "
                f"shorter than lockout_window ({_words(window, 'lockout_window')})"
            )
        return value


@dataclass(frozen=True)
class Setting:
    field: str
    interval: IntervalKind | None = None  # None: a plain count


NUMBERS = (
    Setting("min_length"),
    Setting("history"),
    Setting("min_age", intervals.MIN_PASSWORD_AGE),
    Setting("max_age", intervals.MAX_PASSWORD_AGE),
    Setting("lockout_threshold"),
    Setting("lockout_window", intervals.LOCKOUT_WINDOW),
    Setting("lockout_duration", intervals.LOCKOUT_DURATION),
)
FLAGS = ("complexity", "reversible_encryption")
FIELDS = tuple(s.field for s in NUMBERS) + FLAGS


def shown(setting: Setting, value: Any) -> Any:
    """A number as plans show it: intervals in words, counts as they are."""
    if value is None or setting.interval is None:
        return value
    return intervals.describe(value, setting.interval)


def wanted(spec: Settings) -> dict[str, Any]:
    """The managed settings in the words plans use (None: not managed)."""
    out: dict[str, Any] = {s.field: shown(s, getattr(spec, s.field)) for s in NUMBERS}
    out.update({flag: getattr(spec, flag) for flag in FLAGS})
    return out


def observed_numbers(entry: Entry, names: Mapping[str, str]) -> dict[str, Any]:
    """The number settings of *entry* in words; an unreadable value is shown raw."""
    out: dict[str, Any] = {}
    for setting in NUMBERS:
        text = entry.text(names[setting.field])
        out[setting.field] = _read_number(setting, text)
    return out


def _read_number(setting: Setting, text: str | None) -> Any:
    if text is None:
        return None
    if setting.interval is None:
        return int(text)
    try:
        return shown(setting, intervals.parse(text, setting.interval))
    except ValueError:
        return f"{text} (not an interval)"


def number_text(spec: Settings, field: str) -> str:
    """The LDAP value of a number setting: ticks for intervals, else the count."""
    setting = next(s for s in NUMBERS if s.field == field)
    value = getattr(spec, field)
    if setting.interval is None:
        return str(value)
    return str(intervals.to_ticks(value, setting.interval))


def _words(value: Interval, field: str) -> str:
    setting = next(s for s in NUMBERS if s.field == field)
    return str(shown(setting, value))


def below_floor(spec: Settings) -> list[str]:
    """The settings of *spec* below the regulation floor (allowed by its override)."""
    return [field for field, _ in _violations({f: getattr(spec, f) for f in FIELDS})]


def with_override(spec: Settings, after: Mapping[str, Any]) -> dict[str, Any]:
    """*after*, plus the override's reason when it writes a setting below the floor."""
    out = dict(after)
    if spec.floor_override is not None and set(below_floor(spec)) & set(after):
        out["floor_override"] = spec.floor_override.reason
    return out


# Rollback: journaled settings back into a playbook's words.

KEPT = "not written by this rollback: compared with the directory or kept as it is"
_BY_FIELD = {s.field: s for s in NUMBERS}


def declared(field: str, shown: Any) -> Any:
    """A setting as plans show it and the journal keeps it (``"42 days"``, ``7``,
    ``true``, ``"never"``) as a playbook declares it (``42``); ValueError if a playbook
    cannot say it (a fraction of a day, an unreadable value, an unset attribute)."""
    setting = _BY_FIELD.get(field)
    if field in FLAGS and isinstance(shown, bool):
        return shown
    if setting is not None and setting.interval is None:
        if isinstance(shown, int) and not isinstance(shown, bool):
            return shown
    elif setting is not None and setting.interval is not None:
        unit = setting.interval.unit
        number, _, words = str(shown).partition(" ")
        if shown == intervals.NEVER or (number.isdigit() and words in (unit, unit[:-1])):
            return shown if shown == intervals.NEVER else int(number)
    raise ValueError(f"{field} was {shown!r}, which a playbook cannot declare")


def restored(
    values: Mapping[str, Any],
    reason: str | None,
    *,
    undo: bool,
    written: Collection[str] | None = None,
) -> dict[str, Any]:
    """*values* (playbook words) as spec arguments that respect the 二.2.c floor.

    Going below the floor needs a written reason. An after-image carries the one its
    run journaled (*reason*); a before-image has none, so undoing a change into
    settings below the floor is refused: a rollback never goes below the floor on its
    own. Settings below the floor that the rollback does not write (*written* names
    the ones it may; None: all) and a redo, which is only compared with the
    directory, get a placeholder reason so that the spec can be built.
    """
    found = _violations(values)
    if not found:
        return dict(values)
    refused = [text for field, text in found if written is None or field in written]
    if reason is None and undo and refused:
        raise ValueError(
            f"cannot roll back: {'; '.join(refused)}. A rollback does not go below the "
            "floor without a written reason: to restore this, apply a playbook that "
            "declares it with floor_override: {reason: ...}, which journals the reason"
        )
    return {**values, "floor_override": {"reason": reason or KEPT}}


def _violations(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    checks: list[tuple[str, Callable[[Any], str | None]]] = [
        ("min_length", regulations.min_length_violation),
        ("max_age", regulations.max_age_violation),
        ("history", regulations.history_violation),
    ]
    found = [(f, check(values[f])) for f, check in checks if values.get(f) is not None]
    return [(f, text) for f, text in found if text is not None]


def validated(spec: type[BaseModel], args: dict[str, Any]) -> dict[str, Any]:
    """*args* if *spec* accepts them, else ValueError in one line (for rollback)."""
    try:
        spec.model_validate(args)
    except ValidationError as error:
        problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in error.errors())
        raise ValueError(f"cannot roll back: {problems}") from None
    return args
