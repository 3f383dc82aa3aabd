"""A FAKE WinRM endpoint on 127.0.0.1: real HTTP(S), real WS-Management, canned scripts.

A small stdlib HTTP server speaks the WS-Management shell operations (Create, Command,
Send, Receive, Signal, Delete) that pypsrp and pywinrm use, over HTTPS with NTLM
authentication (pyspnego's server side; the TLS channel binding is checked). PSRP
runspace pools are served by psrpcore's server objects (see ``fake_winrm_shells``);
scripts are answered from canned answers the test declares (``fake_winrm_canned``).

What this proves: the clients' protocol, authentication, parameter passing, output and
error parsing, timeouts and session handling, over real sockets. What it does not
prove: what PowerShell or Windows would do — no script runs here.
"""

from __future__ import annotations

import base64
import collections
import os
import socket
import ssl
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Generator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import spnego
from spnego.channel_bindings import GssChannelBindings

from fakes.fake_tls import FakeTls
from fakes.fake_winrm_canned import CannedScript, ConcurrencyMeter, FakeCall
from fakes.fake_winrm_shells import FakePsrpShell, FakeShell, FakeWinrsShell, script_names
from fakes.fake_wsman import (
    INVALID_SELECTORS,
    NS,
    PSRP_RESOURCE,
    SHELL,
    TIMED_OUT,
    WsmanFault,
    WsmanHeader,
    fault_envelope,
    reply_body,
    reply_envelope,
)


