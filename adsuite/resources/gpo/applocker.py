"""AppLocker rules of a GPO's machine half (application control: only work applications).

    machine:
      applocker:
        exe:
          mode: enforce                 # enforce or audit
          defaults: true                # Program Files and Windows for everyone, all for admins
          allow:
            - {publisher: "O=MICROSOFT CORPORATION, L=REDMOND, S=WASHINGTON, C=US"}
            - {path: "%OSDRIVE%\\Tools\\*", user: Everyone, name: Company tools}

AppLocker, not Software Restriction Policies: SRP is no longer developed for Windows 10/11,
AppLocker has publisher rules, audit mode and per-user rules. Its policy in a GPO is the
machine Registry.pol under ``Software\\Policies\\Microsoft\\Windows\\SrpV2\\<Collection>``:
``EnforcementMode`` (DWORD 1 enforce, 0 audit only), ``AllowWindows`` (DWORD 0) and one key
per rule, named by the rule's Id, whose ``Value`` (REG_SZ) is the rule's XML. A rule's Id is
a UUID derived from what the rule says (uuid5), so the same rule always has the same key and
drift is per rule. The Application Identity service (AppIDSvc) must run on the clients for
AppLocker to enforce anything; see docs/applocker.md.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Literal
from xml.etree import ElementTree

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

log = logging.getLogger(__name__)

ROOT = "Software\\Policies\\Microsoft\\Windows\\SrpV2"
COLLECTIONS = {"exe": "Exe", "msi": "Msi", "script": "Script", "dll": "Dll", "appx": "Appx"}
MODES = {"enforce": 1, "audit": 0}
RULE_VALUE = "Value"
_NAMESPACE = uuid.UUID("6d1c2f0e-5a8b-4a43-9d7e-0a9f3b1e7c21")  # adsuite's AppLocker rule ids
EVERYONE, ADMINISTRATORS = "S-1-1-0", "S-1-5-32-544"
WELL_KNOWN = {
    "everyone": EVERYONE,
    "administrators": ADMINISTRATORS,
    "builtin\\administrators": ADMINISTRATORS,
    "users": "S-1-5-32-545",
    "builtin\\users": "S-1-5-32-545",
    "authenticated users": "S-1-5-11",
}
SID_WORDS = {EVERYONE: "Everyone", ADMINISTRATORS: "Administrators", "S-1-5-32-545": "Users"}
# Where each collection's files live, as the AppLocker default rules allow them.
_DEFAULT_PATHS = {
    "exe": ("%PROGRAMFILES%\\*", "%WINDIR%\\*"),
    "script": ("%PROGRAMFILES%\\*", "%WINDIR%\\*"),
    "dll": ("%PROGRAMFILES%\\*", "%WINDIR%\\*"),
    "msi": ("%WINDIR%\\Installer\\*",),
    "appx": (),
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Rule(_Model):
    """One allow (or deny) rule: a publisher condition or a path condition."""

    publisher: str | None = None  # the signer's subject, e.g. "O=MICROSOFT CORPORATION, ..."
    product: str = "*"
    binary: str = "*"
    path: str | None = None  # %PROGRAMFILES%\\*, %WINDIR%\\*, %OSDRIVE%\\..., or *
    user: str = EVERYONE  # a SID, or Everyone, Administrators, Users, Authenticated Users
    name: str | None = None
    action: Literal["allow", "deny"] = "allow"

    @field_validator("user")
    @classmethod
    def _user(cls, value: str) -> str:
        sid = WELL_KNOWN.get(value.strip().casefold(), value.strip())
        if not sid.upper().startswith("S-1-"):
            raise ValueError(
                f"AppLocker user {value!r}: give a SID or one of "
                "Everyone, Administrators, Users, Authenticated Users"
            )
        return sid.upper()

    @model_validator(mode="after")
    def _one_condition(self) -> Rule:
        if (self.publisher is None) == (self.path is None):
            raise ValueError("an AppLocker rule needs exactly one of publisher or path")
        for text in (self.publisher, self.path, self.product, self.binary, self.name):
            if text is not None and (not text.strip() or any(c in text for c in "\0\r\n")):
                raise ValueError(f"AppLocker rule text {text!r} is empty or holds a line break")
        return self

    def words(self) -> str:
        """``allow Everyone path %WINDIR%\\*`` — what the rule says, for plans and drift."""
        who = SID_WORDS.get(self.user, self.user)
        if self.path is not None:
            return f"{self.action} {who} path {self.path}"
        return f"{self.action} {who} publisher {self.publisher} ({self.product}, {self.binary})"


class Collection(_Model):
    mode: Literal["enforce", "audit"] = "enforce"
    defaults: bool = True  # the default rules keep a workstation usable
    allow: list[Rule] = []  # rules; a rule's own ``action`` may say deny


class AppLocker(_Model):
    exe: Collection | None = None
    msi: Collection | None = None
    script: Collection | None = None
    dll: Collection | None = None
    appx: Collection | None = None

    def collections(self) -> Iterator[tuple[str, Collection]]:
        for name in COLLECTIONS:
            given: Collection | None = getattr(self, name)
            if given is not None:
                yield name, given

    def entries(self) -> list[tuple[str, str, str, int | str]]:
        """The Registry.pol values (key, value, type, data) this policy is written as."""
        out: list[tuple[str, str, str, int | str]] = []
        for name, collection in self.collections():
            key = f"{ROOT}\\{COLLECTIONS[name]}"
            out.append((key, "EnforcementMode", "dword", MODES[collection.mode]))
            out.append((key, "AllowWindows", "dword", 0))
            for rule in rules(name, collection):
                out.append(
                    (f"{key}\\{rule_id(name, rule)}", RULE_VALUE, "sz", rule_xml(name, rule))
                )
        return out


def default_rules(collection: str) -> list[Rule]:
    """AppLocker's default rules: its folders for everyone, everything for administrators
    (packaged apps: every signed package)."""
    if collection == "appx":
        return [Rule(publisher="*", name="(Default Rule) All signed packaged apps")]
    out = [
        Rule(path=p, name=f"(Default Rule) All files located in {p}")
        for p in _DEFAULT_PATHS[collection]
    ]
    if collection == "msi":
        out.append(
            Rule(publisher="*", name="(Default Rule) All digitally signed Windows Installer files")
        )
    out.append(Rule(path="*", user=ADMINISTRATORS, name="(Default Rule) All files"))
    return out


def rules(collection: str, declared: Collection) -> list[Rule]:
    return [*(default_rules(collection) if declared.defaults else []), *declared.allow]


def rule_id(collection: str, rule: Rule) -> str:
    """The rule's Id (and registry key): the same rule always gets the same one."""
    said = (collection, rule.action, rule.user, rule.publisher, rule.product, rule.binary)
    text = "\0".join((*(t or "" for t in said), rule.path or ""))
    return str(uuid.uuid5(_NAMESPACE, text.casefold()))


