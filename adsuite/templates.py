"""Where jinja2 templates come from: a user folder first, then the ones adsuite ships.

Shipped templates live in ``templates/`` of the source tree and inside the wheel as
``adsuite/_templates``. ``ADSUITE_TEMPLATES`` names a folder whose files override them.
PowerShell scripts are not jinja2 templates: :func:`powershell_script` reads
``powershell/NAME.ps1`` as it is.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

import jinja2

from adsuite.errors import InputError

_PACKAGE = Path(__file__).resolve().parent


def shipped_folder() -> Path:
    inside_wheel = _PACKAGE / "_templates"
    return inside_wheel if inside_wheel.is_dir() else _PACKAGE.parent / "templates"


@cache
def environment() -> jinja2.Environment:
    folders = [str(shipped_folder())]
    override = os.environ.get("ADSUITE_TEMPLATES")
    if override:
        folders.insert(0, override)
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folders),
        autoescape=jinja2.select_autoescape(["html", "html.j2", "xml"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


_SCRIPT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def powershell_folders() -> list[Path]:
    """Where ``powershell/NAME.ps1`` scripts are looked up, in order: override, shipped."""
    folders = [shipped_folder() / "powershell"]
    override = os.environ.get("ADSUITE_TEMPLATES")
    if override:
        folders.insert(0, Path(override) / "powershell")
    return folders


def powershell_script(name: str) -> str:
    """The text of the PowerShell script ``powershell/NAME.ps1`` (a UTF-8 BOM is dropped).

    Scripts are fixed text: values reach them as parameters, never pasted in.
    """
    if not _SCRIPT_NAME.match(name):
        raise InputError(f"bad PowerShell script name {name!r}: use a-z, 0-9 and _")
    for folder in powershell_folders():
        path = folder / f"{name}.ps1"
        if path.is_file():
            return path.read_text(encoding="utf-8-sig")
    searched = ", ".join(str(folder) for folder in powershell_folders())
    raise InputError(f"no PowerShell script {name}.ps1 in {searched}")
