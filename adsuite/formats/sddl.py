"""SDDL text <-> :class:`SecurityDescriptor` (MS-DTYP 2.5.1, the SDDL grammar).

``to_sddl`` writes what Windows writes: sections in O, G, D, S order; ACL flags as
``P``, ``AR``, ``AI``; ACE flags and rights letters in ascending bit order (so AD full
control is ``CCDCLCSWRPWPDTLOCRSDRCWDWO``); a mask that is exactly FILE_ALL_ACCESS,
FILE_GENERIC_READ, _WRITE or _EXECUTE as ``FA``/``FR``/``FW``/``FX``; any other mask
that the two-letter rights cannot spell as lower-case hex (``0x1301bf``); SIDs as their
alias where one exists for the given domain, else ``S-1-...``.

``from_sddl`` accepts that and more: sections in any order, rights as letters, hex,
octal or decimal, ``KA``/``KR``/``KW``/``KX``, lower-case GUIDs or upper-case, and
whitespace between sections and between ACEs. It builds what Samba builds: control
SE_SELF_RELATIVE plus the present bits and ACL flags, ACL revision 4 (ACL_REVISION_DS)
for every ACL (Windows uses 2 when an ACL holds no object ACE).

What SDDL cannot carry, so what ``from_sddl(to_sddl(sd))`` loses: the control bits
SE_OWNER_DEFAULTED, SE_GROUP_DEFAULTED, SE_DACL_DEFAULTED, SE_SACL_DEFAULTED,
SE_DACL_TRUSTED, SE_SERVER_SECURITY and SE_RM_CONTROL_VALID, and the ACL revision.
Not supported (``InputError``): conditional and resource-attribute ACEs (XA, XD, XU,
ZA, RA), mandatory-label ACEs (ML), ACEs with application data, and ACE flag bits
with no SDDL letters. Bad SDDL raises ``InputError`` naming the 1-based column and the
offending token. Samba 4.17 is the test oracle; where its text differs from ours (rights
letter order, hex width, FA, NULL DACL) ``tests/unit/test_sddl.py`` says how and why.
"""

from __future__ import annotations

import logging
import re
import uuid

from adsuite.errors import InputError
from adsuite.formats.security_descriptor import (
    ACL_REVISION_DS,
    AUDIT_ACE_TYPES,
    OBJECT_ACE_TYPES,
    AccessMask,
    Ace,
    AceFlags,
    AceType,
    Acl,
    Control,
    SecurityDescriptor,
)
from adsuite.formats.sid import alias_to_sid, normalize_sid, sid_to_alias

log = logging.getLogger(__name__)