@dataclass
class FakeWinRmEndpoint:
    """One fake host. Tests declare ``canned[script] = CannedScript(...)`` and read ``calls``."""

    users: dict[str, str]
    tls: FakeTls
    meter: ConcurrencyMeter = field(default_factory=ConcurrencyMeter)
    canned: dict[str, CannedScript] = field(default_factory=dict)
    calls: list[FakeCall] = field(default_factory=list)
    requests: collections.Counter[str] = field(default_factory=collections.Counter)
    connections: int = 0
    drop_connections: int = 0
    shells: dict[str, FakeShell] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}/wsman"

    @property
    def ca_file(self) -> Path:
        return self.tls.ca_file

    def answer(self, script: str, canned: CannedScript) -> None:
        self.canned[script] = canned

    def calls_of(self, script: str) -> list[FakeCall]:
        return [call for call in self.calls if call.script == script]

    def start(self) -> FakeWinRmEndpoint:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.tls.cert_file, self.tls.key_file)
        server.socket = context.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
        server.endpoint = self  # type: ignore[attr-defined]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True, name="fake-winrm").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- dispatch -------------------------------------------------------------------

    def lookup(self, text: str) -> tuple[str, CannedScript | None]:
        name = script_names(list(self.canned)).get(text, "(unknown script)")
        return name, self.canned.get(name)

    def handle(self, body: bytes) -> tuple[int, bytes]:
        request = ET.fromstring(body)
        header = WsmanHeader(request)
        action = header.action.rsplit("/", 1)[-1]
        self.requests[action] += 1
        handler = getattr(self, f"_on_{action.lower()}", None)
        if handler is None:
            return 500, fault_envelope(
                header, "w:ActionNotSupported", 2150858754, f"fake: no {action}"
            )
        payload = request.find("s:Body", NS)
        result = handler(header, payload if payload is not None else ET.Element("x"))
        if isinstance(result, tuple):
            return result
        return 200, reply_envelope(header, result)

    def _shell(self, header: WsmanHeader) -> FakeShell:
        shell = self.shells.get(header.shell_id or "")
        if shell is None:
            raise WsmanFault(INVALID_SELECTORS, "w:InvalidSelectors", "fake: no such shell")
        return shell

    def _on_create(self, header: WsmanHeader, body: ET.Element) -> ET.Element:
        shell_xml = body.find("rsp:Shell", NS)
        assert shell_xml is not None
        shell_id = (shell_xml.get("ShellId") or str(uuid.uuid4())).upper()
        if header.resource_uri.startswith(PSRP_RESOURCE):
            creation = base64.b64decode(shell_xml.findtext("pwsh:creationXml", "", NS))
            self.requests["create:psrp"] += 1
            shell: FakeShell = FakePsrpShell(
                shell_id, creation, self.lookup, self.calls.append, self.meter
            )
        else:
            self.requests["create:winrs"] += 1
            shell = FakeWinrsShell(shell_id, self.lookup, self.calls.append, self.meter)
        self.shells[shell_id] = shell
        created = ET.Element(f"{{{NS['x']}}}ResourceCreated")
        ET.SubElement(created, f"{{{NS['a']}}}Address").text = self.url
        reference = ET.SubElement(created, f"{{{NS['a']}}}ReferenceParameters")
        ET.SubElement(reference, f"{{{NS['w']}}}ResourceURI").text = header.resource_uri
        selectors = ET.SubElement(reference, f"{{{NS['w']}}}SelectorSet")
        ET.SubElement(selectors, f"{{{NS['w']}}}Selector", Name="ShellId").text = shell_id
        shell_out = ET.Element(f"{{{SHELL}}}Shell")
        ET.SubElement(shell_out, f"{{{SHELL}}}ShellId").text = shell_id
        ET.SubElement(shell_out, f"{{{SHELL}}}ResourceUri").text = header.resource_uri
        return reply_body(created, shell_out)

    def _on_delete(self, header: WsmanHeader, body: ET.Element) -> ET.Element:
        self.shells.pop(header.shell_id or "", None)
        return reply_body()

    def _on_command(self, header: WsmanHeader, body: ET.Element) -> ET.Element:
        shell = self._shell(header)
        line = body.find("rsp:CommandLine", NS)
        assert line is not None
        command_id = (line.get("CommandId") or str(uuid.uuid4())).upper()
        arguments = line.findtext("rsp:Arguments", "", NS)
        if isinstance(shell, FakePsrpShell):
            shell.command(command_id, base64.b64decode(arguments))
        else:
            assert isinstance(shell, FakeWinrsShell)
            shell.command(command_id, line.findtext("rsp:Command", "", NS).strip(), arguments)
        response = ET.Element(f"{{{SHELL}}}CommandResponse")
        ET.SubElement(response, f"{{{SHELL}}}CommandId").text = command_id
        return reply_body(response)

    def _on_send(self, header: WsmanHeader, body: ET.Element) -> ET.Element:
        shell = self._shell(header)
        for stream in body.iterfind("rsp:Send/rsp:Stream", NS):
            data = base64.b64decode(stream.text or "")
            end = (stream.get("End") or "").lower() == "true"
            if isinstance(shell, FakePsrpShell):
                shell.send(stream.get("CommandId"), data)
            else:
                assert isinstance(shell, FakeWinrsShell)
                shell.send(stream.get("CommandId") or "", data, end)
        return reply_body(ET.Element(f"{{{SHELL}}}SendResponse"))

    def _on_receive(self, header: WsmanHeader, body: ET.Element) -> ET.Element | tuple[int, bytes]:
        shell = self._shell(header)
        desired = body.find("rsp:Receive/rsp:DesiredStream", NS)
        command_id = desired.get("CommandId") if desired is not None else None
        received = shell.receive(command_id, header.operation_timeout)
        if received is None:
            text = "The WS-Management service cannot complete the operation within the time specified in OperationTimeout."
            return 500, fault_envelope(header, "w:TimedOut", TIMED_OUT, text)
        data, command = received
        response = ET.Element(f"{{{SHELL}}}ReceiveResponse")
        stream = ET.SubElement(response, f"{{{SHELL}}}Stream", Name="stdout")
        if command_id:
            stream.set("CommandId", command_id)
        stream.text = base64.b64encode(data).decode("ascii")
        if command is not None:
            done = command.done
            state = ET.SubElement(
                response,
                f"{{{SHELL}}}CommandState",
                CommandId=command.command_id,
                State=f"{SHELL}/CommandState/{'Done' if done else 'Running'}",
            )
            if done:
                ET.SubElement(state, f"{{{SHELL}}}ExitCode").text = str(command.exit_code)
        return reply_body(response)

    def _on_signal(self, header: WsmanHeader, body: ET.Element) -> ET.Element:
        shell = self._shell(header)
        signal = body.find("rsp:Signal", NS)
        assert signal is not None
        shell.signal(signal.get("CommandId") or "", signal.findtext("rsp:Code", "", NS))
        return reply_body(ET.Element(f"{{{SHELL}}}SignalResponse"))


