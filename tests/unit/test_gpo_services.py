"""System Services in a GPO (GptTmpl.inf ``[Service General Setting]``, MS-GPSB 2.2.8):
the codec against Samba's GptTmplInfParser, the spec (AppLocker implies AppIDSvc), plan
words, and the rollback readback — all as data, no server.

Finding pinned here: Samba's parser loops forever on a line whose last field is not
quoted (``AppIDSvc,2,D:...``), so our writer always quotes name and SDDL, as Windows does.
"""

from __future__ import annotations

import codecs
import logging
from typing import Any

import pytest
from pydantic import ValidationError
from samba_gp_oracle import samba_read, samba_write

from adsuite.errors import InputError
from adsuite.formats.gpttmpl_inf import (
    GptTmpl,
    ServiceSetting,
    parse_gpttmpl,
    parse_service_line,
    serialize_gpttmpl,
)
from adsuite.formats.gpttmpl_sections import build_gpttmpl, service_general_section
from adsuite.resources.gpo import readback
from adsuite.resources.gpo.admin_templates import Diff
from adsuite.resources.gpo.security import plan_template
from adsuite.resources.gpo.spec import MachineHalf, Spec

SDDL = "D:AR(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCLCSWLOCRRC;;;IU)"
# as Windows (secedit / GPMC) writes it: preamble after [System Access], quoted fields
WINDOWS_LAYOUT = codecs.BOM_UTF16_LE + (
    "[Unicode]\r\nUnicode=yes\r\n[System Access]\r\nMinimumPasswordLength = 12\r\n"
    '[Version]\r\nsignature="$CHICAGO$"\r\nRevision=1\r\n[Service General Setting]\r\n'
    f'"AppIDSvc",2,""\r\n"Spooler",4,"{SDDL}"\r\n'
).encode("utf-16-le")
PATH = "Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf"
APPLOCKER = {"exe": {"mode": "enforce"}}


def gpo(machine: dict[str, Any]) -> Spec:
    return Spec.model_validate({"name": "Restricted", "machine": machine})


def test_a_windows_written_section_reads_as_services_and_writes_back_byte_for_byte() -> None:
    template = parse_gpttmpl(WINDOWS_LAYOUT)
    assert template.services == {
        "AppIDSvc": ServiceSetting(2, ""),
        "Spooler": ServiceSetting(4, SDDL),
    }
    assert serialize_gpttmpl(template) == WINDOWS_LAYOUT