ACE_TYPE_CODES: dict[str, int] = {
    "A": AceType.ACCESS_ALLOWED,
    "D": AceType.ACCESS_DENIED,
    "OA": AceType.ACCESS_ALLOWED_OBJECT,
    "OD": AceType.ACCESS_DENIED_OBJECT,
    "AU": AceType.SYSTEM_AUDIT,
    "AL": AceType.SYSTEM_ALARM,
    "OU": AceType.SYSTEM_AUDIT_OBJECT,
    "OL": AceType.SYSTEM_ALARM_OBJECT,
}
_UNSUPPORTED_ACE_TYPES = frozenset({"XA", "XD", "XU", "ZA", "RA", "ML", "SP"})
ACE_FLAG_CODES: tuple[tuple[str, int], ...] = tuple(
    (name, int(AceFlags[name])) for name in ["OI", "CI", "NP", "IO", "ID", "SA", "FA"]
)
"""ACE flag letters, in ascending bit order."""
_RIGHT_LETTERS = "CC DC LC SW RP WP DT LO CR SD RC WD WO GA GX GW GR"
RIGHT_CODES: tuple[tuple[str, int], ...] = tuple(
    (name, int(AccessMask[name])) for name in _RIGHT_LETTERS.split()
)
"""Single-bit rights letters, in the ascending bit order Windows writes them."""
WHOLE_MASK_CODES: tuple[tuple[str, int], ...] = tuple(
    (name, int(AccessMask[name])) for name in ["FA", "FR", "FW", "FX", "KA", "KR", "KW", "KX"]
)
"""Multi-bit rights letters; only FA, FR, FW and FX are written, for exact matches."""
_WRITTEN_WHOLE_MASKS = {value: name for name, value in WHOLE_MASK_CODES[:4]}
_LETTER_BITS = sum(value for _, value in RIGHT_CODES)
_DACL_FLAGS = (
    ("P", Control.SE_DACL_PROTECTED),
    ("AR", Control.SE_DACL_AUTO_INHERIT_REQ),
    ("AI", Control.SE_DACL_AUTO_INHERITED),
)
_SACL_FLAGS = (
    ("P", Control.SE_SACL_PROTECTED),
    ("AR", Control.SE_SACL_AUTO_INHERIT_REQ),
    ("AI", Control.SE_SACL_AUTO_INHERITED),
)
NULL_ACL = "NO_ACCESS_CONTROL"
_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\Z")
_SID_AT = re.compile(r"[sS]-1-(?:0[xX][0-9A-Fa-f]{1,12}(?!:)|\d+)(?:-\d+)*")
_ALIAS_AT = re.compile(r"[A-Z]{2}")
_SECTION_END = re.compile(r"\s|[OGDS]:|\Z")
_TYPE_NAMES = {value: name for name, value in ACE_TYPE_CODES.items()}
_RIGHT_LOOKUP = dict(RIGHT_CODES + WHOLE_MASK_CODES)
_FLAG_LOOKUP = dict(ACE_FLAG_CODES)
_NUMBER = re.compile(r"0[xX][0-9A-Fa-f]+\Z|0[0-7]*\Z|[1-9][0-9]*\Z")


def rights_to_sddl(mask: int) -> str:
    """Spell an access mask as SDDL rights: letters, FA/FR/FW/FX, or hex."""
    if mask & ~_LETTER_BITS == 0:
        return "".join(name for name, bit in RIGHT_CODES if mask & bit)
    if mask in _WRITTEN_WHOLE_MASKS:
        return _WRITTEN_WHOLE_MASKS[mask]
    return f"{mask:#x}"


def rights_from_sddl(text: str) -> int:
    """Read SDDL rights (``RPWPCR``, ``FA``, ``0x1301bf``) as an access mask."""
    return _Parser(text).rights(text, 0)


def to_sddl(
    sd: SecurityDescriptor, domain_sid: str | None = None, *, root_domain_sid: str | None = None
) -> str:
    """Write ``sd`` as SDDL, using the aliases of ``domain_sid`` where they apply."""
    domains = (domain_sid, root_domain_sid)
    parts = []
    if sd.owner is not None:
        parts.append("O:" + _sid_text(sd.owner, domains))
    if sd.group is not None:
        parts.append("G:" + _sid_text(sd.group, domains))
    parts.append(_acl_text("D", sd.dacl, sd.control, Control.SE_DACL_PRESENT, _DACL_FLAGS, domains))
    parts.append(_acl_text("S", sd.sacl, sd.control, Control.SE_SACL_PRESENT, _SACL_FLAGS, domains))
    return "".join(parts)


def _sid_text(sid: str, domains: tuple[str | None, str | None]) -> str:
    return sid_to_alias(sid, *domains) or sid


def _acl_text(
    letter: str,
    acl: Acl | None,
    control: int,
    present: int,
    flag_codes: tuple[tuple[str, int], ...],
    domains: tuple[str | None, str | None],
) -> str:
    if acl is None and not control & present:
        return ""
    flags = "".join(name for name, bit in flag_codes if control & bit)
    if acl is None:
        return f"{letter}:{flags}{NULL_ACL}"
    return f"{letter}:{flags}" + "".join(f"({_ace_text(ace, domains)})" for ace in acl.aces)


