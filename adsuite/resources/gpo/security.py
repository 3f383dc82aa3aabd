"""The security half of a GPO: GptTmpl.inf (security settings and Restricted Groups) and
audit.csv (advanced audit policy), declared settings against the files.

GptTmpl.inf sections are managed key by key: a declared key is rewritten only when its
value differs in meaning (``MinimumPasswordLength=8`` and ``MinimumPasswordLength = 8``
are the same), every other line is kept as it is, so a template Windows wrote keeps its
own keys. ``[Group Membership]`` is exact when ``restricted_groups`` is given, and
audit.csv when ``audit`` is: both are one unit on the client. Principals are written as
``*SID``; a group this run creates is written by name in the plan and by SID at apply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from adsuite.errors import InputError
from adsuite.formats import audit_csv, gpttmpl_sections
from adsuite.formats.gpttmpl_inf import (
    EVENT_AUDIT,
    GROUP_MEMBERSHIP,
    PRIVILEGE_RIGHTS,
    REGISTRY_VALUES,
    SYSTEM_ACCESS,
    GptTmpl,
    GroupMembership,
    InfSection,
    RegistryValue,
    assemble,
    parse_gpttmpl,
    registry_value_from_text,
    serialize_gpttmpl,
)
from adsuite.resources.file_acl import principals
from adsuite.resources.gpo import services
from adsuite.resources.gpo.admin_templates import NOT_SET, Diff
from adsuite.resources.gpo.spec import (
    AUDIT_WORDS,
    FORCE_SUBCATEGORIES,
    MachineHalf,
    RestrictedGroup,
)

log = logging.getLogger(__name__)

FORCE_LABEL = "Machine: force audit policy subcategory settings"
SidOf = Callable[[str], str]  # a principal as written in the template: *SID, or a name
_PREAMBLE = ("unicode", "version")
T = TypeVar("T")
_AUDIT_TEXT = {0: "no auditing", 1: "success", 2: "failure", 3: "success and failure", 4: "none"}


def principal_text(name: str, sids: Mapping[str, str]) -> str:
    """``*S-1-5-32-544`` for a well-known name or SID, ``*SID`` for a known account, else
    the account name itself (a group this run creates, replaced by its SID at apply)."""
    fixed = principals.fixed_sid(name)
    if fixed is not None:
        return "*" + fixed
    account = principals.account_name(name)
    sid = sids.get(account.lower())
    return "*" + sid if sid else account


def principal_words(text: str, names: Mapping[str, str]) -> str:
    if not text.startswith("*"):
        return text
    sid = text[1:].upper()
    return principals.DISPLAY.get(sid) or names.get(sid) or sid


def _same_value(section: str, a: str, b: str) -> bool:
    if section == REGISTRY_VALUES:
        kind_a, _, data_a = a.partition(",")
        kind_b, _, data_b = b.partition(",")
        if not (kind_a.strip().isdigit() and kind_b.strip().isdigit()):
            return a.strip() == b.strip()
        first = registry_value_from_text(int(kind_a), data_a)
        return first == registry_value_from_text(int(kind_b), data_b)
    if section == PRIVILEGE_RIGHTS:
        return _folded(a) == _folded(b)
    return a.strip().strip('"').casefold() == b.strip().strip('"').casefold()


def _folded(text: str) -> set[str]:
    return {p.strip().casefold() for p in text.split(",") if p.strip()}


def _merge(current: InfSection | None, declared: InfSection) -> InfSection:
    """*current* with each declared key set to its declared value unless equal in meaning."""
    wanted = {
        k.casefold(): (k, v, line)
        for (k, v), line in zip(declared.pairs(), declared.lines, strict=True)
    }
    lines = []
    for line in current.lines if current else ():
        key, _, value = line.partition("=")
        match = wanted.pop(key.strip().casefold(), None)
        keep = match is None or _same_value(declared.name, value, match[1])
        lines.append(line if keep or match is None else match[2])
    lines += [line for _, _, line in wanted.values()]
    return InfSection(current.name if current else declared.name, tuple(lines))


def _declared_sections(machine: MachineHalf, sid_of: SidOf) -> list[InfSection]:
    security = machine.security
    out = []
    access: dict[str, int | bool | str] = _present(security.system_access) if security else {}
    if access:
        out.append(gpttmpl_sections.system_access_section(access))
    audit = _present(security.event_audit) if security else {}
    if audit:
        out.append(gpttmpl_sections.event_audit_section(audit))
    rights = _present(security.privilege_rights) if security else {}
    if rights:
        held = {r: [sid_of(p) for p in who] for r, who in rights.items()}
        out.append(gpttmpl_sections.privilege_rights_section(held))
    values = (
        {k: v.value() for k, v in _present(security.registry_values).items()} if security else {}
    )
    if machine.force_audit_subcategories is not None:
        values[FORCE_SUBCATEGORIES] = RegistryValue(4, int(machine.force_audit_subcategories))
    if values:
        out.append(gpttmpl_sections.registry_values_section(values))
    for section, settings in security.event_logs().items() if security else ():
        if _present(settings):
            out.append(gpttmpl_sections.event_log_section(section, _present(settings)))
    return out


def _present(settings: Mapping[str, T | None] | None) -> dict[str, T]:
    return {k: v for k, v in (settings or {}).items() if v is not None}


def not_set(machine: MachineHalf) -> dict[str, list[str]]:
    """The keys declared ``null``, by section: they are taken out of the template."""
    security = machine.security
    if security is None:
        return {}
    sections = (
        (SYSTEM_ACCESS, security.system_access),
        (EVENT_AUDIT, security.event_audit),
        (PRIVILEGE_RIGHTS, security.privilege_rights),
        (REGISTRY_VALUES, security.registry_values),
        *security.event_logs().items(),
    )
    out = {name: [k for k, v in (given or {}).items() if v is None] for name, given in sections}
    return {name: keys for name, keys in out.items() if keys}


def _without(template: GptTmpl, removed: Mapping[str, Sequence[str]]) -> GptTmpl:
    for name, keys in removed.items():
        section = template.section(name)
        if section is None:
            continue
        folded = {k.casefold() for k in keys}
        lines = tuple(
            x for x in section.lines if x.partition("=")[0].strip().casefold() not in folded
        )
        if lines == section.lines:
            continue
        section = InfSection(section.name, lines)
        template = template.with_section(section) if lines else template.without_section(name)
    return template


def _groups(declared: Sequence[RestrictedGroup], sid_of: SidOf) -> dict[str, GroupMembership]:
    return {
        sid_of(g.group): GroupMembership(
            None if g.members is None else tuple(sid_of(m) for m in g.members),
            None if g.memberof is None else tuple(sid_of(m) for m in g.memberof),
        )
        for g in declared
    }


def _membership_key(groups: Mapping[str, GroupMembership]) -> dict[str, tuple[object, object]]:
    def fold(values: tuple[str, ...] | None) -> object:
        return None if values is None else frozenset(v.casefold() for v in values)

    return {k.casefold(): (fold(m.members), fold(m.memberof)) for k, m in groups.items()}


def render_template(current: GptTmpl | None, machine: MachineHalf, sid_of: SidOf) -> GptTmpl:
    """The template with the declared settings in: pure, from the current one (or none)."""
    template = current or assemble(())
    for declared in _declared_sections(machine, sid_of):
        template = template.with_section(_merge(template.section(declared.name), declared))
    template = _without(template, not_set(machine))
    template = services.render(template, machine.security.services if machine.security else None)
    if machine.restricted_groups is not None:
        groups = _groups(machine.restricted_groups, sid_of)
        have = template.group_membership if template.section(GROUP_MEMBERSHIP) else {}
        if _membership_key(have) != _membership_key(groups):
            section = gpttmpl_sections.group_membership_section(groups)
            template = template.without_section(GROUP_MEMBERSHIP)
            template = template.with_section(section) if section.lines else template
    return template


def manages_template(machine: MachineHalf | None) -> bool:
    if machine is None:
        return False
    return bool(
        machine.security
        or machine.restricted_groups is not None
        or machine.force_audit_subcategories is not None
    )


def has_settings(template: GptTmpl | None) -> bool:
    """True if the template holds any section beyond [Unicode] and [Version]."""
    return template is not None and any(
        s.name.casefold() not in _PREAMBLE and s.lines for s in template.sections
    )


def read_template(data: bytes | None, where: str) -> GptTmpl | None:
    if data is None:
        return None
    try:
        return parse_gpttmpl(data, source=where)
    except InputError as error:
        log.warning("unreadable %s: %s", where, error)
        return assemble(())


def word_template(
    diff: Diff, have: GptTmpl | None, want: GptTmpl, machine: MachineHalf, names: Mapping[str, str]
) -> None:
    """The declared keys and groups whose values differ, in words."""
    for section in _declared_sections(machine, lambda p: p):
        old = have.section(section.name) if have else None
        new = want.section(section.name)
        current = old.mapping() if old else {}
        folded = {k.casefold(): v for k, v in current.items()}
        target = new.mapping() if new else {}
        wanted = {k.casefold(): v for k, v in target.items()}
        for key, _ in section.pairs():
            was, will = folded.get(key.casefold()), wanted.get(key.casefold(), "")
            if was is not None and _same_value(section.name, was, will):
                continue
            label, show = _label(section.name, key, names)
            diff.differs(label, NOT_SET if was is None else show(was), show(will))
    for name, keys in not_set(machine).items():
        old = have.section(name) if have else None
        folded = {k.casefold(): v for k, v in (old.mapping() if old else {}).items()}
        for key in keys:
            if key.casefold() in folded:
                label, show = _label(name, key, names)
                diff.differs(label, show(folded[key.casefold()]), NOT_SET)
    if machine.security and machine.security.services:
        services.word(diff, have, machine.security.services)
    if machine.restricted_groups is not None:
        _word_groups(diff, have, want, names)


def _label(section: str, key: str, names: Mapping[str, str]) -> tuple[str, Callable[[str], str]]:
    if key.casefold() == FORCE_SUBCATEGORIES.casefold():
        return FORCE_LABEL, _force_words
    return f"Machine: {key}", _value_words(section, names)


def _value_words(section: str, names: Mapping[str, str]) -> Callable[[str], str]:
    def show(text: str) -> str:
        if section == PRIVILEGE_RIGHTS:
            listed = [principal_words(p.strip(), names) for p in text.split(",") if p.strip()]
            return ", ".join(listed) or "(nobody)"
        return text.strip().strip('"')

    return show


def _force_words(text: str) -> str:
    return "on" if text.strip().endswith(",1") else "off"


def _word_groups(diff: Diff, have: GptTmpl | None, want: GptTmpl, names: Mapping[str, str]) -> None:
    old = have.group_membership if have and have.section(GROUP_MEMBERSHIP) else {}
    new = want.group_membership if want.section(GROUP_MEMBERSHIP) else {}
    old_by = {k.casefold(): m for k, m in old.items()}
    shown = {k.casefold(): k for k in (*old, *new)}
    for key in dict.fromkeys([*(k.casefold() for k in new), *old_by]):
        was, will = old_by.get(key), {k.casefold(): m for k, m in new.items()}.get(key)
        group = principal_words(shown[key], names)
        for half, title in (("members", "members"), ("memberof", "member of")):
            a = getattr(was, half) if was else None
            b = getattr(will, half) if will else None
            if _fold(a) != _fold(b):
                label = f"Machine: restricted group {group} {title}"
                diff.differs(label, _list_words(a, names), _list_words(b, names))


def _fold(values: tuple[str, ...] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(v.casefold() for v in values)


def _list_words(values: tuple[str, ...] | None, names: Mapping[str, str]) -> str:
    if values is None:
        return NOT_SET
    return ", ".join(principal_words(v, names) for v in values) or "(nobody)"


def plan_template(
    diff: Diff,
    path: str,
    machine: MachineHalf,
    current: bytes | None,
    sid_of: SidOf,
    names: Mapping[str, str],
) -> GptTmpl:
    """Word the template's differences; queue the file if it changes. Returns the new one."""
    have = read_template(current, path)
    want = render_template(have, machine, sid_of)
    word_template(diff, have, want, machine, names)
    data = serialize_gpttmpl(want)
    if data != current:
        diff.files[path] = data
    return want


