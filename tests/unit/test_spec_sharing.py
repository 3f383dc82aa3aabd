"""Specs that set the same fields share one field-name set; what they report is unchanged."""

from __future__ import annotations

import pytest

from adsuite.engine import spec_sharing
from adsuite.engine.spec_sharing import FieldSets
from adsuite.resources.accounts import user


def test_equal_field_sets_are_one_object_and_dumps_are_unchanged() -> None:
    sets = FieldSets()
    docs = [{"name": f"u{n}", "ou": "HQ", "enabled": False} for n in range(3)]
    alone = [user.Spec.model_validate(doc) for doc in docs]
    shared = [sets.share(user.Spec.model_validate(doc)) for doc in docs]
    assert len({id(spec.model_fields_set) for spec in shared}) == 1
    assert [s.model_dump(exclude_unset=True) for s in shared] == docs
    assert shared == alone


def test_different_field_sets_stay_apart() -> None:
    sets = FieldSets()
    one = sets.share(user.Spec.model_validate({"name": "a", "ou": "HQ"}))
    two = sets.share(user.Spec.model_validate({"name": "b", "ou": "HQ", "surname": "B"}))
    assert one.model_fields_set == {"name", "ou"}
    assert two.model_fields_set == {"name", "ou", "surname"}


def test_equal_strings_of_nearby_specs_become_one_string_with_values_unchanged() -> None:
    sets = FieldSets()
    docs = [{"name": f"u{n}", "ou": "".join(["HQ/", "Users"]), "enabled": False} for n in range(3)]
    assert docs[0]["ou"] is not docs[1]["ou"]  # as rendered: one string each
    shared = [sets.share(user.Spec.model_validate(doc)) for doc in docs]
    assert shared[0].ou is shared[1].ou is shared[2].ou
    assert [s.model_dump(exclude_unset=True) for s in shared] == docs


def test_the_strings_remembered_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spec_sharing, "MAX_STRINGS", 4)
    sets = FieldSets()
    for n in range(20):
        sets.share(user.Spec.model_validate({"name": f"u{n}", "ou": f"HQ/U{n}"}))
        assert len(sets._strings) <= 5 + 2  # a spec adds its strings after the check


def test_loop_indexes_are_one_object_each_and_unchanged() -> None:
    sets = FieldSets()
    first = [sets.share_index(int(str(n + 1000))) for n in range(3)]
    again = [sets.share_index(int(str(n + 1000))) for n in range(3)]
    assert first == again == [1000, 1001, 1002]
    assert all(a is b for a, b in zip(first, again, strict=True))
    assert sets.share_index(None) is None