def _ace_text(ace: Ace, domains: tuple[str | None, str | None]) -> str:
    code = _TYPE_NAMES.get(ace.ace_type)
    if code is None:
        raise InputError(f"ACE type {ace.ace_type:#x} for {ace.sid} has no supported SDDL form")
    if ace.application_data:
        raise InputError(f"ACE for {ace.sid} carries application data SDDL cannot show")
    flags = "".join(name for name, bit in ACE_FLAG_CODES if ace.flags & bit)
    if ace.flags & ~sum(bit for _, bit in ACE_FLAG_CODES):
        raise InputError(f"ACE flags {ace.flags:#x} for {ace.sid} have no SDDL letters")
    object_type = "" if ace.object_type is None else str(ace.object_type)
    inherited = "" if ace.inherited_object_type is None else str(ace.inherited_object_type)
    fields = (code, flags, rights_to_sddl(ace.mask), object_type, inherited)
    return ";".join((*fields, _sid_text(ace.sid, domains)))


def from_sddl(
    text: str, domain_sid: str | None = None, *, root_domain_sid: str | None = None
) -> SecurityDescriptor:
    """Build a security descriptor from SDDL; bad text raises InputError with its column."""
    return _Parser(text, domain_sid, root_domain_sid).descriptor()


class _Parser:
    """A cursor over one SDDL string; every error names its column and token."""

    def __init__(
        self, text: str, domain_sid: str | None = None, root_domain_sid: str | None = None
    ) -> None:
        self.text = text
        self.pos = 0
        self.domains = (domain_sid, root_domain_sid)

    def fail(self, at: int, problem: str, token: str | None = None) -> InputError:
        if token is None:
            token = re.split(r"[\s();:]", self.text[at:], maxsplit=1)[0] or self.text[at : at + 1]
        return InputError(f"bad SDDL at column {at + 1}, {token!r}: {problem}")

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def descriptor(self) -> SecurityDescriptor:
        owner: str | None = None
        group: str | None = None
        dacl: Acl | None = None
        sacl: Acl | None = None
        control, bits, seen = int(Control.SE_SELF_RELATIVE), 0, set()
        self.skip_space()
        while self.pos < len(self.text):
            start, section = self.pos, self.text[self.pos : self.pos + 2]
            if section not in ("O:", "G:", "D:", "S:"):
                raise self.fail(start, "expected O:, G:, D: or S:")
            if section in seen:
                raise self.fail(start, "section given twice", section)
            seen.add(section)
            self.pos += 2
            if section == "O:":
                owner = self.section_sid()
            elif section == "G:":
                group = self.section_sid()
            elif section == "D:":
                dacl, bits = self.acl(is_sacl=False)
            else:
                sacl, bits = self.acl(is_sacl=True)
            control |= bits
            self.skip_space()
        return SecurityDescriptor(1, control, owner, group, dacl, sacl)

    def section_sid(self) -> str:
        start = self.pos
        match = _SID_AT.match(self.text, start) or _ALIAS_AT.match(self.text, start)
        if match is None or not _SECTION_END.match(self.text, match.end()):
            raise self.fail(start, "bad SID")
        self.pos = match.end()
        return self.sid(match.group(), start)

    def sid(self, token: str, at: int) -> str:
        try:
            if _ALIAS_AT.fullmatch(token):
                return alias_to_sid(token, *self.domains)
            if _SID_AT.fullmatch(token):
                return normalize_sid(token)
        except InputError as error:
            raise self.fail(at, error.message, token) from None
        raise self.fail(at, "bad SID", token)

    def acl(self, is_sacl: bool) -> tuple[Acl | None, int]:
        bits = int(Control.SE_SACL_PRESENT if is_sacl else Control.SE_DACL_PRESENT)
        flag_codes = _SACL_FLAGS if is_sacl else _DACL_FLAGS
        while True:
            code = next((c for c, _ in flag_codes if self.text.startswith(c, self.pos)), None)
            if code is None:
                break
            bits |= dict(flag_codes)[code]
            self.pos += len(code)
        if self.text.startswith(NULL_ACL, self.pos):
            self.pos += len(NULL_ACL)
            self.expect_section_end()
            return None, bits
        aces: list[Ace] = []
        self.skip_space()
        while self.text.startswith("(", self.pos):
            aces.append(self.ace(is_sacl))
            self.skip_space()
        self.expect_section_end()
        return Acl(ACL_REVISION_DS, tuple(aces)), bits

    def expect_section_end(self) -> None:
        if not _SECTION_END.match(self.text, self.pos):
            raise self.fail(self.pos, "unexpected text after ACL flags or ACEs")

    def ace(self, is_sacl: bool) -> Ace:
        start = self.pos
        close = self.text.find(")", start)
        if close < 0:
            raise self.fail(start, "ACE has no closing ')'", self.text[start : start + 40])
        fields = self.text[start + 1 : close].split(";")
        ace_type = self.ace_type(fields[0], start + 1, is_sacl)
        if len(fields) != 6:
            problem = f"an ACE has 6 ';'-separated fields, this one {len(fields)}"
            raise self.fail(start, problem, self.text[start : close + 1])
        at = [start + 1]
        for field in fields[:-1]:
            at.append(at[-1] + len(field) + 1)
        guids = [self.guid(fields[i], at[i], ace_type) for i in (3, 4)]
        self.pos = close + 1
        return Ace(
            ace_type=ace_type,
            flags=self.ace_flags(fields[1], at[1]),
            mask=self.rights(fields[2], at[2]),
            sid=self.sid(fields[5], at[5]),
            object_type=guids[0],
            inherited_object_type=guids[1],
        )

    def ace_type(self, code: str, at: int, is_sacl: bool) -> int:
        if code in _UNSUPPORTED_ACE_TYPES:
            raise self.fail(at, "ACE type not supported", code)
        if code not in ACE_TYPE_CODES:
            raise self.fail(at, "unknown ACE type", code)
        ace_type = ACE_TYPE_CODES[code]
        if is_sacl != (ace_type in AUDIT_ACE_TYPES):
            raise self.fail(at, f"ACE type not allowed in a {'SACL' if is_sacl else 'DACL'}", code)
        return ace_type

    def ace_flags(self, text: str, at: int) -> int:
        flags = 0
        for i in range(0, len(text), 2):
            token = text[i : i + 2]
            if token not in _FLAG_LOOKUP:
                raise self.fail(at + i, "unknown ACE flag", token)
            flags |= _FLAG_LOOKUP[token]
        return flags

    def rights(self, text: str, at: int) -> int:
        if text[:1].isdigit():
            return self.number(text, at)
        mask = 0
        for i in range(0, len(text), 2):
            token = text[i : i + 2]
            if token not in _RIGHT_LOOKUP:
                raise self.fail(at + i, "unknown access right", token)
            mask |= _RIGHT_LOOKUP[token]
        return mask

    def number(self, text: str, at: int) -> int:
        if _NUMBER.match(text):
            if text[:2] in ("0x", "0X"):
                value = int(text[2:], 16)
            else:
                value = int(text, 8 if text.startswith("0") else 10)
            if value <= 0xFFFFFFFF:
                return value
        raise self.fail(at, "bad numeric access mask", text)

    def guid(self, text: str, at: int, ace_type: int) -> uuid.UUID | None:
        if not text:
            return None
        if not _GUID.match(text):
            raise self.fail(at, "bad GUID", text)
        if ace_type not in OBJECT_ACE_TYPES:
            raise self.fail(at, "GUID on an ACE type that is not an object type", text)
        return uuid.UUID(text)
