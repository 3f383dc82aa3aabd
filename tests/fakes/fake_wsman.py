"""WS-Management envelopes for the FAKE WinRM endpoint: request headers, replies, faults."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "pwsh": "http://schemas.microsoft.com/powershell",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)
SHELL = NS["rsp"]
PSRP_RESOURCE = "http://schemas.microsoft.com/powershell/"
TIMED_OUT = 2150858793
INVALID_SELECTORS = 2150858843
DURATION = re.compile(r"^PT([0-9.]+)S$")


class WsmanFault(Exception):
    def __init__(self, code: int, subcode: str, text: str) -> None:
        super().__init__(text)
        self.code, self.subcode, self.text = code, subcode, text


class WsmanHeader:
    def __init__(self, envelope: ET.Element) -> None:
        self.action = envelope.findtext("s:Header/a:Action", "", NS)
        self.message_id = envelope.findtext("s:Header/a:MessageID", "", NS)
        self.resource_uri = envelope.findtext("s:Header/w:ResourceURI", "", NS)
        selector = envelope.find("s:Header/w:SelectorSet/w:Selector[@Name='ShellId']", NS)
        self.shell_id = (selector.text or "").upper() if selector is not None else None
        match = DURATION.match(envelope.findtext("s:Header/w:OperationTimeout", "PT20S", NS))
        self.operation_timeout = float(match.group(1)) if match else 20.0


def reply_body(*children: ET.Element) -> ET.Element:
    body = ET.Element(f"{{{NS['s']}}}Body")
    body.extend(children)
    return body


def reply_envelope(header: WsmanHeader, body: ET.Element, action: str | None = None) -> bytes:
    envelope = ET.Element(f"{{{NS['s']}}}Envelope")
    head = ET.SubElement(envelope, f"{{{NS['s']}}}Header")
    ET.SubElement(head, f"{{{NS['a']}}}Action").text = action or header.action + "Response"
    ET.SubElement(head, f"{{{NS['a']}}}MessageID").text = f"uuid:{uuid.uuid4()}".upper()
    ET.SubElement(head, f"{{{NS['a']}}}RelatesTo").text = header.message_id
    envelope.append(body)
    return bytes(ET.tostring(envelope, encoding="utf-8"))


def fault_envelope(header: WsmanHeader, subcode: str, code: int, text: str) -> bytes:
    fault = ET.Element(f"{{{NS['s']}}}Fault")
    codes = ET.SubElement(fault, f"{{{NS['s']}}}Code")
    ET.SubElement(codes, f"{{{NS['s']}}}Value").text = "s:Receiver"
    sub = ET.SubElement(codes, f"{{{NS['s']}}}Subcode")
    ET.SubElement(sub, f"{{{NS['s']}}}Value").text = subcode
    reason = ET.SubElement(fault, f"{{{NS['s']}}}Reason")
    ET.SubElement(reason, f"{{{NS['s']}}}Text").text = text
    detail = ET.SubElement(fault, f"{{{NS['s']}}}Detail")
    wsman_fault = ET.SubElement(
        detail, f"{{{NS['f']}}}WSManFault", Code=str(code), Machine="127.0.0.1"
    )
    ET.SubElement(wsman_fault, f"{{{NS['f']}}}Message").text = text
    return reply_envelope(
        header, reply_body(fault), action="http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
    )
