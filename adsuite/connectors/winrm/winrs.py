"""The pywinrm client, selectable per host: one WinRS shell per host, reused for every run.

pywinrm can only start processes from a command line, so values must never be pasted
into script text. Every run starts the same fixed runner,
``powershell.exe -EncodedCommand <templates/powershell/winrs_runner.ps1>``, and sends it
on standard input one line: base64 of a CLIXML hashtable holding the named script's
text and its parameters. The runner deserializes it, binds the parameters to the
script's ``param()`` block with splatting and answers with one line
``ADSUITE-RESULT:<base64 CLIXML>`` (output, errors, warnings, failure), read here with
pypsrp's deserializer, so output has the same shape as with the pypsrp client.
"""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Mapping
from typing import Any

from winrm.exceptions import WinRMOperationTimeoutError
from winrm.protocol import Protocol

from adsuite.connectors import kerberos
from adsuite.connectors.winrm.clixml import (
    from_base64_document,
    outgoing,
    plain,
    to_base64_document,
)
from adsuite.connectors.winrm.errors import WinRmError, WinRmScriptFailed, WinRmTimeout
from adsuite.connectors.winrm.failures import translated, with_open_retries
from adsuite.connectors.winrm.model import PsError, ScriptResult, WinRmSession, WinRmTarget
from adsuite.templates import powershell_script

log = logging.getLogger(__name__)

RUNNER = "winrs_runner"
RESULT_MARK = b"ADSUITE-RESULT:"
MAX_POLL_SECONDS = 20
SEND_CHUNK = 65536  # bytes of standard input per WS-Management Send, well under MaxEnvelopeSize
POWERSHELL = "powershell.exe"
POWERSHELL_OPTIONS = ("-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass")


def runner_command_line() -> list[str]:
    """The arguments of every run: fixed options and the runner, UTF-16LE base64 encoded."""
    encoded = base64.b64encode(powershell_script(RUNNER).encode("utf-16-le")).decode("ascii")
    return [*POWERSHELL_OPTIONS, "-EncodedCommand", encoded]


class WinrsSession(WinRmSession):
    """A WinRS shell on one host, opened once; each run is one powershell.exe process."""

    def __init__(self, target: WinRmTarget) -> None:
        super().__init__(target)
        self._protocol: Protocol | None = None
        self._shell_id: str | None = None
        with_open_retries(target, self._open)

    def _open(self) -> None:
        with kerberos.environment(self.target.ticket):
            self._open_shell()

    def _open_shell(self) -> None:
        target = self.target
        username, password = target.sign_in()
        protocol = Protocol(
            target.url,
            transport=target.auth,
            username=username,
            password=password,
            server_cert_validation="validate",
            ca_trust_path=str(target.ca_file) if target.ca_file else None,  # type: ignore[arg-type]
            read_timeout_sec=MAX_POLL_SECONDS + 10,
            operation_timeout_sec=MAX_POLL_SECONDS,
        )
        self._shell_id = protocol.open_shell(noprofile=True, codepage=65001)
        self._protocol = protocol
        log.info("%s: WinRS shell open over %s (%s)", target.name, target.url, target.auth)

    def run(
        self,
        script: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> ScriptResult:
        if self._protocol is None or self._shell_id is None:
            raise RuntimeError("session is closed")
        request = {
            "Script": powershell_script(script),
            "Parameters": outgoing(dict(parameters or {})),
        }
        payload = to_base64_document(request).encode("ascii") + b"\r\n"
        seconds = timeout if timeout is not None else self.target.timeout
        log.info(
            "%s: run %s (parameters: %s)", self.target.name, script, ", ".join(parameters or {})
        )
        with translated(self.target, script, seconds), kerberos.environment(self.target.ticket):
            command_id = self._protocol.run_command(
                self._shell_id,
                POWERSHELL,
                runner_command_line(),
                console_mode_stdin=False,
                skip_cmd_shell=True,
            )
            for start in range(0, len(payload), SEND_CHUNK):
                end = start + SEND_CHUNK >= len(payload)
                chunk = payload[start : start + SEND_CHUNK]
                self._protocol.send_command_input(self._shell_id, command_id, chunk, end=end)
            stdout, stderr, exit_code = self._wait(command_id, script, seconds)
            self._protocol.cleanup_command(self._shell_id, command_id)
        return self._result(script, stdout, stderr, exit_code)

    def _wait(self, command_id: str, script: str, seconds: float) -> tuple[bytes, bytes, int]:
        assert self._protocol is not None and self._shell_id is not None
        stdout, stderr = bytearray(), bytearray()
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining < 1:
                self._protocol.cleanup_command(self._shell_id, command_id)
                raise WinRmTimeout(
                    f"{script} on {self.target.name} ran longer than {seconds:g}s and was stopped",
                    host=self.target.name,
                    script=script,
                    seconds=seconds,
                )
            self._protocol.operation_timeout_sec = int(min(remaining, MAX_POLL_SECONDS))
            try:
                out, err, exit_code, done = self._protocol.get_command_output_raw(
                    self._shell_id, command_id
                )
            except WinRMOperationTimeoutError:
                continue
            stdout += out
            stderr += err
            if done:
                return bytes(stdout), bytes(stderr), exit_code

    def _result(self, script: str, stdout: bytes, stderr: bytes, exit_code: int) -> ScriptResult:
        host = self.target.name
        lines = [line.strip() for line in stdout.splitlines()]
        marked = [line[len(RESULT_MARK) :] for line in lines if line.startswith(RESULT_MARK)]
        if not marked:
            raise WinRmError(
                f"{script} on {host}: powershell.exe exited {exit_code} without a result"
                f"{': ' + _first_error(stderr) if stderr else ''}",
                host=host,
            )
        envelope = plain(from_base64_document(marked[-1].decode("ascii")))
        failure = envelope.get("Failure")
        if failure:
            raise WinRmScriptFailed(
                f"{script} failed on {host}: {failure.get('Message')}",
                host=host,
                script=script,
                error_id=failure.get("ErrorId"),
            )
        return ScriptResult(
            host=host,
            script=script,
            output=list(envelope.get("Output") or []),
            errors=[_ps_error(item) for item in envelope.get("Errors") or []],
            warnings=[str(item) for item in envelope.get("Warnings") or []],
        )

    def close(self) -> None:
        protocol, shell_id = self._protocol, self._shell_id
        self._protocol = self._shell_id = None
        if protocol is None or shell_id is None:
            return
        try:
            protocol.close_shell(shell_id)
        except Exception as error:  # closing must not hide the run's outcome
            log.warning("%s: closing the WinRS shell failed: %s", self.target.name, error)


def _ps_error(item: Mapping[str, Any]) -> PsError:
    return PsError(
        message=str(item.get("Message") or ""),
        error_id=item.get("ErrorId"),
        category=item.get("Category"),
    )


def _first_error(stderr: bytes) -> str:
    """The first line PowerShell wrote to standard error (its CLIXML form unwrapped)."""
    text = stderr.decode("utf-8", errors="replace")
    if text.startswith("#< CLIXML"):
        found = re.findall(r'<S S="Error">(.*?)</S>', text, flags=re.DOTALL)
        text = "".join(found).replace("_x000D__x000A_", "\n")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first[:300]