def audit_words(setting: int | None) -> str:
    return "none" if setting is None else _AUDIT_TEXT.get(int(setting), str(setting))


def plan_audit(diff: Diff, path: str, declared: Mapping[str, str], current: bytes | None) -> bool:
    """Word the advanced audit policy's differences; queue audit.csv. True if it has rows."""
    try:
        have = audit_csv.parse_audit_csv(current, source=path) if current else None
        found = have.subcategory_settings() if have else {}
        options = have.options() if have else {}
    except InputError as error:
        log.warning("unreadable %s: %s", path, error)
        have, found, options = None, {}, {}
    wanted = {audit_csv.subcategory(k).guid: AUDIT_WORDS[v] for k, v in declared.items()}
    names = {s.guid: s.name.removeprefix("Audit ") for s in audit_csv.SUBCATEGORIES.values()}
    for guid in dict.fromkeys([*wanted, *found]):
        label = f"Machine: audit {names.get(guid, guid)}"
        diff.differs(label, audit_words(found.get(guid)), audit_words(wanted.get(guid)))
    if found != wanted or (have is None and wanted):
        rows = audit_csv.build_audit_csv(wanted, options=options)
        diff.files[path] = audit_csv.serialize_audit_csv(rows) if rows.rows else None
    return bool(wanted or options)
