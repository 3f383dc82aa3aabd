"""A real headless Chromium (Debian's package) that loads a report page and says what a
person would see: the rendered text, whether the page is wider than the window, and a
screenshot. No DevTools client: a probe script appended to a copy of the page writes
its measurements into the title, which ``--dump-dom`` returns."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BINARY = shutil.which("chromium") or shutil.which("chromium-headless-shell")
WHY_ABSENT = "chromium is not installed (apt-get install chromium; scripts/test.sh does)"

_PROBE = """<script>document.title = JSON.stringify({
  scroll_width: document.documentElement.scrollWidth,
  client_width: document.documentElement.clientWidth,
  pwned: document.body.dataset.pwned || null,
  scripts: document.scripts.length,
  text: document.body.innerText});</script>"""


@dataclass(frozen=True)
class Rendered:
    text: str  # document.body.innerText, as laid out
    scroll_width: int
    client_width: int
    pwned: str | None  # set only if a planted script ran
    scripts: int  # <script> elements in the page, the probe's own included
    screenshot: Path

    @property
    def overflows(self) -> bool:
        return self.scroll_width > self.client_width


def _run(*args: str) -> str:
    assert BINARY is not None, WHY_ABSENT
    command = [BINARY, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    done = subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


def load(page: str, folder: Path, *, width: int = 1280, height: int = 900) -> Rendered:
    """Load *page* (HTML text) at *width* px; screenshot into folder/page.png."""
    shown, probed = folder / "page.html", folder / "probe.html"
    shown.write_text(page, encoding="utf-8")
    probed.write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    size = f"--window-size={width},{height}"
    dom = _run(size, "--dump-dom", probed.as_uri())
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert title, "the probe wrote no title"
    found: dict[str, Any] = json.loads(html.unescape(title.group(1)))
    screenshot = folder / "page.png"
    _run(size, f"--screenshot={screenshot}", shown.as_uri())
    assert screenshot.stat().st_size > 0
    return Rendered(
        found["text"],
        found["scroll_width"],
        found["client_width"],
        found["pwned"],
        found["scripts"],
        screenshot,
    )
