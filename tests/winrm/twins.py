"""Canned twins of the test scripts in ``tests/winrm/powershell``: what each script does
on Windows, declared for the fake endpoint. In live mode the real script runs instead,
and the same assertions check that the twin told the truth."""

from __future__ import annotations

from typing import Any

from fakes.fake_winrm_canned import CannedError, CannedScript


def _echo(parameters: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "Text": parameters.get("Text", ""),
            "Items": list(parameters.get("Items", [])),
            "Number": parameters.get("Number", 0),
        }
    ]


ECHO_PARAMETERS = CannedScript(output=_echo)

STREAMS_LABEL = "group HQ-Admins"
WRITE_STREAMS = CannedScript(
    output=[{"Label": STREAMS_LABEL, "Done": True}],
    warnings=[f"warning about {STREAMS_LABEL}"],
    errors=[
        CannedError(
            f"non-terminating error about {STREAMS_LABEL}",
            error_id="AdsuiteTestError",
            category="ObjectNotFound",
        )
    ],
)

THROW_REASON = "disk full"
THROW_ERROR = CannedScript(
    fails_with=CannedError(f"terminating failure: {THROW_REASON}", error_id="RuntimeException")
)

SLEEP_SECONDS = CannedScript(
    output=["woke"], sleeps=lambda parameters: float(parameters["Seconds"])
)

TWINS = {
    "echo_parameters": ECHO_PARAMETERS,
    "write_streams": WRITE_STREAMS,
    "throw_error": THROW_ERROR,
    "sleep_seconds": SLEEP_SECONDS,
}
