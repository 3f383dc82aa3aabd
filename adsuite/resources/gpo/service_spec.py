"""The System Services a GPO declares (``security.services``), as a playbook gives them.

``{AppIDSvc: automatic}`` or ``{AppIDSvc: {startup: automatic, sddl: "D:AR(...)"}}``;
:mod:`adsuite.resources.gpo.services` writes, words and reads them back.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from adsuite.errors import InputError
from adsuite.formats import sddl
from adsuite.formats.gpttmpl_inf import SERVICE_NAME, ServiceSetting

log = logging.getLogger(__name__)

APPIDSVC = "AppIDSvc"
STARTUP = {"automatic": 2, "manual": 3, "disabled": 4}
STARTUP_WORDS = {mode: word for word, mode in STARTUP.items()}
Startup = Literal["automatic", "manual", "disabled"]
SOME_DOMAIN = "S-1-5-21-1-2-3"  # lets domain-relative SDDL aliases (DA) parse for a check


class ServiceSpec(BaseModel):
    """A service's startup mode and, only if given, its security descriptor."""

    model_config = ConfigDict(extra="forbid")

    startup: Startup
    sddl: str | None = None

    @field_validator("sddl")
    @classmethod
    def _sddl(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = value.strip()
        if not text or any(c in text for c in '"\r\n'):
            raise ValueError(f"service SDDL {value!r} is empty or holds a quote or line break")
        try:
            sddl.from_sddl(text, SOME_DOMAIN)
        except InputError as error:
            raise ValueError(error.message) from None
        return text


Declared = Startup | ServiceSpec


def check_name(name: str) -> str:
    if not SERVICE_NAME.match(name):
        raise ValueError(
            f"service name {name!r} is not 1 to 256 letters, digits or symbols "
            "(no space, quote, comma, / or \\)"
        )
    return name


def setting(declared: Declared) -> ServiceSetting:
    if isinstance(declared, ServiceSpec):
        return ServiceSetting(STARTUP[declared.startup], declared.sddl or "")
    return ServiceSetting(STARTUP[declared])


def implied_by_applocker(services: Mapping[str, Declared | None] | None) -> bool:
    """True when AppLocker's service must be added: the playbook does not name it."""
    return not any(name.casefold() == APPIDSVC.casefold() for name in services or {})


def applocker_warning(gpo: str, services: Mapping[str, Declared | None]) -> str | None:
    """The warning for a GPO whose AppLocker rules cannot be enforced, or None."""
    for name, declared in services.items():
        if name.casefold() != APPIDSVC.casefold():
            continue
        mode = setting(declared).startup if declared is not None else None
        if mode != STARTUP["automatic"]:
            said = STARTUP_WORDS.get(mode or 0, "not set")
            return (
                f"GPO {gpo!r} has AppLocker rules but sets {name} to {said}: "
                "AppLocker is not enforced unless the Application Identity service runs"
            )
    return None


@functools.cache
def warn_once(message: str | None) -> None:
    """Log *message* once per process (a playbook's specs may be validated twice)."""
    if message:
        log.warning("%s", message)
