"""``file_acl`` in words: ACEs as a person reads them, and plan and drift lines.

An access rule reads ``HQ-Finance-RW: modify``, ``deny GROUP\\bob: delete (this_folder)``;
an audit rule ``Everyone: change_permissions, take_ownership, delete on success and
failure``. The applies-to part is shown only when it is not the default for the rights.
Drift names every ACE added or removed outside adsuite, and whose approval it needed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from adsuite.formats.security_descriptor import Ace, AceType, Control, SecurityDescriptor
from adsuite.resources.base import Action, Change
from adsuite.resources.file_acl import rights
from adsuite.resources.file_acl.data_owner import recorded_owner

log = logging.getLogger(__name__)

Show = Callable[[str], str]  # SID -> the name to show
LIST_KEYS = ("access", "audit", "inherited")
LABELS = {"access": "access", "audit": "audit", "inherited": "inherited"}
EXPLICIT_FLAGS = rights.INHERIT_FLAGS | rights.SUCCESS | rights.FAILURE


def ace_words(ace: Ace, show: Show) -> str:
    """One ACE in words (the form plans, drift and the journal use)."""
    words = rights.mask_words(ace.mask, ace.flags)
    applies = rights.applies_to_name(ace.flags)
    suffix = "" if applies == rights.default_applies_to(words) else f" ({applies})"
    suffix += " (direct children only)" if ace.flags & rights.NP else ""
    text = f"{show(ace.sid)}: {', '.join(words)}"
    if ace.ace_type == AceType.SYSTEM_AUDIT:
        return f"{text} on {' and '.join(rights.audit_on_words(ace.flags))}{suffix}"
    prefix = "deny " if ace.ace_type == AceType.ACCESS_DENIED else ""
    return f"{prefix}{text}{suffix}"


def explicit(aces: Sequence[Ace]) -> list[Ace]:
    """The ACEs set on the folder itself (not inherited): what file_acl manages."""
    return [a for a in aces if not a.is_inherited]


def ace_key(ace: Ace) -> tuple[int, int, int, str]:
    return (ace.ace_type, ace.flags & EXPLICIT_FLAGS, ace.mask, ace.sid)


def same_aces(actual: Sequence[Ace], wanted: Sequence[Ace]) -> bool:
    """The same ACEs, in any order."""
    return sorted(map(ace_key, actual)) == sorted(map(ace_key, wanted))


def view(sd: SecurityDescriptor, show: Show) -> dict[str, Any]:
    """The folder as a person reads it (explicit ACEs only: inherited ones are not managed)."""
    return {
        "owner": show(sd.owner) if sd.owner else None,
        "inherit": not sd.control & Control.SE_DACL_PROTECTED,
        "access": [ace_words(a, show) for a in explicit(sd.dacl.aces if sd.dacl else ())],
        "audit": [ace_words(a, show) for a in explicit(sd.sacl.aces if sd.sacl else ())],
    }


def _who_and_rights(text: str) -> tuple[str, str]:
    who, _, what = text.partition(": ")
    return who, what


def _approval(change: Change) -> str:
    owner = recorded_owner(change)
    return f" — would have needed approval by {owner.words()}" if owner else ""


def _list_diff(change: Change, key: str) -> tuple[list[str], list[str]]:
    before = list((change.before or {}).get(key) or [])
    after = list((change.after or {}).get(key) or [])
    extra = [a for a in before if a not in after]
    missing = [a for a in after if a not in before]
    return extra, missing


def drift_details(change: Change) -> list[str]:
    """Drift in words: what was added or removed outside adsuite, with the approver."""
    before, after = change.before or {}, change.after or {}
    where, approval = change.target, _approval(change)
    below = before.get("below")
    if below:
        return _below_details(change, below, approval)
    lines = []
    expired = after.get("expired_grants") or {}
    for key in ("access", "audit"):
        extra, missing = _list_diff(change, key)
        noun = "audit rule" if key == "audit" else ""
        for text in extra:
            who, what = _who_and_rights(text)
            added = f"{noun} {who}" if noun else who
            if key == "access" and text in expired:
                lines.append(f"{expired[text]}: {who} still has '{what}' on {where}")
                continue
            lines.append(
                f"added outside adsuite: {added.strip()} has '{what}' on {where}{approval}"
            )
        for text in missing:
            who, what = _who_and_rights(text)
            lines.append(
                f"removed outside adsuite: {noun + ' ' if noun else ''}{who} should have "
                f"'{what}' on {where}{approval}"
            )
    return lines + _scalar_lines(before, after, drift=True)


def _below_details(change: Change, below: str, approval: str) -> list[str]:
    """A folder under a ``check_tree`` folder that does not simply inherit from it."""
    before = change.before or {}
    lines = []
    if before.get("inherit") is False:
        lines.append(f"does not inherit from {below} (protected){approval}")
    own = [f"{who} '{what}'" for who, what in map(_who_and_rights, before.get("access") or [])]
    if own:
        lines.append(f"has its own permissions below {below}: {', '.join(own)}{approval}")
    if before.get("inherited"):  # stale inherited ACEs (with none, the line above says it)
        lines.append(f"inherited permissions differ from what {below} passes down{approval}")
    return lines


def plan_lines(change: Change) -> list[str]:
    """The change as plan lines: scalar fields, then ACEs added (+) and removed (-)."""
    before, after = change.before or {}, change.after or {}
    if change.action is Action.CREATE:
        lines = _scalar_lines({}, after, drift=False)
        lines += [f"+ {LABELS[key]} {t}" for key in LIST_KEYS for t in after.get(key) or []]
    else:
        lines = _scalar_lines(before, after, drift=False)
        expired = after.get("expired_grants") or {}
        for key in LIST_KEYS:
            extra, missing = _list_diff(change, key)
            lines += [f"- {LABELS[key]} {t}{_why(expired, t, key)}" for t in extra]
            lines += [f"+ {LABELS[key]} {t}" for t in missing]
    owner = recorded_owner(change)
    if owner is not None:
        lines.append(f"data owner: {owner.department}, approval by {owner.head}")
    return lines


def _why(expired: Mapping[str, str], text: str, key: str) -> str:
    return f" ({expired[text]})" if key == "access" and text in expired else ""


def _scalar_lines(before: Mapping[str, Any], after: Mapping[str, Any], drift: bool) -> list[str]:
    lines = []
    for key in ("owner", "inherit"):
        if key not in after or (drift and before.get("below") and key == "inherit"):
            continue
        old, new = _scalar(key, before.get(key)), _scalar(key, after[key])
        if drift:
            lines.append(f"{key} is {old}, want {new}")
        else:
            lines.append(f"{key}: {new}" if not before else f"{key}: {old} → {new}")
    return lines


def _scalar(key: str, value: Any) -> str:
    if key == "inherit" and isinstance(value, bool):
        return "inherits from its parent" if value else "protected (does not inherit)"
    return "(none)" if value is None else f'"{value}"'
