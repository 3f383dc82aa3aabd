"""Runs under the SYSTEM interpreter (/usr/bin/python3) with Samba's bindings; not a test.

Reads a JSON list of requests on stdin and writes a JSON list of answers: each request
drives one of Samba's Group Policy parsers (``samba.gp_parse``), the code ``samba-tool gpo
backup`` / ``restore`` uses, either reading file bytes (and showing what Samba understood,
as its XML form and as its re-written bytes) or writing file bytes from that XML form.
A parser that raises is answered with ``{"error": ...}``: that is a finding, not a crash.
"""

import json
import os
import sys
import tempfile
from typing import Any
from xml.etree.ElementTree import Element, SubElement, parse

from samba import gpo
from samba.gp_parse.gp_csv import GPAuditCsvParser
from samba.gp_parse.gp_inf import GptTmplInfParser
from samba.gp_parse.gp_ini import GPTIniParser
from samba.gp_parse.gp_pol import GPPolParser
from samba.ndr import ndr_pack

PARSERS = {
    "pol": GPPolParser,
    "inf": GptTmplInfParser,
    "csv": GPAuditCsvParser,
    "ini": GPTIniParser,
}


def texts(element: Element, tag: str) -> list[str]:
    return [child.text or "" for child in element.findall(tag)]


def xml_view(parser: Any, folder: str) -> Element:
    path = os.path.join(folder, "view.xml")
    parser.write_xml(path)
    return parse(path).getroot()


def read_pol(parser: Any, root: Element) -> dict[str, Any]:
    entries = []
    for entry in root.findall("Entry"):
        entries.append(
            {
                "type": int(entry.attrib["type"]),
                "key": entry.findtext("Key") or "",
                "name": entry.findtext("ValueName") or "",
                "values": texts(entry, "Value"),
            }
        )
    return {"entries": entries, "repacked": ndr_pack(parser.pol_file).hex()}


def read_inf(parser: Any, root: Element) -> dict[str, Any]:
    sections = {}
    for name, param in parser.sections.items():
        if param.param_list:
            sections[name] = param.param_list
    return {"sections": sections}


def read_csv(parser: Any, root: Element) -> dict[str, Any]:
    rows = [texts(row, "Value") for row in root.findall("Row")]
    return {"rows": rows}


def read_ini(parser: Any, root: Element, folder: str, data: bytes) -> dict[str, Any]:
    sections = {}
    for section in root.findall("Section"):
        sections[section.attrib["name"]] = [
            [param.findtext("Key") or "", param.findtext("Value") or ""]
            for param in section.findall("Parameter")
        ]
    with open(os.path.join(folder, "GPT.INI"), "wb") as handle:
        handle.write(data)
    version = gpo.gpo_get_sysvol_gpt_version(folder)[1]
    return {"sections": sections, "c_version": version}


def build_pol(request: dict[str, Any]) -> Element:
    root = Element(
        "PolFile", signature="PReg", version="1", num_entries=str(len(request["entries"]))
    )
    for item in request["entries"]:
        entry = SubElement(root, "Entry", type=str(item["type"]))
        SubElement(entry, "Key").text = item["key"]
        SubElement(entry, "ValueName").text = item["name"]
        for value in item["values"]:
            SubElement(entry, "Value").text = value
    return root


def build_inf(request: dict[str, Any]) -> Element:
    root = Element("GptTmplInfFile")
    for name, params in request["sections"].items():
        section = SubElement(root, "Section", name=name)
        for param in params:
            parameter = SubElement(section, "Parameter")
            if "key" in param:
                key = SubElement(parameter, "Key")
                key.text = param["key"]
                if "member_type" in param:
                    key.attrib["member_type"] = param["member_type"]
            for value in param["values"]:
                SubElement(parameter, "Value").text = value
    return root


def build_rows(request: dict[str, Any]) -> Element:
    root = Element("CsvFile")
    for row in request["rows"]:
        element = SubElement(root, "Row")
        for value in row:
            SubElement(element, "Value").text = value
    return root


def build_ini(request: dict[str, Any]) -> Element:
    root = Element("IniFile")
    for name, params in request["sections"].items():
        section = SubElement(root, "Section", name=name)
        for key, value in params:
            parameter = SubElement(section, "Parameter")
            SubElement(parameter, "Key").text = key
            SubElement(parameter, "Value").text = value
    return root


BUILDERS = {"pol": build_pol, "inf": build_inf, "csv": build_rows, "ini": build_ini}


def answer(request: dict[str, Any], folder: str) -> dict[str, Any]:
    kind = request["kind"]
    parser = PARSERS[kind]()
    path = os.path.join(folder, "out.bin")
    if request["op"] == "write":
        parser.load_xml(BUILDERS[kind](request))
        parser.write_binary(path)
        with open(path, "rb") as handle:
            return {"hex": handle.read().hex()}
    data = bytes.fromhex(request["hex"])
    parser.parse(data)
    root = xml_view(parser, folder)
    if kind == "ini":
        result = read_ini(parser, root, folder, data)
    else:
        result = {"pol": read_pol, "inf": read_inf, "csv": read_csv}[kind](parser, root)
    parser.write_binary(path)
    with open(path, "rb") as handle:
        result["rewritten"] = handle.read().hex()
    return result


def main() -> None:
    answers = []
    for request in json.load(sys.stdin):
        with tempfile.TemporaryDirectory() as folder:
            try:
                answers.append(answer(request, folder))
            except Exception as error:  # a parser failing is the finding we report
                answers.append({"error": repr(error)})
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
