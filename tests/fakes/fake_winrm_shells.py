"""The two kinds of shell the fake WinRM endpoint hosts, each driven by canned answers.

* :class:`FakePsrpShell` — a PowerShell runspace pool (what pypsrp opens). PSRP
  fragments go to psrpcore's real server-side ``ServerRunspacePool``/``ServerPipeline``;
  a pipeline's script text picks the canned answer and its parameters are recorded
  exactly as psrpcore deserialized them.
* :class:`FakeWinrsShell` — a cmd shell (what pywinrm opens). The command line must be
  adsuite's fixed runner (``powershell.exe ... -EncodedCommand <winrs_runner.ps1>``); the
  CLIXML request on standard input is decoded with psrpcore and answered with the
  runner's result line, as the real runner would print it.
"""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psrpcore
import psrpcore.types as ps
from psrpcore.types import PSInvocationState

from adsuite.connectors.winrm.winrs import POWERSHELL, RUNNER, runner_command_line
from adsuite.templates import powershell_script
from fakes.fake_winrm_canned import (
    NO_CANNED_ANSWER,
    CannedError,
    CannedOutcome,
    CannedScript,
    ConcurrencyMeter,
    FakeCall,
    from_powershell,
    play,
    to_powershell,
)

Lookup = Callable[[str], tuple[str, CannedScript | None]]
Record = Callable[[FakeCall], None]


@dataclass
class FakeCommand:
    """One running command (a pipeline or a process) and what it has to send back."""

    command_id: str
    stop: threading.Event = field(default_factory=threading.Event)
    done: bool = False
    exit_code: int = 0
    stdout: bytearray = field(default_factory=bytearray)
    stdin: bytearray = field(default_factory=bytearray)


class FakeShell:
    """State shared by both shell kinds: a lock, a condition for Receive, the commands."""

    def __init__(self, shell_id: str, lookup: Lookup, record: Record, meter: ConcurrencyMeter):
        self.shell_id = shell_id
        self.lock = threading.Condition()
        self.commands: dict[str, FakeCommand] = {}
        self._lookup = lookup
        self._record = record
        self._meter = meter

    def receive(
        self, command_id: str | None, wait: float
    ) -> tuple[bytes, FakeCommand | None] | None:
        """Pending output of the command (or of the shell itself); None after ``wait`` idle."""
        with self.lock:
            if not self.lock.wait_for(lambda: self._ready(command_id), timeout=wait):
                return None
            return self._take(command_id)

    def signal(self, command_id: str, code: str) -> None:
        with self.lock:
            command = self.commands.get(command_id.upper())
            if command is None:
                return
            command.stop.set()
            if code.endswith("terminate"):
                self.commands.pop(command_id.upper(), None)
            else:
                self._stopped(command)
            self.lock.notify_all()

    def _perform(
        self, command: FakeCommand, client: str, text: str, parameters: dict[str, Any]
    ) -> CannedOutcome:
        name, canned = self._lookup(text)
        self._record(FakeCall(client, name, parameters))
        if canned is None:
            return CannedOutcome(failure=NO_CANNED_ANSWER)
        with self._meter:
            return play(canned, parameters, command.stop)

    def _ready(self, command_id: str | None) -> bool:
        raise NotImplementedError

    def _take(self, command_id: str | None) -> tuple[bytes, FakeCommand | None]:
        raise NotImplementedError

    def _stopped(self, command: FakeCommand) -> None:
        pass


