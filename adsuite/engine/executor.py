"""Apply: run exactly the planned changes, journaling intent before and outcome after.

Before each change the target is read again; if it no longer matches what the plan
saw, the change is recorded as ``conflict`` and nothing is written to it. After a
failure or a conflict apply goes on with every change that does not depend on it
(engine/dependencies.py); those that do are recorded as ``skipped`` with the reason
naming the change they depend on. A lost connection to the DC skips everything after
it: the DC is gone, so every later write would fail the same way. A failure is
one line in the journal and for the CLI to show (the DC closed the connection, access
denied...); it is logged at info level, so the user does not read it twice.
"""

from __future__ import annotations

import logging
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adsuite.connectors.credentials import Secret
from adsuite.connectors.ldap import Directory
from adsuite.engine.connections import Connections
from adsuite.engine.dependencies import Dependencies, Failure
from adsuite.engine.progress import Progress
from adsuite.errors import AdsuiteError, ConflictError, ConnectionLost, DirectoryError
from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry
from adsuite.journal.store import Journal
from adsuite.resources.base import Change, Expect, LdapWrite, SecretRef

log = logging.getLogger(__name__)

SecretLookup = Callable[[str], Secret]
Writer = Callable[[Connections, Any], None]
Checker = Callable[[Connections, str, Any], None]
WRITERS: dict[type, Writer] = {}  # write type -> how to carry it out
CHECKERS: dict[type, Checker] = {}  # expectation type -> how to check it before writing


@dataclass(frozen=True)
class Outcome:
    change: Change
    outcome: str  # applied | failed | conflict | skipped
    error: str | None = None
    lost: bool = False  # the connection to the DC broke here (or before this skipped one)


def generate_password(length: int = 24) -> Secret:
    """A random password that meets AD complexity rules (all four character classes)."""
    classes = [string.ascii_uppercase, string.ascii_lowercase, string.digits, "!#%+-.:=?@_~"]
    chars = [secrets.choice(c) for c in classes]
    chars += [secrets.choice("".join(classes)) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return Secret("".join(chars))


def apply_changes(
    changes: tuple[Change, ...],
    conn: Connections,
    journal: Journal,
    run_id: str,
    progress: Progress,
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    lost: Failure | None
    failed, lost = Dependencies(), None  # lost: the change at which the DC went away
    progress.start("applying", len(changes))
    for change in changes:
        number = journal.record_intent(
            run_id,
            resource=change.kind,
            target=change.target,
            action=str(change.action),
            before=change.before,
            after=change.after,
            via=conn.directory.client,
        )
        blocker = lost or failed.blocker(change)
        if blocker is not None:
            gone = lost is not None
            outcome = Outcome(change, "skipped", _skip_reason(blocker, gone), lost=gone)
            failed.fail(change, blocker)
        else:
            outcome = _apply_one(change, conn)
            if outcome.outcome in ("failed", "conflict"):
                failure = Failure(number, change, outcome.outcome)
                failed.fail(change, failure)
                if outcome.lost:
                    lost = failure
        journal.record_outcome(run_id, number, outcome.outcome, outcome.error)
        outcomes.append(outcome)
        progress.advance()
    progress.finish()
    return outcomes


def _skip_reason(blocker: Failure, lost: bool) -> str:
    if lost:
        where = f"{blocker.change.kind} {blocker.change.target}"
        return f"the connection to the DC was lost at change {blocker.number} ({where})"
    return blocker.reason()


def _apply_one(change: Change, conn: Connections) -> Outcome:
    try:
        CHECKERS[type(change.expect)](conn, change.target, change.expect)
        for write in change.writes:
            WRITERS[type(write)](conn, write)
    except ConflictError as error:
        log.info("conflict on %s: %s", change.target, error)
        return Outcome(change, "conflict", str(error))
    except ConnectionLost as error:  # the DC is gone: the rest is skipped, not attempted
        log.info("failed on %s: %s", change.target, error)
        return Outcome(change, "failed", str(error), lost=True)
    except AdsuiteError as error:  # the directory, a file server or a host refused
        log.info("failed on %s: %s", change.target, error)
        return Outcome(change, "failed", str(error))
    except Exception as error:  # a bug must still leave a recorded outcome, not a gap
        log.debug("internal error on %s", change.target, exc_info=True)  # -vv shows it
        return Outcome(change, "failed", f"internal error: {type(error).__name__}")
    return Outcome(change, "applied")


def check_expectation(conn: Connections, dn: str, expect: Expect) -> None:
    names = {*expect.raw, *expect.has_dns, *expect.lacks_dns, "objectGUID"}
    entry = conn.directory.read(dn, sorted(names), sd_flags=expect.sd_flags)
    if expect.exists is False and entry is not None:
        raise ConflictError(f"{dn} was created by someone else since the plan")
    if entry is None:
        if expect.exists:
            raise ConflictError(f"{dn} no longer exists")
        return
    _check_values(dn, entry, expect)


def _check_values(dn: str, entry: Entry, expect: Expect) -> None:
    for name, values in expect.raw.items():
        if sorted(entry.raw(name)) != sorted(values):
            raise ConflictError(f"{dn}: {name} changed since the plan")
    for name, dns in expect.has_dns.items():
        present = {dnlib.key(v) for v in entry.texts(name)}
        if any(dnlib.key(v) not in present for v in dns):
            raise ConflictError(f"{dn}: {name} changed since the plan (a value is gone)")
    for name, dns in expect.lacks_dns.items():
        present = {dnlib.key(v) for v in entry.texts(name)}
        if any(dnlib.key(v) in present for v in dns):
            raise ConflictError(f"{dn}: {name} changed since the plan (a value was added)")


def execute(conn: Connections, write: LdapWrite) -> None:
    directory = conn.directory
    if write.op == "add":
        directory.add(write.dn, _resolve_secrets(write.attributes, conn.secret))
    elif write.op == "modify":
        directory.modify(write.dn, write.changes, sd_flags=write.sd_flags)
    elif write.op == "delete":
        directory.delete(write.dn)
    elif write.op == "move":
        assert write.new_parent is not None
        directory.move(write.dn, write.new_parent)
    elif write.op == "sd_edit":
        _edit_security_descriptor(directory, write)
    else:
        raise ValueError(f"unknown write operation {write.op!r}")


WRITERS[LdapWrite] = execute
CHECKERS[Expect] = check_expectation


def _edit_security_descriptor(directory: Directory, write: LdapWrite) -> None:
    assert write.sd_edit is not None
    entry = directory.read(write.dn, ["nTSecurityDescriptor"], sd_flags=write.sd_flags)
    raw = entry.raw("nTSecurityDescriptor") if entry else ()
    if not raw:
        raise DirectoryError(f"read {write.dn}: no security descriptor returned")
    edited = write.sd_edit(raw[0])
    if edited != raw[0]:
        directory.modify(
            write.dn, {"nTSecurityDescriptor": ("replace", [edited])}, sd_flags=write.sd_flags
        )


def _resolve_secrets(attributes: Mapping[str, Any], lookup: SecretLookup) -> dict[str, Any]:
    out = dict(attributes)
    for name, value in attributes.items():
        if isinstance(value, SecretRef):
            secret = generate_password() if value.generate else lookup(str(value.credential))
            out[name] = [('"' + secret.reveal() + '"').encode("utf-16-le")]
    return out
