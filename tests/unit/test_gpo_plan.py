"""GPO diffs as data: declared GPOs + what the directory and SYSVOL hold in, planned
changes out (settings in words), with no server.

Each case in gpo_cases/*.yml has ``tasks``, the facts :mod:`gpo_facts` reads (accounts,
OUs and their links, GPOs and their files), and ``changes`` or ``error``. The changes'
rollback images (``specs``) are compared only in cases that set ``specs: true``.
"""

from __future__ import annotations

from typing import Any

import pytest
from gpo_facts import CASES, NEW_GUID, plan_of
from helpers import load_cases

from adsuite.errors import InputError
from adsuite.resources.gpo import gpo
from adsuite.resources.gpo.image import SPECS


def plan_case(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The changes as journaled; the rollback images only where the case says ``specs``."""
    plan = plan_of(case)
    return [_shown(c.summary(), with_specs=case.get("specs", False)) for c in plan.changes]


def _shown(summary: dict[str, Any], *, with_specs: bool) -> dict[str, Any]:
    out = {k: v for k, v in summary.items() if k != "source"}
    for side in ("before", "after"):
        if out[side] is not None and not with_specs:
            out[side] = {k: v for k, v in out[side].items() if k != SPECS}
    return out


@pytest.mark.parametrize("case", load_cases(CASES))
def test_gpo_plan_case(case: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpo, "new_guid", lambda: NEW_GUID)
    if "error" in case:
        with pytest.raises(InputError) as raised:
            plan_case(case)
        assert case["error"] in str(raised.value)
        return
    assert plan_case(case) == case["changes"]
