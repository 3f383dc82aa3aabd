"""Python's cycle collector paused while a bulk step builds many objects at once.

Loading a 200,000-task playbook and planning it allocate millions of small objects
(rendered values, pydantic specs, changes) that all stay alive and hold no reference
cycles. The collector's full passes scan every one of them again and again: about a
third of such a load's time, for no garbage found. Within :func:`paused` it does not
run; reference counting still frees everything as usual, and any cyclic garbage made
meanwhile is collected by the first pass after it. ``adsuite plan`` pauses it for the
whole command: the plan's change records and their JSON summaries are as many again.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
