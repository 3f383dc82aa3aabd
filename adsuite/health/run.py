"""`adsuite health` end to end: connect every DC, run the checks in order, journal the
run (mode ``health``, status ``healthy``/``unhealthy``, the findings, info lines and
measured values per DC in its extra).

Replication is checked by ``adsuite.health.replication`` (its ``check(ctx)`` yields
findings and info lines like any check here) when the domain has more than one DC; with
one DC there are no partners, which is said as an info line, not a finding.
"""

from __future__ import annotations

import functools
import getpass
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from adsuite.connectors import endpoints
from adsuite.connectors.ldap import Directory
from adsuite.engine.session import Session
from adsuite.errors import AdsuiteError
from adsuite.health import domain, services
from adsuite.health import replication as replication_checks
from adsuite.health.context import HealthContext, open_context
from adsuite.health.model import DOMAIN, Finding, Info, Report, finding
from adsuite.journal.store import Journal

log = logging.getLogger(__name__)

MODE = "health"
Check = Callable[[HealthContext], Iterable[Finding | Info]]


def replication(ctx: HealthContext) -> Iterator[Finding | Info]:
    """Inbound replication of every DC from every partner (the replication module)."""
    if len(ctx.links) < 2:
        yield Info(DOMAIN, "replication", "single DC: no partners")
        return
    yield from replication_checks.check(ctx)


CHECKS: tuple[tuple[str, Check], ...] = (
    ("ldap", services.ldap),
    ("kerberos", services.kerberos),
    ("smb", services.smb),
    ("dns", services.dns),
    ("clock", services.clock),
    ("certificate", services.certificate),
    ("fsmo", domain.fsmo),
    ("tombstone", domain.tombstone),
    ("gpo", domain.gpo_versions),
    ("replication", replication),
)


def run_checks(ctx: HealthContext, checks: Iterable[tuple[str, Check]] = CHECKS) -> Report:
    """Every check in order; one that fails part-way is a finding naming why, and the
    others still run."""
    report = ctx.report
    for name, check in checks:
        try:
            for result in check(ctx):
                if isinstance(result, Finding):
                    report.findings.append(result)
                else:
                    report.info.append(result)
        except AdsuiteError as error:
            report.findings.append(finding(DOMAIN, name, f"{name} check stopped: {error}"))
    return report


def check_domain(
    inventory_path: Path, domain_name: str | None = None, journal_path: Path | None = None
) -> tuple[Report, str]:
    """Check every DC of the domain inside one journaled run; (report, run id).

    The run starts once the DCs are bound (so it names their connections) and before
    any check, so a check's write (the replication probe) is a change of this run; the
    findings and measured values are journaled with the run's end.
    """
    session = Session.for_inventory(inventory_path, domain_name, journal_path)
    signed_in = session.login(session.domain.credential)  # a password or a Kerberos ticket
    with (
        open_context(session.inventory, session.domain_key, signed_in) as ctx,
        Journal.open(session.journal_path) as journal,
    ):
        run_id = journal.start_run(
            mode=MODE,
            operator=_operator(ctx),
            inventory=str(session.inventory_path),
            extra={"domain": ctx.domain_key, "dcs": list(ctx.links)},
        )
        ctx.journaled = functools.partial(_journaled_write, journal, run_id)
        try:
            report = run_checks(ctx)
        except BaseException:
            journal.finish_run(run_id, status="failed", counts={})
            raise
        # the SMB sessions and second binds the checks opened after the run started
        late = {"clients": list(endpoints.opened())}
        journal.finish_run(
            run_id,
            status=report.status,
            counts=_counts(ctx, report),
            extra={**report.to_dict(), **late},
        )
    return report, run_id


def _journaled_write(
    journal: Journal,
    run_id: str,
    directory: Directory,
    dn: str,
    before: str | None,
    after: str,
    write: Callable[[], None],
) -> None:
    """One write a check makes, recorded like apply records a change: intent, write, outcome."""
    change = journal.record_intent(
        run_id,
        resource="replication_probe",
        target=dn,
        action="update" if before is not None else "create",
        before={"description": before} if before is not None else None,
        after={"description": after},
        via=directory.client,
    )
    try:
        write()
    except AdsuiteError as error:
        journal.record_outcome(run_id, change, "failed", str(error))
        raise
    journal.record_outcome(run_id, change, "applied")


def _operator(ctx: HealthContext) -> dict[str, str]:
    operator = {"os_user": getpass.getuser(), "bind_identity": ctx.username}
    bound = [link.directory for link in ctx.answering() if link.directory is not None]
    if bound and bound[0].client:
        operator["client"] = bound[0].client
    return operator


def _counts(ctx: HealthContext, report: Report) -> dict[str, int]:
    warnings = sum(1 for f in report.findings if f.severity == "warning")
    return {
        "dcs": len(ctx.links),
        "answering": len(ctx.answering()),
        "errors": len(report.findings) - warnings,
        "warnings": warnings,
    }