class FakePsrpShell(FakeShell):
    """A runspace pool: psrpcore's server side does the protocol, canned answers the rest."""

    def __init__(
        self,
        shell_id: str,
        creation: bytes,
        lookup: Lookup,
        record: Record,
        meter: ConcurrencyMeter,
    ):
        super().__init__(shell_id, lookup, record, meter)
        self.pool = psrpcore.ServerRunspacePool()
        self.pipelines: dict[str, psrpcore.ServerPipeline] = {}
        self.outbox: dict[str | None, bytearray] = {}
        self._feed(creation, None)

    def command(self, command_id: str, first_fragment: bytes) -> None:
        with self.lock:
            pipeline = psrpcore.ServerPipeline(self.pool, uuid.UUID(command_id))
            self.pipelines[command_id.upper()] = pipeline
            self.commands[command_id.upper()] = FakeCommand(command_id.upper())
            self._feed(first_fragment, pipeline.pipeline_id)

    def send(self, command_id: str | None, data: bytes) -> None:
        with self.lock:
            pipeline_id = uuid.UUID(command_id) if command_id else None
            self._feed(data, pipeline_id)

    def _feed(self, data: bytes, pipeline_id: uuid.UUID | None) -> None:
        self.pool.receive_data(psrpcore.PSRPPayload(data, psrpcore.StreamType.default, pipeline_id))
        while (event := self.pool.next_event()) is not None:
            if isinstance(event, psrpcore.CreatePipelineEvent):
                self._start(str(event.pipeline_id).upper())
        self._flush()

    def _start(self, command_id: str) -> None:
        pipeline = self.pipelines[command_id]
        pipeline.start()
        command_meta = pipeline.metadata.commands[0]  # type: ignore[union-attr]
        parameters = {str(name): from_powershell(value) for name, value in command_meta.parameters}
        command = self.commands[command_id]
        worker = threading.Thread(
            target=self._work,
            args=(command, pipeline, command_meta.command_text, parameters),
            daemon=True,
        )
        worker.start()

    def _work(
        self,
        command: FakeCommand,
        pipeline: psrpcore.ServerPipeline,
        text: str,
        parameters: dict[str, Any],
    ) -> None:
        outcome = self._perform(command, "pypsrp", text, parameters)
        with self.lock:
            if outcome.stopped or pipeline.state != PSInvocationState.Running:
                return
            for warning in outcome.warnings:
                pipeline.write_warning(warning)
            for error in outcome.errors:
                pipeline.write_error(
                    ps.NETException(Message=error.message),
                    category_info=ps.ErrorCategoryInfo(Category=ps.ErrorCategory[error.category]),
                    fully_qualified_error_id=error.error_id,
                )
            for item in outcome.output:
                pipeline.write_output(to_powershell(item))
            if outcome.failure is not None:
                pipeline._change_state(
                    PSInvocationState.Failed, error=_error_record(outcome.failure)
                )
            else:
                pipeline.complete()
            command.done = True
            self._flush()
            self.lock.notify_all()

    def _stopped(self, command: FakeCommand) -> None:
        pipeline = self.pipelines.get(command.command_id)
        if pipeline is not None and pipeline.state == PSInvocationState.Running:
            pipeline.stop()
            command.done = True
            self._flush()

    def _flush(self) -> None:
        while (payload := self.pool.data_to_send()) is not None:
            target = str(payload.pipeline_id).upper() if payload.pipeline_id else None
            self.outbox.setdefault(target, bytearray()).extend(payload.data)

    def _ready(self, command_id: str | None) -> bool:
        key = command_id.upper() if command_id else None
        return bool(self.outbox.get(key))

    def _take(self, command_id: str | None) -> tuple[bytes, FakeCommand | None]:
        key = command_id.upper() if command_id else None
        data = bytes(self.outbox.pop(key, b""))
        command = self.commands.get(key) if key else None
        return data, command


def _error_record(error: CannedError) -> ps.ErrorRecord:
    return ps.ErrorRecord(
        Exception=ps.NETException(Message=error.message),
        CategoryInfo=ps.ErrorCategoryInfo(Category=ps.ErrorCategory[error.category]),
        FullyQualifiedErrorId=error.error_id,
    )


class FakeWinrsShell(FakeShell):
    """A cmd shell that runs only adsuite's fixed runner, answering from canned scripts."""

    def command(self, command_id: str, executable: str, arguments: str) -> None:
        with self.lock:
            command = FakeCommand(command_id.upper())
            self.commands[command.command_id] = command
            if executable != POWERSHELL or arguments.split() != runner_command_line():
                command.stdout += b"fake: not adsuite's runner command line\r\n"
                command.exit_code, command.done = 1, True

    def send(self, command_id: str, data: bytes, end: bool) -> None:
        with self.lock:
            command = self.commands[command_id.upper()]
            command.stdin += data
            if end:
                threading.Thread(target=self._work, args=(command,), daemon=True).start()

    def _work(self, command: FakeCommand) -> None:
        encoded = bytes(command.stdin).strip()
        request = ps.deserialize_clixml(
            base64.b64decode(encoded).decode("utf-8"), psrpcore.PSRemotingCrypto()
        )[0]
        parameters = from_powershell(request["Parameters"]) or {}
        outcome = self._perform(command, "pywinrm", str(request["Script"]), parameters)
        with self.lock:
            if outcome.stopped:
                return
            command.stdout += b"ADSUITE-RESULT:" + _runner_result(outcome) + b"\r\n"
            command.done = True
            self.lock.notify_all()

    def _ready(self, command_id: str | None) -> bool:
        command = self.commands.get((command_id or "").upper())
        return command is None or command.done

    def _take(self, command_id: str | None) -> tuple[bytes, FakeCommand | None]:
        command = self.commands.get((command_id or "").upper())
        if command is None:
            return b"", None
        data = bytes(command.stdout)
        command.stdout.clear()
        return data, command


def _runner_result(outcome: CannedOutcome) -> bytes:
    def record(error: CannedError) -> dict[str, str]:
        return {"Message": error.message, "ErrorId": error.error_id, "Category": error.category}

    result = {
        "Output": [to_powershell(item) for item in outcome.output],
        "Errors": [record(error) for error in outcome.errors],
        "Warnings": list(outcome.warnings),
        "Failure": record(outcome.failure) if outcome.failure else None,
    }
    clixml = ps.serialize_clixml(result, psrpcore.PSRemotingCrypto())
    return base64.b64encode(clixml.encode("utf-8"))


def script_names(names: list[str]) -> dict[str, str]:
    """Script text → name, for the scripts a test gave canned answers (and the runner)."""
    table = {powershell_script(name): name for name in names}
    table.setdefault(powershell_script(RUNNER), RUNNER)
    return table
