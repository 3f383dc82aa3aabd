"""Journal entries as the lines a SIEM ingests: one JSON object, or one RFC 5424 message.

Each line stands alone: it carries the run, who ran it (OS user and directory account),
the ticket and the run's mode, beside what the entry says. A change gives the object
(kind, target, action) and the sha256 digests of its before and after images, never
the values; a run start gives one more line per finding its run carried (drift and
health checks), with the finding's clause. Attributes that hold passwords are withheld
from the digests too (a digest of a short password can be guessed) and named instead.

RFC 5424: facility 13 (log audit), ``APP-NAME`` adsuite, ``MSGID`` the line's type,
structured data ``[adsuite@32473 …]`` with every plain field (32473 is the enterprise
number RFC 5612 reserves for documentation: a site with its own number sets its own).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adsuite.journal.follow import Entry

log = logging.getLogger(__name__)

SD_ID = "adsuite@32473"
FACILITY_AUDIT = 13
SEVERITY = {"err": 3, "warning": 4, "notice": 5, "info": 6}
_SECRET_NAMES = frozenset(
    {
        "unicodepwd",
        "userpassword",
        "unixuserpassword",
        "dbcspwd",
        "ntpwdhistory",
        "lmpwdhistory",
        "supplementalcredentials",
        "ms-mcs-admpwd",
        "secret",
        "password",
    }
)
_SECRET_SUFFIX = re.compile(r"(?i)(password|passwd|secret)\Z")
_SD_NAME = re.compile(r"[^\x21-\x7e]|[=\]\" ]")
Clauses = Callable[[str, str | None], list[str]]  # (run mode, playbook) -> clause ids


@dataclass(frozen=True)
class Line:
    """One line of the stream: entry ``seq``'s line number ``part``."""

    seq: int
    part: int
    type: str
    severity: str
    text: str
    fields: dict[str, Any]
    host: str


def digest(value: Any) -> str | None:
    """sha256 of the value's canonical JSON; None when there is no image (create, delete)."""
    if value is None:
        return None
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def withhold(value: Any, found: set[str]) -> Any:
    """*value* without keys that name a password or secret (their names go in *found*)."""
    if isinstance(value, Mapping):
        kept = {}
        for key, item in value.items():
            name = str(key)
            if name.lower() in _SECRET_NAMES or _SECRET_SUFFIX.search(name):
                found.add(name)
            else:
                kept[name] = withhold(item, found)
        return kept
    if isinstance(value, list):
        return [withhold(item, found) for item in value]
    return value


