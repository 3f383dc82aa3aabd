"""Sessions for a whole run: one per host, opened on first use, hosts run in parallel.

:class:`WinRmSessions` keeps one :class:`WinRmSession` per host for the run and closes
them all at the end. :meth:`WinRmSessions.run_on_hosts` runs one script on many hosts
with at most ``max_workers`` at a time; one host's failure is that host's result, not
the end of the others.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from adsuite.connectors.winrm.errors import WinRmError
from adsuite.connectors.winrm.model import ScriptResult, WinRmSession, WinRmTarget

log = logging.getLogger(__name__)

DEFAULT_MAX_WORKERS = 4
Parameters = Mapping[str, Any] | Callable[[str], Mapping[str, Any]]


def open_session(target: WinRmTarget) -> WinRmSession:
    """Open a session with the client the target names (pypsrp unless it says pywinrm)."""
    if target.auth == "kerberos" and importlib.util.find_spec("gssapi") is None:
        raise WinRmError(
            f"{target.name}: Kerberos needs the Python package gssapi, which is not installed",
            host=target.name,
            hint="pip install 'pypsrp[kerberos]' (it builds against libkrb5-dev), "
            "or set auth: ntlm or credssp for this host",
        )
    if target.ticket is not None and target.auth != "kerberos":
        raise WinRmError(
            f"{target.name}: a Kerberos credential signs in with auth: kerberos only, "
            f"not {target.auth}",
            host=target.name,
            hint="set auth: kerberos for this host, or give it a password credential",
        )
    if target.client == "pywinrm":
        from adsuite.connectors.winrm.winrs import WinrsSession

        return WinrsSession(target)
    from adsuite.connectors.winrm.psrp import PsrpSession

    return PsrpSession(target)


class WinRmSessions:
    """The WinRM sessions of one run. ``target_for(host)`` says how to reach a host."""

    def __init__(
        self,
        target_for: Callable[[str], WinRmTarget],
        *,
        max_workers: int = DEFAULT_MAX_WORKERS,
        opener: Callable[[WinRmTarget], WinRmSession] = open_session,
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self._target_for = target_for
        self._opener = opener
        self._sessions: dict[str, WinRmSession] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def run(
        self,
        host: str,
        script: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> ScriptResult:
        """Run a named script on one host, in that host's session (opened on first use)."""
        with self._lock(host):
            session = self._sessions.get(host)
            if session is None:
                session = self._opener(self._target_for(host))
                self._sessions[host] = session
            return session.run(script, parameters, timeout=timeout)

    def run_on_hosts(
        self,
        hosts: Iterable[str],
        script: str,
        parameters: Parameters | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, ScriptResult | WinRmError]:
        """Run a script on each host, ``max_workers`` at a time; a failure is that host's result.

        ``parameters`` is one mapping for all hosts or a function of the host name.
        """
        names = list(dict.fromkeys(hosts))

        def one(host: str) -> ScriptResult | WinRmError:
            values = parameters(host) if callable(parameters) else parameters
            try:
                return self.run(host, script, values, timeout=timeout)
            except WinRmError as error:
                log.warning("%s", error)
                return error

        with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="winrm") as pool:
            return dict(zip(names, pool.map(one, names), strict=True))

    def close(self) -> None:
        with self._guard:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            session.close()

    def _lock(self, host: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(host, threading.Lock())
