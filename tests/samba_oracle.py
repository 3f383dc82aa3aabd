"""Samba's own security-descriptor code as an independent test oracle.

Samba's Python bindings (``python3-samba``) exist only for the system interpreter, so
each call runs ``/usr/bin/python3`` once with a batch of requests as JSON. Samba is a
required test dependency: when it is missing the calling test FAILS, saying so.
"""

from __future__ import annotations

import base64
import json
import subprocess
from typing import Any

import pytest

SYSTEM_PYTHON = "/usr/bin/python3"


PROVISIONED_DOMAIN_SID = "S-1-5-21-3998610691-602631117-2390062241"
"""The domain SID of the throwaway domain the descriptors below come from."""

PROVISIONED_DESCRIPTORS: dict[str, bytes] = {
    # nTSecurityDescriptor (owner, group, DACL and SACL) of two objects of a domain
    # made with `samba-tool domain provision --targetdir=<tmp>` (Samba 4.17.12,
    # realm ORACLE.TEST) and read from its sam.ldb with the sd_flags:1:15 control.
    "OU=Domain Controllers": base64.b64decode(
        "AQAXjBQAAAAwAAAATAAAAOwAAAABBQAAAAAABRUAAAAD9VXuzWvrI6F0dY4AAgAAAQUAAAAAAAUVAAAAA/VV"
        "7s1r6yOhdHWOAAIAAAQAoAAEAAAAAkAUAEMADQABAQAAAAAAAQAAAAACQhQAIAAAAAEBAAAAAAABAAAAAAdS"
        "OAAgAAAAAwAAAL47DvPwn9ERtgMAAPgDZ8Glepa/5g3QEaKFAKoAMEniAQEAAAAAAAEAAAAAB1I4ACAAAAAD"
        "AAAAvzsO8/Cf0RG2AwAA+ANnwaV6lr/mDdARooUAqgAwSeIBAQAAAAAAAQAAAAAEAGgEGAAAAAAAFACUAAIA"
        "AQEAAAAAAAULAAAAAAAkAL0BDgABBQAAAAAABRUAAAAD9VXuzWvrI6F0dY4AAgAAAAAUAP8BDwABAQAAAAAA"
        "BRIAAAAAABQAlAACAAEBAAAAAAAFCQAAAAUaPAAQAAAAAwAAAABCFkzAINARp2gAqgBuBSkUzChINxS8RZsH"
        "rW8BXl8oAQIAAAAAAAUgAAAAKgIAAAUaPAAQAAAAAwAAAABCFkzAINARp2gAqgBuBSm6epa/5g3QEaKFAKoA"
        "MEniAQIAAAAAAAUgAAAAKgIAAAUaPAAQAAAAAwAAABAgIF+ledARkCAAwE/C1M8UzChINxS8RZsHrW8BXl8o"
        "AQIAAAAAAAUgAAAAKgIAAAUaPAAQAAAAAwAAABAgIF+ledARkCAAwE/C1M+6epa/5g3QEaKFAKoAMEniAQIA"
        "AAAAAAUgAAAAKgIAAAUaPAAQAAAAAwAAAEDCCrypedARkCAAwE/C1M8UzChINxS8RZsHrW8BXl8oAQIAAAAA"
        "AAUgAAAAKgIAAAUaPAAQAAAAAwAAAEDCCrypedARkCAAwE/C1M+6epa/5g3QEaKFAKoAMEniAQIAAAAAAAUg"
        "AAAAKgIAAAUaPAAQAAAAAwAAAEIvulmiedARkCAAwE/C088UzChINxS8RZsHrW8BXl8oAQIAAAAAAAUgAAAA"
        "KgIAAAUaPAAQAAAAAwAAAEIvulmiedARkCAAwE/C08+6epa/5g3QEaKFAKoAMEniAQIAAAAAAAUgAAAAKgIA"
        "AAUaPAAQAAAAAwAAAPiIcAPhCtIRtCIAoMlo+TkUzChINxS8RZsHrW8BXl8oAQIAAAAAAAUgAAAAKgIAAAUa"
        "PAAQAAAAAwAAAPiIcAPhCtIRtCIAoMlo+Tm6epa/5g3QEaKFAKoAMEniAQIAAAAAAAUgAAAAKgIAAAUaOAAQ"
        "AAAAAwAAAG2exrfHLNIRhU4AoMmD9giGepa/5g3QEaKFAKoAMEniAQEAAAAAAAUJAAAABRo4ABAAAAADAAAA"
        "bZ7Gt8cs0hGFTgCgyYP2CJx6lr/mDdARooUAqgAwSeIBAQAAAAAABQkAAAAFGjgAEAAAAAMAAABtnsa3xyzS"
        "EYVOAKDJg/YIunqWv+YN0BGihQCqADBJ4gEBAAAAAAAFCQAAAAUaLACUAAIAAgAAABTMKEg3FLxFmwetbwFe"
        "XygBAgAAAAAABSAAAAAqAgAABRosAJQAAgACAAAAnHqWv+YN0BGihQCqADBJ4gECAAAAAAAFIAAAACoCAAAF"
        "GiwAlAACAAIAAAC6epa/5g3QEaKFAKoAMEniAQIAAAAAAAUgAAAAKgIAAAUSKAAwAQAAAQAAAN5H5pFv2XBL"
        "lVfWP/TzzNgBAQAAAAAABQoAAAAAEiQA/wEPAAEFAAAAAAAFFQAAAAP1Ve7Na+sjoXR1jgcCAAAAEhgABAAA"
        "AAECAAAAAAAFIAAAACoCAAAAEhgAvQEPAAECAAAAAAAFIAAAACACAAA="
    ),
    "domain root": base64.b64decode(
        "AQAUjBQAAAAkAAAANAAAAPwAAAABAgAAAAAABSAAAAAgAgAAAQIAAAAAAAUgAAAAIAIAAAQAyAAFAAAAB0I4"
        "ACAAAAADAAAAvjsO8/Cf0RG2AwAA+ANnwaV6lr/mDdARooUAqgAwSeIBAQAAAAAAAQAAAAAHQjgAIAAAAAMA"
        "AAC/Ow7z8J/REbYDAAD4A2fBpXqWv+YN0BGihQCqADBJ4gEBAAAAAAABAAAAAAJAJAAAAQAAAQUAAAAAAAUV"
        "AAAAA/VV7s1r6yOhdHWOAQIAAAJAGAAAAQAAAQIAAAAAAAUgAAAAIAIAAAJAFAAgAAwAAQEAAAAAAAEAAAAA"
        "BAD4By4AAAAFCjwAEAAAAAMAAAAAQhZMwCDQEadoAKoAbgUpFMwoSDcUvEWbB61vAV5fKAECAAAAAAAFIAAA"
        "ACoCAAAFCjwAEAAAAAMAAAAAQhZMwCDQEadoAKoAbgUpunqWv+YN0BGihQCqADBJ4gECAAAAAAAFIAAAACoC"
        "AAAFCjwAEAAAAAMAAAAQICBfpXnQEZAgAMBPwtTPFMwoSDcUvEWbB61vAV5fKAECAAAAAAAFIAAAACoCAAAF"
        "CjwAEAAAAAMAAAAQICBfpXnQEZAgAMBPwtTPunqWv+YN0BGihQCqADBJ4gECAAAAAAAFIAAAACoCAAAFCjwA"
        "EAAAAAMAAABAwgq8qXnQEZAgAMBPwtTPFMwoSDcUvEWbB61vAV5fKAECAAAAAAAFIAAAACoCAAAFCjwAEAAA"
        "AAMAAABAwgq8qXnQEZAgAMBPwtTPunqWv+YN0BGihQCqADBJ4gECAAAAAAAFIAAAACoCAAAFCjwAEAAAAAMA"
        "AABCL7pZonnQEZAgAMBPwtPPFMwoSDcUvEWbB61vAV5fKAECAAAAAAAFIAAAACoCAAAFCjwAEAAAAAMAAABC"
        "L7pZonnQEZAgAMBPwtPPunqWv+YN0BGihQCqADBJ4gECAAAAAAAFIAAAACoCAAAFCjwAEAAAAAMAAAD4iHAD"
        "4QrSEbQiAKDJaPk5FMwoSDcUvEWbB61vAV5fKAECAAAAAAAFIAAAACoCAAAFCjwAEAAAAAMAAAD4iHAD4QrS"
        "EbQiAKDJaPk5unqWv+YN0BGihQCqADBJ4gECAAAAAAAFIAAAACoCAAAFADgAAAEAAAEAAACq9jERB5zREfef"
        "AMBPwtzSAQUAAAAAAAUVAAAAA/VV7s1r6yOhdHWO8gEAAAUAOAAAAQAAAQAAAK32MREHnNER958AwE/C3NIB"
        "BQAAAAAABRUAAAAD9VXuzWvrI6F0dY4EAgAABQo4ABAAAAADAAAAbZ7Gt8cs0hGFTgCgyYP2CIZ6lr/mDdAR"
        "ooUAqgAwSeIBAQAAAAAABQkAAAAFCjgAEAAAAAMAAABtnsa3xyzSEYVOAKDJg/YInHqWv+YN0BGihQCqADBJ"
        "4gEBAAAAAAAFCQAAAAUKOAAQAAAAAwAAAG2exrfHLNIRhU4AoMmD9gi6epa/5g3QEaKFAKoAMEniAQEAAAAA"
        "AAUJAAAABQAsAAABAAABAAAAdlvpiU1EYkyZGg+svtpkDAECAAAAAAAFIAAAACACAAAFACwAAAEAAAEAAACq"
        "9jERB5zREfefAMBPwtzSAQIAAAAAAAUgAAAAIAIAAAUALAAAAQAAAQAAAKv2MREHnNER958AwE/C3NIBAgAA"
        "AAAABSAAAAAgAgAABQAsAAABAAABAAAArPYxEQec0RH3nwDAT8Lc0gECAAAAAAAFIAAAACACAAAFACwAAAEA"
        "AAEAAACt9jERB5zREfefAMBPwtzSAQIAAAAAAAUgAAAAIAIAAAUALAAAAQAAAQAAAK72MREHnNER958AwE/C"
        "3NIBAgAAAAAABSAAAAAgAgAABQAsAAABAAABAAAAyW2j4heuw0e1i740xVumMwECAAAAAAAFIAAAAC0CAAAF"
        "ACwAEAAAAAEAAABgc0DHvyDQEadoAKoAbgUpAQIAAAAAAAUgAAAAKgIAAAUALAAQAAAAAQAAANCfEbj2BGJH"
        "q3pJhsdrP5oBAgAAAAAABSAAAAAqAgAABQosAJQAAgACAAAAFMwoSDcUvEWbB61vAV5fKAECAAAAAAAFIAAA"
        "ACoCAAAFCiwAlAACAAIAAACcepa/5g3QEaKFAKoAMEniAQIAAAAAAAUgAAAAKgIAAAUKLACUAAIAAgAAALp6"
        "lr/mDdARooUAqgAwSeIBAgAAAAAABSAAAAAqAgAABQAoAAABAAABAAAAXkzHBetNtEO9n4ZmTCp/1QEBAAAA"
        "AAAFCwAAAAUAKAAAAQAAAQAAAHZb6YlNRGJMmRoPrL7aZAwBAQAAAAAABQkAAAAFACgAAAEAAAEAAAB93MLM"
        "raZ6SohGwE48xTUBAQEAAAAAAAULAAAABQAoAAABAAABAAAAnDYPKMdnjkOumB1G88b1QQEBAAAAAAAFCwAA"
        "AAUAKAAAAQAAAQAAAKr2MREHnNER958AwE/C3NIBAQAAAAAABQkAAAAFACgAAAEAAAEAAACr9jERB5zREfef"
        "AMBPwtzSAQEAAAAAAAUJAAAABQAoAAABAAABAAAArPYxEQec0RH3nwDAT8Lc0gEBAAAAAAAFCQAAAAUAKAAA"
        "AQAAAQAAAK72MREHnNER958AwE/C3NIBAQAAAAAABQkAAAAFACgAEAAAAAEAAADQnxG49gRiR6t6SYbHaz+a"
        "AQEAAAAAAAULAAAABQooADABAAABAAAA3kfmkW/ZcEuVV9Y/9PPM2AEBAAAAAAAFCgAAAAAAJAC9AQ4AAQUA"
        "AAAAAAUVAAAAA/VV7s1r6yOhdHWOAAIAAAACJAD/AQ8AAQUAAAAAAAUVAAAAA/VV7s1r6yOhdHWOBwIAAAAA"
        "GAAQAAIAAQIAAAAAAAUgAAAAKgIAAAACGAAEAAAAAQIAAAAAAAUgAAAAKgIAAAACGAC9AQ8AAQIAAAAAAAUg"
        "AAAAIAIAAAAAFAAQAAAAAQEAAAAAAAEAAAAAAAAUAJQAAgABAQAAAAAABQkAAAAAABQAlAACAAEBAAAAAAAF"
        "CwAAAAAAFAD/AQ8AAQEAAAAAAAUSAAAA"
    ),
}