@dataclass
class Stream:
    """Turns verified entries into lines, remembering each open run's who and ticket."""

    clauses: Clauses = field(default=lambda mode, playbook: [])
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    local_host: str = field(default_factory=socket.gethostname)

    def lines(self, entry: Entry) -> list[Line]:
        body = entry.body
        build = {
            "run_start": self._run_start,
            "change_intent": self._change,
            "change_outcome": self._outcome,
            "run_end": self._run_end,
        }.get(entry.kind)
        if build is not None:
            return build(entry, body)
        plain = {k: v for k, v in body.items() if isinstance(v, str | int | None)}
        text = f"{entry.kind} {' '.join(f'{k}={v}' for k, v in plain.items())}"
        return [self._line(entry, 0, entry.kind, "notice", text, plain)]

    def _line(
        self, entry: Entry, part: int, kind: str, severity: str, text: str, fields: dict[str, Any]
    ) -> Line:
        context = self.runs.get(entry.run_id, {})
        doc = {"seq": entry.seq, "part": part, "at": entry.at, "type": kind}
        if entry.run_id:
            doc["run"] = entry.run_id
        doc.update({k: v for k, v in context.items() if k != "host"})
        doc.update(fields)
        host = str(context.get("host") or self.local_host)
        return Line(entry.seq, part, kind, severity, text, doc, host)

    def _run_start(self, entry: Entry, body: dict[str, Any]) -> list[Line]:
        operator = body.get("operator") or {}
        mode, playbook = str(body.get("mode")), body.get("playbook")
        context = {
            "mode": mode,
            "who": operator.get("os_user"),
            "as": operator.get("bind_identity"),
            "ticket": body.get("ticket"),
            "host": body.get("host"),
        }
        self.runs[entry.run_id] = context
        clauses = self.clauses(mode, playbook)
        fields = {"playbook": playbook, "playbook_sha256": body.get("playbook_sha256")}
        fields |= {"client": operator.get("client"), "clauses": clauses}
        text = f"run {entry.run_id} {mode} started by {context['who']}"
        lines = [self._line(entry, 0, "run_start", "info", text, fields)]
        findings = (body.get("extra") or {}).get("findings") or []
        for part, found in enumerate(findings, start=1):
            lines.append(self._finding(entry, part, found, clauses))
        return lines

    def _finding(self, entry: Entry, part: int, found: Any, clauses: list[str]) -> Line:
        found = found if isinstance(found, Mapping) else {"text": str(found)}
        own = found.get("clause")
        source = str(found.get("source") or "").rsplit(":", 1)[0]  # "file.yml:12"
        narrower = self.clauses("", source) if source else []
        fields = {
            "finding": found.get("id"),
            "kind": found.get("kind") or found.get("check"),
            "target": found.get("target") or found.get("dc"),
            "severity": found.get("severity"),
            "clauses": [own] if own else narrower or clauses,
            "text": found.get("text"),
        }
        severity = "notice" if found.get("severity") == "warning" else "warning"
        return self._line(entry, part, "finding", severity, f"finding {fields['finding']}: "
                          f"{fields['text']}", fields)  # fmt: skip

    def _change(self, entry: Entry, body: dict[str, Any]) -> list[Line]:
        withheld: set[str] = set()
        before = withhold(body.get("before"), withheld)
        after = withhold(body.get("after"), withheld)
        fields: dict[str, Any] = {
            "change": body.get("change_no"),
            "kind": body.get("resource"),
            "target": body.get("target"),
            "action": body.get("action"),
            "before_sha256": digest(before),
            "after_sha256": digest(after),
            "via": body.get("via"),
        }
        if withheld:
            fields["withheld"] = sorted(withheld)
        text = f"change {fields['change']}: {fields['action']} {fields['kind']} {fields['target']}"
        return [self._line(entry, 0, "change", "notice", text, fields)]

    def _outcome(self, entry: Entry, body: dict[str, Any]) -> list[Line]:
        outcome = body.get("outcome")
        fields = {"change": body.get("change_no"), "outcome": outcome, "error": body.get("error")}
        severity = "info" if outcome in ("applied", "skipped") else "err"
        text = f"change {fields['change']}: {outcome}"
        return [self._line(entry, 0, "outcome", severity, text, fields)]

    def _run_end(self, entry: Entry, body: dict[str, Any]) -> list[Line]:
        status = str(body.get("status"))
        fields = {"status": status, "counts": body.get("counts") or {}}
        severity = "info" if status in ("ok", "healthy") else "warning"
        line = self._line(entry, 0, "run_end", severity, f"run {entry.run_id} {status}", fields)
        self.runs.pop(entry.run_id, None)
        return [line]


def as_json(line: Line) -> str:
    return json.dumps(line.fields, ensure_ascii=False, separators=(",", ":")) + "\n"


def as_rfc5424(line: Line) -> str:
    """``<PRI>1 TIMESTAMP HOST adsuite - MSGID [SD] MSG``, one line."""
    pri = FACILITY_AUDIT * 8 + SEVERITY[line.severity]
    params = " ".join(
        f'{name}="{_sd_value(value)}"'
        for name, value in line.fields.items()
        if value is not None and not _SD_NAME.search(name)
    )
    host = re.sub(r"[^\x21-\x7e]", "-", line.host)[:255] or "-"
    text = line.text.replace("\n", " ")
    return f"<{pri}>1 {line.fields['at']} {host} adsuite - {line.type} [{SD_ID} {params}] {text}\n"


def _sd_value(value: Any) -> str:
    if isinstance(value, list):
        text = ",".join(str(v) for v in value)
    elif isinstance(value, dict):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    else:
        text = str(value)
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")
    return text.replace("\n", " ")


FORMATS: dict[str, Callable[[Line], str]] = {"json": as_json, "rfc5424": as_rfc5424}
