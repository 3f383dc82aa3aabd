"""System Services in a GPO: GptTmpl.inf ``[Service General Setting]`` (MS-GPSB 2.2.8).

A playbook declares ``security: {services: {AppIDSvc: automatic}}`` or, with a security
descriptor for the service, ``{AppIDSvc: {startup: automatic, sddl: "D:AR(...)"}}``.
Each declared service's line is managed whole: startup mode and SDDL. Without ``sddl``
the GPO sets none (``""``), so an SDDL added by hand (one that lets users stop the
service, say) is drift. Services not declared keep their lines; ``null`` takes a line out.

AppLocker needs the Application Identity service (AppIDSvc) running on the client, so a
GPO with ``machine.applocker`` sets it to start automatically unless the playbook
declares AppIDSvc itself (:func:`~adsuite.resources.gpo.service_spec.implied_by_applocker`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from adsuite.errors import InputError
from adsuite.formats import gpttmpl_sections, sddl
from adsuite.formats.gpttmpl_inf import (
    SERVICE_GENERAL_SETTING,
    GptTmpl,
    InfSection,
    ServiceSetting,
    parse_service_line,
)
from adsuite.resources.gpo.admin_templates import NOT_SET, Diff
from adsuite.resources.gpo.service_spec import (
    SOME_DOMAIN,
    STARTUP_WORDS,
    Declared,
    setting,
)

log = logging.getLogger(__name__)


def same(a: ServiceSetting, b: ServiceSetting) -> bool:
    """Equal in meaning: the same mode and the same security descriptor."""
    if a.startup != b.startup:
        return False
    if a.sddl.strip() == b.sddl.strip():
        return True
    try:
        return sddl.from_sddl(a.sddl, SOME_DOMAIN) == sddl.from_sddl(b.sddl, SOME_DOMAIN)
    except InputError:
        return False


def _entries(template: GptTmpl | None) -> list[tuple[str, ServiceSetting] | None]:
    """Each line of the section parsed, None for a line clients cannot read."""
    section = template.section(SERVICE_GENERAL_SETTING) if template else None
    out: list[tuple[str, ServiceSetting] | None] = []
    for line in section.lines if section else ():
        try:
            out.append(parse_service_line(line))
        except InputError:
            out.append(None)
    return out


def render(template: GptTmpl, declared: Mapping[str, Declared | None] | None) -> GptTmpl:
    """*template* with each declared service's line as declared (null: no line).

    A line clients cannot read is dropped: MS-GPSB (client processing of 2.2.8) has it stop
    processing the whole section at it, the declared services included. So is a second
    line for a declared service."""
    if not declared:
        return template
    wanted = {n.casefold(): (n, None if d is None else setting(d)) for n, d in declared.items()}
    current = template.section(SERVICE_GENERAL_SETTING)
    lines, done = [], set()
    for line, parsed in zip(current.lines if current else (), _entries(template), strict=True):
        if parsed is None or parsed[0].casefold() in done:
            continue
        name, want = wanted.get(parsed[0].casefold(), (None, None))
        if name is None:
            lines.append(line)
        elif want is not None:
            lines.append(line if same(parsed[1], want) else _line(name, want))
        done.add(parsed[0].casefold())
    lines += [_line(n, w) for k, (n, w) in wanted.items() if w is not None and k not in done]
    if not lines:
        return template.without_section(SERVICE_GENERAL_SETTING)
    return template.with_section(InfSection(SERVICE_GENERAL_SETTING, tuple(lines)))


def _line(name: str, want: ServiceSetting) -> str:
    return gpttmpl_sections.service_general_section({name: want}).lines[0]


def words(value: ServiceSetting | None) -> str:
    if value is None:
        return NOT_SET
    mode = STARTUP_WORDS.get(value.startup, str(value.startup))
    return f"{mode}, security {value.sddl}" if value.sddl else mode


def word(diff: Diff, have: GptTmpl | None, declared: Mapping[str, Declared | None]) -> None:
    """Each declared service whose line differs, in words; unreadable lines counted."""
    entries = _entries(have)
    found: dict[str, list[ServiceSetting]] = {}
    for entry in entries:
        if entry is not None:
            found.setdefault(entry[0].casefold(), []).append(entry[1])
    for name, decl in declared.items():
        was, will = found.get(name.casefold(), []), None if decl is None else setting(decl)
        if len(was) == 1 and will is not None and same(was[0], will):
            continue
        said = " and ".join(words(w) for w in was) or NOT_SET
        diff.differs(f"Machine: service {name} startup", said, words(will))
    unreadable = entries.count(None)
    if unreadable:
        diff.differs(
            f"Machine: [{SERVICE_GENERAL_SETTING}] unreadable lines (clients stop there)",
            str(unreadable),
            "0",
        )


def as_declared(value: ServiceSetting) -> object:
    """A service line as a playbook declares it: its startup word, or startup and sddl."""
    mode = STARTUP_WORDS[value.startup]
    return {"startup": mode, "sddl": value.sddl} if value.sddl else mode
