"""Specs that set the same fields share one field-name set; what they report is unchanged."""

from __future__ import annotations

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
