"""The pypsrp client (the default): one runspace pool per host, typed objects both ways.

Each run is ``PowerShell(pool).add_script(TEXT).add_parameters(VALUES)``: the script
text is the fixed template, the values travel as serialized PowerShell objects and are
bound to its ``param()`` block, so nothing a value contains can change the script.
The run is polled until done; past the timeout the pipeline is stopped (Ctrl+C signal)
and :class:`WinRmTimeout` is raised. pypsrp's ``had_errors`` is True only when the
pipeline failed, so non-terminating errors are read from the error stream instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from pypsrp.complex_objects import PSInvocationState
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from adsuite.connectors import kerberos
from adsuite.connectors.winrm.clixml import outgoing, plain, ps_error
from adsuite.connectors.winrm.errors import WinRmScriptFailed, WinRmTimeout
from adsuite.connectors.winrm.failures import translated, with_open_retries
from adsuite.connectors.winrm.model import ScriptResult, WinRmSession, WinRmTarget
from adsuite.templates import powershell_script

log = logging.getLogger(__name__)

MAX_POLL_SECONDS = 20  # one WS-Management Receive waits at most this long on the host


class PsrpSession(WinRmSession):
    """A runspace pool on one host, opened once and reused for every run."""

    def __init__(self, target: WinRmTarget) -> None:
        super().__init__(target)
        self._wsman: WSMan | None = None
        self._pool: RunspacePool | None = None
        with_open_retries(target, self._open)

    def _open(self) -> None:
        with kerberos.environment(self.target.ticket):
            self._open_pool()

    def _open_pool(self) -> None:
        target = self.target
        username, password = target.sign_in()
        self._wsman = WSMan(
            target.hostname,
            port=target.port,
            path=target.path,
            ssl=target.https,
            username=username,
            password=password,
            auth=target.auth,
            # pypsrp types this bool, but passes a CA bundle path on to requests
            cert_validation=str(target.ca_file) if target.ca_file else True,  # type: ignore[arg-type]
            connection_timeout=int(max(1, target.connect_timeout)),
            read_timeout=int(MAX_POLL_SECONDS + 10),
            operation_timeout=MAX_POLL_SECONDS,
            reconnection_retries=0,
        )
        pool = RunspacePool(self._wsman)
        try:
            pool.open()
        except BaseException:
            self._wsman.close()
            raise
        self._pool = pool
        log.info("%s: runspace pool open over %s (%s)", target.name, target.url, target.auth)

    def run(
        self,
        script: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> ScriptResult:
        if self._pool is None:
            raise RuntimeError("session is closed")
        text = powershell_script(script)
        seconds = timeout if timeout is not None else self.target.timeout
        log.info(
            "%s: run %s (parameters: %s)", self.target.name, script, ", ".join(parameters or {})
        )
        with translated(self.target, script, seconds), kerberos.environment(self.target.ticket):
            shell = PowerShell(self._pool)
            shell.add_script(text)
            if parameters:
                shell.add_parameters(outgoing(dict(parameters)))
            shell.begin_invoke()
            try:
                self._wait(shell, script, seconds)
            finally:
                self._release(shell)
            return self._result(shell, script)

    def _release(self, shell: PowerShell) -> None:
        """Tell the host the pipeline is finished with (a terminate signal), best effort."""
        if shell.state == PSInvocationState.RUNNING:
            return
        try:
            shell.close()
        except Exception as error:  # must not hide the outcome being raised or returned
            log.warning("%s: releasing a pipeline failed: %s", self.target.name, error)

    def _wait(self, shell: PowerShell, script: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while shell.state == PSInvocationState.RUNNING:
            remaining = deadline - time.monotonic()
            if remaining < 1:
                shell.stop()
                raise WinRmTimeout(
                    f"{script} on {self.target.name} ran longer than {seconds:g}s and was stopped",
                    host=self.target.name,
                    script=script,
                    seconds=seconds,
                )
            shell.poll_invoke(timeout=int(min(remaining, MAX_POLL_SECONDS)))

    def _result(self, shell: PowerShell, script: str) -> ScriptResult:
        records = list(shell.streams.error)
        if shell.state == PSInvocationState.FAILED:
            failure = ps_error(records[-1]) if records else None
            message = failure.message if failure else "the pipeline failed without an error record"
            raise WinRmScriptFailed(
                f"{script} failed on {self.target.name}: {message}",
                host=self.target.name,
                script=script,
                error_id=failure.error_id if failure else None,
            )
        if shell.state == PSInvocationState.STOPPED:
            raise WinRmScriptFailed(
                f"{script} was stopped on {self.target.name}", host=self.target.name, script=script
            )
        return ScriptResult(
            host=self.target.name,
            script=script,
            output=[plain(item) for item in shell.output],
            errors=[ps_error(record) for record in records],
            warnings=[str(record.message) for record in shell.streams.warning],
        )

    def close(self) -> None:
        pool, wsman = self._pool, self._wsman
        self._pool = self._wsman = None
        try:
            if pool is not None:
                pool.close()
        except Exception as error:  # closing must not hide the run's outcome
            log.warning("%s: closing the runspace pool failed: %s", self.target.name, error)
        finally:
            if wsman is not None:
                wsman.close()