class _Handler(BaseHTTPRequestHandler):
    """One TCP connection, which NTLM authenticates once (as Windows' HTTP.sys does)."""

    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def setup(self) -> None:
        super().setup()
        self._ntlm: Any = None
        self._authenticated = False

    @property
    def endpoint(self) -> FakeWinRmEndpoint:
        return self.server.endpoint  # type: ignore[attr-defined, no-any-return]

    def handle(self) -> None:
        endpoint = self.endpoint
        endpoint.connections += 1
        if endpoint.drop_connections > 0:
            endpoint.drop_connections -= 1
            self.connection.close()
            return
        try:
            if isinstance(self.connection, ssl.SSLSocket):
                self.connection.do_handshake()
            super().handle()
        except (ssl.SSLError, ConnectionError, OSError):
            pass

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read state instead
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self._authorised():
            return
        try:
            status, answer = self.endpoint.handle(body)
        except WsmanFault as error:
            status, answer = (
                500,
                fault_envelope(
                    WsmanHeader(ET.fromstring(body)), error.subcode, error.code, error.text
                ),
            )
        self._reply(status, answer, content_type="application/soap+xml;charset=UTF-8")

    def _reply(
        self, status: int, body: bytes = b"", content_type: str | None = None, **headers: str
    ) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self) -> bool:
        if self._authenticated:
            return True
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() in ("negotiate", "ntlm"):
            return self._ntlm_step(scheme, token)
        self._reply(401, WWW_Authenticate="Negotiate, NTLM")
        return False

    def _ntlm_step(self, scheme: str, token: str) -> bool:
        if self._ntlm is None:
            bindings = GssChannelBindings(application_data=self.endpoint.tls.channel_binding)
            with _ntlm_user_file(self.endpoint.users):
                self._ntlm = spnego.server(protocol="ntlm", channel_bindings=bindings)
        try:
            with _ntlm_user_file(self.endpoint.users):
                answer = self._ntlm.step(base64.b64decode(token))
        except spnego.exceptions.SpnegoError:
            self._ntlm = None
            self._reply(401, WWW_Authenticate=scheme)
            return False
        if not self._ntlm.complete:
            self._reply(
                401, WWW_Authenticate=f"{scheme} {base64.b64encode(answer or b'').decode()}"
            )
            return False
        self._authenticated = True
        return True


_USER_FILE_LOCK = threading.RLock()


class _ntlm_user_file:
    """pyspnego's NTLM acceptor reads accounts from the file named by NTLM_USER_FILE."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def __enter__(self) -> None:
        _USER_FILE_LOCK.acquire()
        path = Path(f"/tmp/adsuite-fake-winrm-ntlm-{os.getpid()}-{threading.get_ident()}")
        path.write_text("".join(f":{user}:{password}\n" for user, password in self.users.items()))
        self._previous = os.environ.get("NTLM_USER_FILE")
        self._path = path
        os.environ["NTLM_USER_FILE"] = str(path)

    def __exit__(self, *exc: object) -> None:
        if self._previous is None:
            os.environ.pop("NTLM_USER_FILE", None)
        else:
            os.environ["NTLM_USER_FILE"] = self._previous
        self._path.unlink(missing_ok=True)
        _USER_FILE_LOCK.release()


def unused_port() -> int:
    """A loopback port nothing listens on (for the unreachable-host case)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fake_endpoints(
    count: int, users: dict[str, str], tls: FakeTls
) -> Generator[list[FakeWinRmEndpoint], None, None]:
    """``count`` fake hosts sharing one concurrency meter; stopped when the generator ends."""
    meter = ConcurrencyMeter()
    endpoints = [FakeWinRmEndpoint(users=users, tls=tls, meter=meter).start() for _ in range(count)]
    try:
        yield endpoints
    finally:
        for endpoint in endpoints:
            endpoint.stop()
