"""The WinRM connector: run a named PowerShell script on Windows hosts, values as parameters.

One interface, two clients: pypsrp (default; a runspace pool, typed objects both ways)
and pywinrm (a WinRS shell; values travel as a CLIXML blob to a fixed runner script).
Scripts are ``templates/powershell/NAME.ps1``; values never enter script text.

    sessions = WinRmSessions(targets.__getitem__, max_workers=4)
    result = sessions.run("dc1", "get_group_members", {"Groups": ["Domain Admins"]})
    result.output, result.errors, result.warnings

Errors: :class:`WinRmUnreachable`, :class:`WinRmAuthFailed`, :class:`WinRmScriptFailed`,
:class:`WinRmTimeout`, all :class:`WinRmError`. No message or log line carries a
parameter value; pypsrp's own DEBUG dumps of messages (which would) are silenced here.
"""

from __future__ import annotations

import logging

from adsuite.connectors.winrm.errors import (
    WinRmAuthFailed,
    WinRmError,
    WinRmScriptFailed,
    WinRmTimeout,
    WinRmUnreachable,
)
from adsuite.connectors.winrm.model import PsError, ScriptResult, WinRmSession, WinRmTarget
from adsuite.connectors.winrm.sessions import WinRmSessions, open_session

log = logging.getLogger(__name__)

# These loggers write whole WS-Management envelopes and PSRP messages, parameter values
# included, at DEBUG. adsuite never logs parameter values, so they stop at INFO.
for _name in ("pypsrp.wsman", "pypsrp.messages", "pypsrp.serializer"):
    logging.getLogger(_name).setLevel(logging.INFO)

__all__ = [
    "PsError",
    "ScriptResult",
    "WinRmAuthFailed",
    "WinRmError",
    "WinRmScriptFailed",
    "WinRmSession",
    "WinRmSessions",
    "WinRmTarget",
    "WinRmTimeout",
    "WinRmUnreachable",
    "open_session",
]
