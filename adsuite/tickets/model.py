"""A ticket file: who asked for what, who approved it and when, and its parameters.

    id: IT-2026-0042
    type: new_employee
    requester: hq.hr.head
    approvals:
      - {name: hq.hr, role: hr, time: "2026-11-27T09:30:00+08:00"}
    confirmations: {}          # facts the rules ask for (asset return, identity check…)
    parameters: {company: HQ, name: zhang.wei, display_name: 张伟}

YAML or JSON. JSON is read with :mod:`json` for its values and composed as YAML for
the line of every value, so errors point at ``ticket.json:LINE`` too. Approval times
need a UTC offset: an approval without one cannot be placed in time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from adsuite.errors import InputError
from adsuite.formats.yaml_source import SourceDoc, parse_yaml, validation_error

log = logging.getLogger(__name__)

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _ticket_id(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and not _ID.match(value):
        raise ValueError(
            f"ticket id {value!r} must be 1 to 64 letters, digits and . _ : / # - "
            "(like IT-2026-0042)"
        )
    return value


def _person(value: Any) -> Any:
    if isinstance(value, str) and (not value.strip() or value != value.strip()):
        raise ValueError(f"name {value!r} is empty or has spaces around it")
    if isinstance(value, str) and _CONTROL.search(value):
        raise ValueError(f"name {value!r} has control characters")
    return value


def _text(value: Any) -> Any:
    """Numbers are accepted as text (a form number written without quotes)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _timestamp(value: Any) -> Any:
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"time {value!r} is not a date and time like 2026-11-27T09:30:00+08:00"
            ) from None
    else:
        return value
    if stamp.tzinfo is None or stamp.utcoffset() is None:
        raise ValueError(f"time {value!r} needs a UTC offset, like 2026-11-27T09:30:00+08:00 or …Z")
    return stamp


TicketId = Annotated[str, BeforeValidator(_ticket_id)]
Person = Annotated[str, BeforeValidator(_person), Field(min_length=1, max_length=256)]
Text = Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=1024)]
Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Person
    role: str = Field(min_length=1)
    time: Timestamp

    def record(self) -> dict[str, str]:
        return {"name": self.name, "role": self.role, "time": self.time.isoformat()}


class Ticket(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: TicketId
    type: str = Field(min_length=1)
    requester: Person
    domain: str | None = None
    approvals: list[Approval] = Field(default_factory=list)
    confirmations: dict[str, Text | dict[str, Text]] = Field(default_factory=dict)
    parameters: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class TicketFile:
    """A validated ticket, the document it came from (for file:line errors) and its hash."""

    ticket: Ticket
    doc: SourceDoc
    sha256: str

    @property
    def file(self) -> str:
        return self.doc.file

    def error(self, path: tuple[str | int, ...], message: str) -> InputError:
        return self.doc.error(path, message)

    def record(self) -> dict[str, Any]:
        """The ticket as journaled with its run (tickets carry no secrets)."""
        t = self.ticket
        return {
            "id": t.id,
            "type": t.type,
            "requester": t.requester,
            "file": self.file,
            "sha256": self.sha256,
            "approvals": [a.record() for a in t.approvals],
            "confirmations": dict(t.confirmations),
            "parameters": dict(t.parameters),
        }


def read_ticket(path: Path, shown: str | None = None) -> TicketFile:
    """Read and validate the ticket file at *path* (YAML, or JSON by suffix or content)."""
    shown = shown or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read ticket: {exc.strerror or exc}", file=shown) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError("not UTF-8 text", file=shown, line=line) from None
    as_json = path.suffix.lower() == ".json" or text.lstrip().startswith("{")
    return parse_ticket(text, shown, as_json=as_json, raw=raw)


def parse_ticket(text: str, shown: str, *, as_json: bool, raw: bytes | None = None) -> TicketFile:
    """Validate ticket *text*; *shown* names it in errors (a file, or a webhook's run)."""
    doc = _parse_json(text, shown) if as_json else parse_yaml(text, shown)
    if not isinstance(doc.data, dict):
        raise doc.error((), "a ticket must be a mapping with id, type, requester and parameters")
    try:
        ticket = Ticket.model_validate(doc.data)
    except ValidationError as exc:
        raise validation_error(doc, exc, base=(), what="ticket", model=Ticket) from None
    digest = hashlib.sha256(raw if raw is not None else text.encode("utf-8")).hexdigest()
    log.debug("ticket %s (%s) read from %s", ticket.id, ticket.type, shown)
    return TicketFile(ticket, doc, digest)


def _parse_json(text: str, shown: str) -> SourceDoc:
    """Values from :mod:`json` (exact numbers, surrogate pairs); lines from YAML.

    Every tab in valid JSON is whitespace between tokens (a tab inside a string must
    be escaped), so tabs become spaces for the YAML composer, which refuses them.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", file=shown, line=exc.lineno) from None
    try:
        lines = parse_yaml(text.replace("\t", " "), shown).lines
    except InputError as exc:
        if exc.message.startswith("duplicate key"):
            raise  # json.loads would silently keep the last one
        lines = {(): 1}  # valid JSON that YAML cannot compose: errors point at line 1
    return SourceDoc(shown, data, lines)