def rule_xml(collection: str, rule: Rule) -> str:
    """The rule as the AppLocker snap-in writes it into ``Value``: one element, no XML
    declaration, attributes in the snap-in's order."""
    kind = "FilePathRule" if rule.path is not None else "FilePublisherRule"
    element = ElementTree.Element(kind)
    for attribute, value in (
        ("Id", rule_id(collection, rule)),
        ("Name", rule.name or rule.words()),
        ("Description", ""),
        ("UserOrGroupSid", rule.user),
        ("Action", rule.action.capitalize()),
    ):
        element.set(attribute, value)
    conditions = ElementTree.SubElement(element, "Conditions")
    if rule.path is not None:
        ElementTree.SubElement(conditions, "FilePathCondition", Path=rule.path)
    else:
        condition = ElementTree.SubElement(
            conditions,
            "FilePublisherCondition",
            PublisherName=rule.publisher or "*",
            ProductName=rule.product,
            BinaryName=rule.binary,
        )
        ElementTree.SubElement(condition, "BinaryVersionRange", LowSection="*", HighSection="*")
    return ElementTree.tostring(element, encoding="unicode", short_empty_elements=True)


def is_applocker(key: str) -> bool:
    return key.casefold().startswith(ROOT.casefold() + "\\")


def label(key: str, value: str, data: object) -> str | None:
    """``AppLocker Exe rule "(Default Rule) All files"`` for a rule's value, ``AppLocker
    Exe enforcement`` for the mode; None for anything AppLocker does not own."""
    if not is_applocker(key):
        return None
    parts = key[len(ROOT) + 1 :].split("\\")
    collection = parts[0]
    if len(parts) == 1:
        return f"AppLocker {collection} {value}"
    name = _attribute(data, "Name") or parts[1]
    return f'AppLocker {collection} rule "{name}" ({parts[1]})'


def rule_words(data: object) -> str | None:
    """What a rule's XML says, in words; None when it is not a rule we can read."""
    element = _element(data)
    if element is None:
        return None
    action = (element.get("Action") or "?").lower()
    sid = element.get("UserOrGroupSid") or "?"
    who = SID_WORDS.get(sid, sid)
    path = element.find("Conditions/FilePathCondition")
    if path is not None:
        return f"{action} {who} path {path.get('Path')}"
    publisher = element.find("Conditions/FilePublisherCondition")
    if publisher is not None:
        said = f"{publisher.get('ProductName')}, {publisher.get('BinaryName')}"
        return f"{action} {who} publisher {publisher.get('PublisherName')} ({said})"
    return f"{action} {who} {element.tag}"


def _element(data: object) -> ElementTree.Element | None:
    if not isinstance(data, str):
        return None
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return None


def _attribute(data: object, name: str) -> str | None:
    element = _element(data)
    return None if element is None else element.get(name)
