"""五.7's proof that the audit chain produces records: the compliance report makes one
harmless, journaled directory write and then looks for it in the DC's audit log.

The write: ``adminDescription`` of ``CN=adsuite-audit-probe,CN=System,<domain>`` (a
serviceConnectionPoint nothing else uses, created by the first probe: like the lease
and the journal witness, its creator controls it, and the service account needs no
right beyond creating service connection points in CN=System) set to the probe run's id,
in a run of mode ``audit_probe`` that holds the domain's lease like every writing run
and journals the change with its connection's client address:port. The record: a
successful ``dsdbChange`` in a Samba DC's ``dsdb_audit.log`` (inventory
``samba_audit_dir``; parsed by :mod:`adsuite.formats.samba_audit`, as `audit changes`
reads it) on that DN from that client endpoint, among the lines the log gained after
the write began — identity (DN, endpoint, and the log's own order), never a clock
window. Windows DCs are not probed yet (docs/regulations.md says what would).
"""

from __future__ import annotations

import logging
from pathlib import Path

from adsuite.audit.attribution import client_endpoint
from adsuite.connectors import samba_logs
from adsuite.engine.session import Session
from adsuite.errors import AdsuiteError
from adsuite.formats import dn as dnlib
from adsuite.formats import samba_audit
from adsuite.journal.proofs import AuditProbe
from adsuite.journal.store import Journal
from adsuite.runtime.connections import Connections

log = logging.getLogger(__name__)

MODE = "audit_probe"
RESOURCE = "audit_probe"
ATTRIBUTE = "adminDescription"


def marker_dn(base_dn: str) -> str:
    return f"CN=adsuite-audit-probe,CN=System,{base_dn}"


def probe(inventory_path: Path, journal_path: Path) -> AuditProbe:
    """Write the marker, journaled, and find the write in a Samba DC's audit log."""
    session = Session.for_inventory(inventory_path, journal_path=journal_path)
    domain = session.domain
    dn = marker_dn(domain.base_dn)
    folders = {n: Path(dc.samba_audit_dir) for n, dc in domain.dcs.items() if dc.samba_audit_dir}
    if not folders:
        error = "no DC of the domain has samba_audit_dir (Windows DCs are not probed yet)"
        return AuditProbe(dn, None, None, None, error=error)
    before = {name: _length(folder) for name, folder in folders.items()}
    try:
        with session.connect(write=True) as conn:
            run_id, client = _write(session, conn, dn, journal_path)
    except AdsuiteError as error:
        return AuditProbe(dn, None, None, None, error=str(error))
    found, notes = None, []
    for name, folder in folders.items():
        try:
            if _recorded(folder, before[name], dn, client):
                found = name
                break
        except AdsuiteError as error:
            notes.append(f"{name}: {error}")
    return AuditProbe(dn, run_id, client, found, note="; ".join(notes) or None)


def _length(folder: Path) -> int:
    """How many lines the DC's change log holds now (0 when there is none yet)."""
    try:
        return sum(1 for _ in samba_logs.lines(folder, samba_logs.DSDB_LOG))
    except AdsuiteError:
        return 0


def _recorded(folder: Path, skip: int, dn: str, client: str | None) -> bool:
    lines = list(samba_logs.lines(folder, samba_logs.DSDB_LOG))[skip:]
    return any(
        write.ok
        and dnlib.key(write.dn) == dnlib.key(dn)
        and client is not None
        and client_endpoint(write.remote) == client_endpoint(client)
        for write in samba_audit.directory_writes(lines)
    )


def _write(session: Session, conn: Connections, dn: str, journal_path: Path) -> tuple[str, str]:
    """The journaled write: (run id, the client address:port that made it)."""
    directory = conn.ldap
    client = directory.client or ""
    with Journal.open(journal_path) as journal:
        run_id = journal.start_run(
            mode=MODE,
            operator=session.operator(conn),
            inventory=str(session.inventory_path),
            extra={"object": dn},
        )
        number = 0
        try:
            current = directory.read(dn, [ATTRIBUTE])
            value = f"adsuite audit probe, run {run_id}"
            before = {ATTRIBUTE: current.text(ATTRIBUTE) or ""} if current is not None else None
            number = journal.record_intent(
                run_id,
                resource=RESOURCE,
                target=dn,
                action="update" if current is not None else "create",
                before=before,
                after={ATTRIBUTE: value},
                via=client or None,
            )
            if current is None:
                directory.add(dn, {"objectClass": ["serviceConnectionPoint"], ATTRIBUTE: value})
            else:
                directory.modify(dn, {ATTRIBUTE: ("replace", [value])})
            journal.record_outcome(run_id, number, "applied", None)
        except BaseException as error:
            if number:
                journal.record_outcome(run_id, number, "failed", str(error))
            journal.finish_run(run_id, status="failed", counts={})
            raise
        journal.finish_run(run_id, status="ok", counts={"update": 1})
    return run_id, client
