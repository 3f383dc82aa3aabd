"""A FAKE Windows Security log: the canned twin of get_security_changes.ps1 and
get_share_paths.ps1 for the fake WinRM endpoint.

It does what the scripts' XPath filters say — event ids, TimeCreated between StartTime
and EndTime, EventRecordID after AfterRecordId, EventData ObjectType, oldest first, at
most MaxEvents; then the 4624 logons (TargetLogonId) of the batch's sessions from
LogonLookbackHours before StartTime — over events a test declares. It proves what
adsuite sends and how it reads the answer, not what Windows logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fakes.fake_winrm_canned import CannedScript

NO_SESSION = {"", "-", "0x0", "0x3e7", "0x3e4", "0x3e5"}


def windows_time(moment: datetime) -> str:
    """As the script writes TimeCreated: ISO 8601 in UTC with 7 fraction digits and Z."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}0Z"


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class FakeSecurityLog:
    """Events in record order; ``shares`` answers get_share_paths."""

    computer: str = "DC2.group.example.com"
    entries: list[dict[str, Any]] = field(default_factory=list)
    shares: dict[str, str] = field(default_factory=dict)

    def add(self, event_id: int, at: datetime, **data: str) -> int:
        record = len(self.entries) + 100
        self.entries.append(
            {
                "RecordId": record,
                "EventId": event_id,
                "TimeCreated": windows_time(at),
                "Computer": self.computer,
                "Data": {k: v for k, v in data.items() if k != "AttributeValue"},
            }
        )
        return record

    def logon(self, at: datetime, logon_id: str, address: str, port: str) -> int:
        return self.add(
            4624, at, TargetLogonId=logon_id, IpAddress=address, IpPort=port, LogonType="3"
        )

    def changes(self, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        start, end = _parse(parameters["StartTime"]), _parse(parameters["EndTime"])
        ids = set(parameters["EventIds"])
        types = set(parameters.get("ObjectTypes") or [])
        after = int(parameters.get("AfterRecordId", 0))
        batch = [
            {"Kind": "event", **e}
            for e in self.entries
            if e["EventId"] in ids
            and e["RecordId"] > after
            and start <= _parse(e["TimeCreated"]) <= end
            and (not types or e["Data"].get("ObjectType") in types)
        ][: int(parameters.get("MaxEvents", 1000))]
        sessions = {e["Data"].get("SubjectLogonId", "") for e in batch} - NO_SESSION
        since = start - timedelta(hours=int(parameters.get("LogonLookbackHours", 12)))
        logons = [
            {"Kind": "logon", **e}
            for e in self.entries
            if e["EventId"] == 4624
            and e["Data"].get("TargetLogonId") in sessions
            and since <= _parse(e["TimeCreated"]) <= end
        ]
        return batch + logons

    def share_paths(self, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        wanted = {s.casefold() for s in parameters["Shares"]}
        return [{"Name": n, "Path": p} for n, p in self.shares.items() if n.casefold() in wanted]

    def canned(self) -> dict[str, CannedScript]:
        return {
            "get_security_changes": CannedScript(output=self.changes),
            "get_share_paths": CannedScript(output=self.share_paths),
        }