EXAMPLE_DOMAIN_SID = "S-1-5-21-1-2-3"
"""The domain the SDDL examples below are written for."""

REALISTIC_SDDL: dict[str, str] = {
    # defaultSecurityDescriptor of organizationalUnit and user in Samba's schema.
    "default OU": (
        "D:(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;SY)(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;DA)"
        "(OA;;CCDC;bf967a86-0de6-11d0-a285-00aa003049e2;;AO)"
        "(OA;;CCDC;bf967aba-0de6-11d0-a285-00aa003049e2;;AO)"
        "(OA;;CCDC;bf967a9c-0de6-11d0-a285-00aa003049e2;;AO)"
        "(OA;;CCDC;bf967aa8-0de6-11d0-a285-00aa003049e2;;PO)(A;;RPLCLORC;;;AU)"
        "(A;;LCRPLORC;;;ED)(OA;;CCDC;4828CC14-1437-45bc-9B07-AD6F015E5F28;;AO)"
    ),
    "default user": (
        "D:(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;DA)(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;SY)"
        "(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;AO)(A;;RPLCLORC;;;PS)"
        "(OA;;CR;ab721a53-1e2f-11d0-9819-00aa0040529b;;PS)"
        "(OA;;CR;ab721a54-1e2f-11d0-9819-00aa0040529b;;PS)"
        "(OA;;CR;ab721a56-1e2f-11d0-9819-00aa0040529b;;PS)"
        "(OA;;RPWP;77B5B886-944A-11d1-AEBD-0000F80367C1;;PS)"
        "(OA;;RPWP;E45795B2-9455-11d1-AEBD-0000F80367C1;;PS)"
        "(OA;;RPWP;E45795B3-9455-11d1-AEBD-0000F80367C1;;PS)"
        "(OA;;RP;037088f8-0ae1-11d2-b422-00a0c968f939;;RS)"
        "(OA;;RP;4c164200-20c0-11d0-a768-00aa006e0529;;RS)"
        "(OA;;RP;bc0ac240-79a9-11d0-9020-00c04fc2d4cf;;RS)(A;;RC;;;AU)"
        "(OA;;RP;59ba2f42-79a2-11d0-9020-00c04fc2d3cf;;AU)"
        "(OA;;RP;77B5B886-944A-11d1-AEBD-0000F80367C1;;AU)"
        "(OA;;RP;E45795B3-9455-11d1-AEBD-0000F80367C1;;AU)"
        "(OA;;RP;e48d0154-bcf8-11d1-8702-00c04fb96050;;AU)"
        "(OA;;CR;ab721a53-1e2f-11d0-9819-00aa0040529b;;WD)"
        "(OA;;RP;5f202010-79a5-11d0-9020-00c04fc2d4cf;;RS)"
        "(OA;;RPWP;bf967a7f-0de6-11d0-a285-00aa003049e2;;CA)"
        "(OA;;RP;46a9b11d-60ae-405a-b7e8-ff8a58d456d2;;S-1-5-32-560)"
        "(OA;;WPRP;6db69a1c-9422-11d1-aebd-0000f80367c1;;S-1-5-32-561)"
        "(OA;;WPRP;5805bc62-bdc9-4428-a5e2-856a0f4c185e;;S-1-5-32-561)"
    ),
    "delegated create/delete users": (
        "O:DAG:DAD:AI(OA;CI;CCDC;bf967aba-0de6-11d0-a285-00aa003049e2;;S-1-5-21-1-2-3-1111)"
        "(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;DA)(A;;RPLCLORC;;;AU)"
    ),
    "protected from accidental deletion": (
        "O:DAG:DUD:AI(D;;DTSD;;;WD)(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;SY)"
        "(A;CIID;RPWPCRCCDCLCLORCWOWDSDDTSW;;;EA)"
    ),
    "audit SACL": (
        "O:BAG:BAS:(AU;SA;WDWO;;;WD)"
        "(OU;CISA;WP;f30e3bbe-9ff0-11d1-b603-0000f80367c1;bf967aa5-0de6-11d0-a285-00aa003049e2;WD)"
    ),
    "file system with inheritance": (
        "O:BAG:SYD:PAI(A;OICI;FA;;;BA)(A;OICIIO;0x1301bf;;;S-1-5-21-1-2-3-1112)"
        "(A;OICI;0x1200a9;;;BU)(A;OICIIO;GA;;;CO)(A;;FR;;;AU)(A;CI;FW;;;SY)(A;NP;FX;;;NS)"
    ),
    "flags on both ACLs": (
        "O:EAG:DUD:PARAI(A;;GA;;;DD)(D;OICINP;GRGWGX;;;DC)(OD;;CR;1131f6aa-9c07-11d1-f79f-"
        "00c04fc2dcd2;;RO)S:PARAI(AU;FA;CR;;;RO)(OU;IOSAFA;RPWP;;bf967aba-0de6-11d0-a285-"
        "00aa003049e2;CA)(AL;SA;SD;;;AN)(OL;FA;RC;bf967a86-0de6-11d0-a285-00aa003049e2;;BU)"
    ),
    "every domain-relative alias": (
        "O:LAG:LGD:(A;;RP;;;DA)(A;;RP;;;DU)(A;;RP;;;DG)(A;;RP;;;DC)(A;;RP;;;DD)(A;;RP;;;CA)"
        "(A;;RP;;;SA)(A;;RP;;;EA)(A;;RP;;;PA)(A;;RP;;;CN)(A;;RP;;;AP)(A;;RP;;;KA)(A;;RP;;;EK)"
        "(A;;RP;;;RS)(A;;RP;;;RO)"
    ),
    "hex masks": "D:(A;;0x120089;;;WD)(A;;0x1F01FF;;;AU)(A;;0x00000010;;;SY)(A;;0x0;;;BG)",
    "empty DACL": "O:SYG:SYD:",
    "owner only": "O:S-1-5-21-9-8-7-1234",
}
"""Realistic SDDL, keyed by what each shows."""

