"""GPO diffs as data: declared GPOs + what the directory and SYSVOL hold in, planned
changes out (settings in words), with no server.

Each case in gpo_cases/*.yml has ``tasks``, the facts :mod:`gpo_facts` reads (accounts,
OUs and their links, GPOs and their files), and ``changes`` or ``error``.
"""

from __future__ import annotations

from typing import Any

import pytest
from gpo_facts import NEW_GUID, load_cases, plan_of

from adsuite.errors import InputError
from adsuite.resources import gpo


def plan_case(case: dict[str, Any]) -> list[dict[str, Any]]:
    plan = plan_of(case)
    return [{k: v for k, v in c.summary().items() if k != "source"} for c in plan.changes]


@pytest.mark.parametrize("case", load_cases())
def test_gpo_plan_case(case: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpo, "new_guid", lambda: NEW_GUID)
    if "error" in case:
        with pytest.raises(InputError) as raised:
            plan_case(case)
        assert case["error"] in str(raised.value)
        return
    assert plan_case(case) == case["changes"]
