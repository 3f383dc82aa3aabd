"""Samba's Group Policy file parsers (``samba.gp_parse``) as an independent test oracle.

The bindings exist only for the system interpreter, so each call runs
``/usr/bin/python3 tests/samba_gp_worker.py`` once with a batch of requests as JSON.
Samba is a required test dependency: when it is missing the calling test FAILS, saying so.

``read`` requests return what Samba understood of some bytes (its XML form, the one
``samba-tool gpo backup`` writes) and the bytes Samba writes back from it; ``write``
requests return the bytes Samba writes from an XML form (``samba-tool gpo restore``).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from samba_oracle import SYSTEM_PYTHON

WORKER = Path(__file__).with_name("samba_gp_worker.py")


def ask_samba_gp(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run a batch of requests through Samba's parsers; answers may hold ``error``."""
    try:
        done = subprocess.run(
            [SYSTEM_PYTHON, str(WORKER)],
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
            "the Samba Group Policy oracle failed; Samba's Python bindings are a required "
            f"test dependency (apt-get install python3-samba):\n{done.stderr[-3000:]}"
        )
    answers: list[dict[str, Any]] = json.loads(done.stdout)
    return answers


def samba_read_many(kind: str, blobs: list[bytes]) -> list[dict[str, Any]]:
    """Samba's reading of each blob (``kind``: pol, inf, csv, ini); a refusal fails the test."""
    answers = ask_samba_gp([{"op": "read", "kind": kind, "hex": b.hex()} for b in blobs])
    for answer in answers:
        if "error" in answer:
            pytest.fail(f"Samba's {kind} parser refused our file: {answer['error']}")
    return answers


def samba_read(kind: str, blob: bytes) -> dict[str, Any]:
    return samba_read_many(kind, [blob])[0]


def samba_write(kind: str, **xml_form: Any) -> bytes:
    """The bytes Samba's ``write_binary`` produces from the given XML form."""
    (answer,) = ask_samba_gp([{"op": "write", "kind": kind, **xml_form}])
    if "error" in answer:
        pytest.fail(f"Samba's {kind} parser could not write: {answer['error']}")
    return bytes.fromhex(answer["hex"])