@pytest.mark.parametrize(
    ("line", "name", "setting"),
    [
        ('"AppIDSvc",2,""', "AppIDSvc", ServiceSetting(2)),
        ("AppIDSvc,3,", "AppIDSvc", ServiceSetting(3)),  # the grammar allows unquoted fields
        (f"AppIDSvc,4,{SDDL}", "AppIDSvc", ServiceSetting(4, SDDL)),
        (f' "AppIDSvc" , 2 , "{SDDL}" ', "AppIDSvc", ServiceSetting(2, SDDL)),
    ],
)
def test_service_lines_are_read_quoted_or_not(line: str, name: str, setting: object) -> None:
    assert parse_service_line(line) == (name, setting)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('"AppIDSvc",2', "is not 'name,mode,sddl'"),
        ('"App IDSvc",2,""', "is not 'name,mode,sddl'"),
        ('"AppIDSvc",5,""', "startup mode 5 is not 2, 3 or 4"),
        ('"AppIDSvc",automatic,""', "is not 'name,mode,sddl'"),
    ],
)
def test_bad_service_lines_are_one_clear_error(line: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_service_line(line)


def test_samba_reads_our_section_and_rewrites_it_identically() -> None:
    services = {"AppIDSvc": ServiceSetting(2), "Spooler": ServiceSetting(4, SDDL)}
    ours = serialize_gpttmpl(build_gpttmpl(system_access={"LockoutBadCount": 5}, services=services))
    assert '"AppIDSvc",2,""\r\n' in ours.decode("utf-16")
    seen = samba_read("inf", ours)
    assert bytes.fromhex(seen["rewritten"]) == ours
    assert seen["sections"]["Service General Setting"] == [
        ["AppIDSvc", "2", ""],
        ["Spooler", "4", SDDL],
    ]


def test_we_read_what_samba_writes() -> None:
    form = {"Service General Setting": [{"values": ["AppIDSvc", "2", ""]}]}
    template = parse_gpttmpl(samba_write("inf", sections=form))
    assert template.services == {"AppIDSvc": ServiceSetting(2)}


def test_the_section_builder_refuses_what_windows_would_stop_at() -> None:
    with pytest.raises(InputError, match="not 1 to 256"):
        service_general_section({"App/IDSvc": ServiceSetting(2)})
    with pytest.raises(InputError, match="twice"):
        service_general_section({"AppIDSvc": ServiceSetting(2), "appidsvc": ServiceSetting(3)})
    with pytest.raises(InputError, match="not 2, 3 or 4"):
        service_general_section({"AppIDSvc": ServiceSetting(1)})


def test_applocker_implies_appidsvc_automatic() -> None:
    spec = gpo({"applocker": APPLOCKER})
    assert spec.machine and spec.machine.security
    assert spec.machine.security.services == {"AppIDSvc": "automatic"}
    assert gpo({}).machine is not None and gpo({}).machine.security is None  # type: ignore[union-attr]


def test_an_explicit_appidsvc_wins_and_warns_that_applocker_is_not_enforced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    spec = Spec.model_validate(
        {
            "name": "Manual AppIDSvc",
            "machine": {"applocker": APPLOCKER, "security": {"services": {"AppIDSvc": "manual"}}},
        }
    )
    assert spec.machine and spec.machine.security
    assert spec.machine.security.services == {"AppIDSvc": "manual"}
    (record,) = [r for r in caplog.records if "Manual AppIDSvc" in r.getMessage()]
    assert "AppLocker is not enforced" in record.getMessage()


def test_an_explicit_automatic_appidsvc_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    gpo({"applocker": APPLOCKER, "security": {"services": {"appidsvc": {"startup": "automatic"}}}})
    assert not [r for r in caplog.records if "AppLocker" in r.getMessage()]


@pytest.mark.parametrize(
    ("services", "message"),
    [
        ({"App IDSvc": "automatic"}, "not 1 to 256"),
        ({"AppIDSvc": "auto"}, "startup .auto. is not automatic, manual or disabled"),
        ({"AppIDSvc": {"startup": "automatic", "sddl": "D:(Q;;;)"}}, "SDDL"),
        ({"AppIDSvc": {"startup": "automatic", "sdl": SDDL}}, "sdl"),
        ({"AppIDSvc": "automatic", "appidsvc": "manual"}, "twice"),
    ],
)
def test_bad_services_fail_at_load(services: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MachineHalf.model_validate({"security": {"services": services}})


def _plan(machine: dict[str, Any], current: bytes | None) -> tuple[Diff, GptTmpl]:
    half = gpo(machine).machine
    assert half is not None
    diff = Diff()
    want = plan_template(diff, PATH, half, current, lambda p: p, {})
    return diff, want


def _edited(old: str, new: str) -> bytes:
    text = WINDOWS_LAYOUT[2:].decode("utf-16-le")
    assert old in text
    return codecs.BOM_UTF16_LE + text.replace(old, new).encode("utf-16-le")


def test_a_service_set_to_manual_by_hand_is_worded_and_repaired() -> None:
    diff, want = _plan({"applocker": APPLOCKER}, _edited('"AppIDSvc",2,', '"AppIDSvc",3,'))
    assert diff.before == {"Machine: service AppIDSvc startup": "manual"}
    assert diff.after == {"Machine: service AppIDSvc startup": "automatic"}
    assert want.services["AppIDSvc"] == ServiceSetting(2)
    assert want.services["Spooler"] == ServiceSetting(4, SDDL)  # not declared: kept
    assert serialize_gpttmpl(want) == WINDOWS_LAYOUT


def test_an_sddl_added_by_hand_is_drift_when_the_playbook_gives_none() -> None:
    diff, want = _plan(
        {"applocker": APPLOCKER}, _edited('"AppIDSvc",2,""', f'"AppIDSvc",2,"{SDDL}"')
    )
    assert diff.before == {"Machine: service AppIDSvc startup": f"automatic, security {SDDL}"}
    assert diff.after == {"Machine: service AppIDSvc startup": "automatic"}
    assert want.services["AppIDSvc"] == ServiceSetting(2)


def test_the_same_meaning_plans_nothing_and_null_takes_a_line_out() -> None:
    same = {"services": {"appidsvc": "automatic", "Spooler": {"startup": "disabled", "sddl": SDDL}}}
    diff, want = _plan({"security": same}, WINDOWS_LAYOUT)
    assert (diff.before, diff.after, diff.files) == ({}, {}, {})
    diff, want = _plan({"security": {"services": {"Spooler": None}}}, WINDOWS_LAYOUT)
    assert diff.before == {"Machine: service Spooler startup": f"disabled, security {SDDL}"}
    assert diff.after == {"Machine: service Spooler startup": "not set"}
    assert list(want.services) == ["AppIDSvc"]


def test_a_gpo_without_a_template_gets_the_section() -> None:
    diff, _ = _plan({"applocker": APPLOCKER}, None)
    assert diff.before == {"Machine: service AppIDSvc startup": "not set"}
    data = diff.files[PATH]
    assert data is not None and '"AppIDSvc",2,""' in data.decode("utf-16")


def test_rollback_images_carry_the_services() -> None:
    half = gpo({"applocker": APPLOCKER}).machine
    assert half is not None
    assert readback.declared_template(half, WINDOWS_LAYOUT, {}) == {
        "security": {"services": {"AppIDSvc": "automatic"}}
    }
    assert readback.declared_template(half, None, {}) == {
        "security": {"services": {"AppIDSvc": None}}
    }
    whole = readback.whole_template(WINDOWS_LAYOUT, {})
    assert whole["security"]["services"] == {
        "AppIDSvc": "automatic",
        "Spooler": {"startup": "disabled", "sddl": SDDL},
    }
    restored = MachineHalf.model_validate(whole)  # the image is a valid spec again
    assert restored.security and restored.security.services


def test_an_unreadable_line_is_dropped_because_clients_stop_reading_the_section_at_it() -> None:
    edited = _edited('"Spooler",4,', '"Spooler",9,')
    diff, want = _plan({"applocker": APPLOCKER}, edited)
    label = "Machine: [Service General Setting] unreadable lines (clients stop there)"
    assert (diff.before, diff.after) == ({label: "1"}, {label: "0"})
    assert want.services == {"AppIDSvc": ServiceSetting(2)}


def test_a_second_line_for_a_declared_service_is_drift_and_removed() -> None:
    edited = _edited('"Spooler",4,', '"appidsvc",3,""\r\n"Spooler",4,')
    diff, want = _plan({"applocker": APPLOCKER}, edited)
    assert diff.before == {"Machine: service AppIDSvc startup": "automatic and manual"}
    assert diff.after == {"Machine: service AppIDSvc startup": "automatic"}
    assert serialize_gpttmpl(want) == WINDOWS_LAYOUT
