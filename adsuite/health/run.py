"""`adsuite health` end to end: connect every DC, run the checks in order, journal the
run (mode ``health``, status ``healthy``/``unhealthy``, the findings, info lines and
measured values per DC in its extra).

Replication is checked by ``adsuite.health.replication`` (its ``check(ctx)`` yields
findings and info lines like any check here) when the domain has more than one DC; with
one DC there are no partners, which is said as an info line, not a finding.
"""

from __future__ import annotations

import getpass
import importlib
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from adsuite.engine.session import Session
from adsuite.errors import AdsuiteError
from adsuite.health import domain, services
from adsuite.health.context import HealthContext, open_context
from adsuite.health.model import DOMAIN, Finding, Info, Report, finding
from adsuite.journal.store import Journal

log = logging.getLogger(__name__)

MODE = "health"
REPLICATION_MODULE = "adsuite.health.replication"
Check = Callable[[HealthContext], Iterable[Finding | Info]]


def replication(ctx: HealthContext) -> Iterator[Finding | Info]:
    """Inbound replication of every DC from every partner (the replication module)."""
    if len(ctx.links) < 2:
        yield Info(DOMAIN, "replication", "single DC: no partners")
        return
    try:
        module = importlib.import_module(REPLICATION_MODULE)
    except ModuleNotFoundError as error:
        if error.name != REPLICATION_MODULE:
            raise
        text = f"replication between {len(ctx.links)} DCs is not checked: no replication check"
        yield finding(DOMAIN, "replication", text)
        return
    yield from module.check(ctx)


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
    """Check every DC of the domain and journal the run; (report, run id)."""
    session = Session.for_inventory(inventory_path, domain_name, journal_path)
    password = session.secret(session.domain.credential)
    with open_context(session.inventory, session.domain_key, password) as ctx:
        report = run_checks(ctx)
        run_id = _journal(session, ctx, report)
    return report, run_id


def _journal(session: Session, ctx: HealthContext, report: Report) -> str:
    operator = {"os_user": getpass.getuser(), "bind_identity": ctx.username}
    bound = [link.directory for link in ctx.answering() if link.directory is not None]
    if bound and bound[0].client:
        operator["client"] = bound[0].client
    warnings = sum(1 for f in report.findings if f.severity == "warning")
    counts = {
        "dcs": len(ctx.links),
        "answering": len(bound),
        "errors": len(report.findings) - warnings,
        "warnings": warnings,
    }
    with Journal.open(session.journal_path) as journal:
        run_id = journal.start_run(
            mode=MODE,
            operator=operator,
            inventory=str(session.inventory_path),
            extra=report.to_dict(),
        )
        journal.finish_run(run_id, status=report.status, counts=counts)
    return run_id
