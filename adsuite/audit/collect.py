"""Reading change events from Windows DCs and file servers over WinRM, for `audit changes`.

``get_security_changes.ps1`` reads the Security log with one XPath filter (event ids,
the time window, the record id after the last batch), oldest first, :data:`BATCH` at
a time, and adds the 4624 logons of the sessions in each batch. Every host is asked
at once (bounded by the run's WinRM sessions), batch after batch, until each has no
more or :data:`MAX_ROUNDS` batches were read (then the host is reported as cut
short). ``get_share_paths.ps1`` gives the local folder behind each share of a file
server. A host that cannot be read is that host's error; the others are still read.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adsuite.audit.windows import Logon, SecurityEvent, split_items
from adsuite.connectors.winrm import ScriptResult, WinRmError, WinRmSessions

log = logging.getLogger(__name__)

SCRIPT = "get_security_changes"
SHARES_SCRIPT = "get_share_paths"
BATCH = 1000
MAX_ROUNDS = 50  # at most BATCH * MAX_ROUNDS events per host per audit
LOGON_LOOKBACK_HOURS = 12  # how long before the window a session's logon is looked for


@dataclass
class HostEvents:
    """What one host's Security log gave: change events, their sessions' logons."""

    name: str  # the DC or file server, as the inventory names it
    events: list[SecurityEvent] = field(default_factory=list)
    logons: list[Logon] = field(default_factory=list)
    error: str | None = None
    cut_short: bool = False
    position: int = 0  # the highest record id read


def utc_text(moment: datetime) -> str:
    """The form the script parses: ``2026-11-27T12:00:00.000Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def collect(
    sessions: WinRmSessions,
    hosts: Mapping[str, str],
    event_ids: Sequence[int],
    start: datetime,
    end: datetime,
    object_types: Sequence[str] = (),
) -> dict[str, HostEvents]:
    """Every host at once, batch after batch. ``hosts``: name → inventory WinRM host."""
    found = {name: HostEvents(name) for name in hosts}
    pending = list(hosts)
    fixed = {
        "EventIds": list(event_ids),
        "StartTime": utc_text(start),
        "EndTime": utc_text(end),
        "MaxEvents": BATCH,
        "ObjectTypes": list(object_types),
        "LogonLookbackHours": LOGON_LOOKBACK_HOURS,
    }
    names_of = {hosts[name]: name for name in hosts}
    for _ in range(MAX_ROUNDS):
        if not pending:
            break
        answers = sessions.run_on_hosts(
            [hosts[name] for name in pending],
            SCRIPT,
            lambda host: {**fixed, "AfterRecordId": found[names_of[host]].position},
        )
        pending = [name for name in pending if _take(found[name], answers[hosts[name]])]
    for name in pending:
        found[name].cut_short = True
    return found


def _take(host: HostEvents, answer: ScriptResult | WinRmError) -> bool:
    """Keep one batch; True when the host may have more."""
    if isinstance(answer, WinRmError):
        host.error = str(answer)
        return False
    if answer.errors:
        host.error = f"{host.name}: {answer.errors[0].message}"
        return False
    events, logons = split_items(answer.output)
    host.events += events
    host.logons += logons
    host.position = max([host.position, *(e.record for e in events)])
    return len(events) >= BATCH


def share_roots(
    sessions: WinRmSessions, shares: Mapping[str, Collection[str]]
) -> dict[str, dict[str, str] | str]:
    """Host → {share: local folder}, or the host's error in words."""
    answers = sessions.run_on_hosts(
        list(shares), SHARES_SCRIPT, lambda host: {"Shares": sorted(shares[host])}
    )
    out: dict[str, dict[str, str] | str] = {}
    for host, answer in answers.items():
        if isinstance(answer, WinRmError):
            out[host] = str(answer)
        elif answer.errors:
            out[host] = f"{host}: {answer.errors[0].message}"
        else:
            out[host] = _roots(answer.output)
    return out


def _roots(output: Sequence[Any]) -> dict[str, str]:
    return {
        str(item["Name"]).casefold(): str(item["Path"])
        for item in output
        if isinstance(item, Mapping) and item.get("Name") and item.get("Path")
    }