_SCRIPT = r"""
import json, sys
from samba.ndr import ndr_pack, ndr_unpack
from samba.dcerpc import security
answers = []
for request in json.load(sys.stdin):
    domain = security.dom_sid(request["domain"])
    try:
        if request["op"] == "pack":
            sd = security.descriptor.from_sddl(request["sddl"], domain)
            answers.append({"hex": ndr_pack(sd).hex()})
        else:
            sd = ndr_unpack(security.descriptor, bytes.fromhex(request["hex"]))
            answers.append({"sddl": sd.as_sddl(domain), "hex": ndr_pack(sd).hex()})
    except Exception as error:
        answers.append({"error": repr(error)})
json.dump(answers, sys.stdout)
"""


def ask_samba(requests: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Run a batch of ``pack`` (SDDL -> bytes) / ``unpack`` (bytes -> SDDL) requests."""
    try:
        done = subprocess.run(
            [SYSTEM_PYTHON, "-c", _SCRIPT],
            input=json.dumps(requests),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except FileNotFoundError:
        pytest.fail(f"{SYSTEM_PYTHON} is missing: the Samba oracle needs it with python3-samba")
    if done.returncode != 0:
        pytest.fail(
            "the Samba oracle failed; Samba's Python bindings are a required test "
            f"dependency (apt-get install python3-samba):\n{done.stderr[-3000:]}"
        )
    answers: list[dict[str, Any]] = json.loads(done.stdout)
    return answers


def samba_pack_many(sddls: list[str], domain_sid: str) -> list[bytes]:
    """Samba's ``ndr_pack(descriptor.from_sddl(sddl, domain))`` for each SDDL string."""
    answers = ask_samba([{"op": "pack", "sddl": s, "domain": domain_sid} for s in sddls])
    for sddl, answer in zip(sddls, answers, strict=True):
        if "error" in answer:
            pytest.fail(f"Samba rejected SDDL {sddl!r}: {answer['error']}")
    return [bytes.fromhex(answer["hex"]) for answer in answers]


def samba_pack(sddl: str, domain_sid: str) -> bytes:
    """Samba's binary for one SDDL string."""
    return samba_pack_many([sddl], domain_sid)[0]


def samba_unpack_many(blobs: list[bytes], domain_sid: str) -> list[tuple[str, bytes]]:
    """Samba's ``(as_sddl(domain), ndr_pack)`` after ``ndr_unpack`` of each blob."""
    answers = ask_samba([{"op": "unpack", "hex": b.hex(), "domain": domain_sid} for b in blobs])
    for answer in answers:
        if "error" in answer:
            pytest.fail(f"Samba could not unpack a descriptor: {answer['error']}")
    return [(answer["sddl"], bytes.fromhex(answer["hex"])) for answer in answers]


def samba_unpack(blob: bytes, domain_sid: str) -> tuple[str, bytes]:
    """Samba's SDDL and re-marshalled bytes for one binary descriptor."""
    return samba_unpack_many([blob], domain_sid)[0]
