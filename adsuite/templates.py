"""Where jinja2 templates come from: a user folder first, then the ones adsuite ships.

Shipped templates live in ``templates/`` of the source tree and inside the wheel as
``adsuite/_templates``. ``ADSUITE_TEMPLATES`` names a folder whose files override them.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import jinja2

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
