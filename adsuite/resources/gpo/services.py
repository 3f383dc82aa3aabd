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


def render(template: GptTmpl, declared: Mapping[str, Declared | None] | None) -> GptTmpl:
    """*template* with each declared service's line as declared (null: no line)."""
    if not declared:
        return template
    wanted = {n.casefold(): (n, None if d is None else setting(d)) for n, d in declared.items()}
    current = template.section(SERVICE_GENERAL_SETTING)
    lines = []
    for line in current.lines if current else ():
        name, have = parse_service_line(line)
        name_want = wanted.pop(name.casefold(), None)
        if name_want is None:
            lines.append(line)
        elif name_want[1] is not None:
            keep = same(have, name_want[1])
            lines.append(line if keep else _line(name_want[0], name_want[1]))
    lines += [_line(n, want) for n, want in wanted.values() if want is not None]
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
    """Each declared service whose line differs, in words."""
    found = {n.casefold(): s for n, s in _services(have).items()}
    for name, decl in declared.items():
        was, will = found.get(name.casefold()), None if decl is None else setting(decl)
        if was is not None and will is not None and same(was, will):
            continue
        diff.differs(f"Machine: service {name} startup", words(was), words(will))


def _services(template: GptTmpl | None) -> dict[str, ServiceSetting]:
    if template is None or template.section(SERVICE_GENERAL_SETTING) is None:
        return {}
    try:
        return template.services
    except InputError as error:
        log.warning("unreadable [%s]: %s", SERVICE_GENERAL_SETTING, error)
        return {}


def as_declared(value: ServiceSetting) -> object:
    """A service line as a playbook declares it: its startup word, or startup and sddl."""
    mode = STARTUP_WORDS[value.startup]
    return {"startup": mode, "sddl": value.sddl} if value.sddl else mode
