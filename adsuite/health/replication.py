"""Replication health of a domain's DCs, the health check's part (:func:`check`): what
each DC says of its inbound partners, and the latency of a change written on one DC
until another DC shows it, measured.

- :func:`read_inbound` reads ``repsFrom`` from every naming-context head of one bound
  DC over LDAP (the admin may read it on Samba and Windows) and decodes it with
  :mod:`adsuite.formats.reps_from`: partner, last success, last attempt and its result.
  A failed last attempt, no success within the inventory's
  ``health.replication_max_age_minutes`` and a DC no other DC pulls from are findings.
- The latency: a fresh marker is written into the ``description`` of an adsuite-owned
  service connection point (``CN=adsuite-replication-probe,CN=System``) on the first
  answering DC and read back on each other DC until it appears or
  ``health.replication_timeout_seconds`` runs out. Polling with a bound is the
  measurement itself; its resolution is the poll step. A DC of the inventory that does
  not answer gets no latency: that is a finding, never a silent gap.

The probe write is the only write of a health check, and it goes through the run's
journal (``ctx.journaled``) like any change adsuite makes, so `adsuite audit changes`
attributes it and the journal holds it; there is no way to write it outside a run.
Nothing is printed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from adsuite.connectors.ldap import Directory
from adsuite.errors import AdsuiteError
from adsuite.formats import reps_from
from adsuite.formats.ldap_query import Query
from adsuite.health.context import DcLink, HealthContext
from adsuite.health.model import DOMAIN, Finding, Info, finding

log = logging.getLogger(__name__)

PROBE_CN = "adsuite-replication-probe"
PROBE_CLASS = "serviceConnectionPoint"
DEFAULT_POLL = 0.1


@dataclass(frozen=True)
class InboundLink:
    """One inbound partner of one naming context, as the DC records it in repsFrom."""

    naming_context: str
    partner_dsa_guid: str
    partner_host: str | None  # dNSHostName of the partner's server object, if found
    last_success: datetime | None  # None: never
    last_attempt: datetime | None
    last_result: int  # Win32 error code of the last attempt, 0 = success
    consecutive_failures: int

    @property
    def succeeded(self) -> bool:
        return self.last_result == 0 and self.last_success is not None


def read_inbound(directory: Directory) -> tuple[InboundLink, ...]:
    """repsFrom of every naming context the DC holds, partners named by host."""
    root = directory.read("", ["namingContexts", "configurationNamingContext"])
    if root is None:
        return ()
    hosts = _dsa_hosts(directory, root.text("configurationNamingContext") or "")
    links = []
    for context in sorted(root.texts("namingContexts")):
        head = directory.read(context, ["repsFrom"])
        for value in head.raw("repsFrom") if head else ():
            entry = reps_from.parse(value)
            links.append(
                InboundLink(
                    naming_context=context,
                    partner_dsa_guid=entry.partner_dsa_guid,
                    partner_host=hosts.get(entry.partner_dsa_guid),
                    last_success=entry.last_success,
                    last_attempt=entry.last_attempt,
                    last_result=entry.last_result,
                    consecutive_failures=entry.consecutive_failures,
                )
            )
    return tuple(links)


def _dsa_hosts(directory: Directory, configuration: str) -> dict[str, str]:
    """nTDSDSA objectGUID → its server's dNSHostName (the DSA's parent), two searches."""
    sites = f"CN=Sites,{configuration}"
    servers = {
        e.dn.lower(): e.text("dNSHostName") or ""
        for e in directory.search(Query(sites, "(objectClass=server)", ("dNSHostName",)))
    }
    found = {}
    for dsa in directory.search(Query(sites, "(objectClass=nTDSDSA)", ("objectGUID",))):
        guid = dsa.raw("objectGUID")
        parent = dsa.dn.split(",", 1)[1].lower()
        if guid and servers.get(parent):
            found[str(uuid.UUID(bytes_le=guid[0]))] = servers[parent]
    return found


def probe_dn(base_dn: str) -> str:
    return f"CN={PROBE_CN},CN=System,{base_dn}"


def check(ctx: HealthContext) -> Iterator[Finding | Info]:
    """Inbound replication of every answering DC, then the measured latency from the
    first answering DC to every other DC of the inventory."""
    answering = ctx.answering()
    now = datetime.now(UTC)
    for link in answering:
        assert link.directory is not None  # answering() keeps only bound DCs
        yield from _inbound(ctx, link, read_inbound(link.directory), now)
    if not answering:
        yield Info(DOMAIN, "replication", "no DC answers: no latency measured")
        return
    source = answering[0]
    for target in ctx.links.values():
        if target.key == source.key:
            continue
        if target.directory is None:
            yield _unmeasured(ctx, source, target)
        else:
            yield from _latency(ctx, source, target)


def _inbound(
    ctx: HealthContext, link: DcLink, links: Sequence[InboundLink], now: datetime
) -> Iterator[Finding | Info]:
    oldest = now - timedelta(minutes=ctx.limits.replication_max_age_minutes)
    partners = {(found.partner_host or "").lower() for found in links}
    for other in ctx.links.values():
        if other.key != link.key and other.dns_name not in partners:
            text = f"{link.key} has no inbound link from {other.key} ({other.dns_name})"
            yield finding(link.key, "replication", text, about=other.key)
    for found in links:
        partner = found.partner_host or found.partner_dsa_guid
        where = f"{link.key} from {partner}, {found.naming_context}"
        if found.last_result != 0:
            text = (f"{where}: the last attempt failed with error {found.last_result} "
                    f"({found.consecutive_failures} in a row)")  # fmt: skip
            yield finding(link.key, "replication", text, about=f"{partner}:{found.naming_context}")
        elif found.last_success is None or found.last_success < oldest:
            last = (
                found.last_success.isoformat(timespec="seconds") if found.last_success else "never"
            )
            text = (f"{where}: no successful replication in the last "
                    f"{ctx.limits.replication_max_age_minutes} minutes (last {last})")  # fmt: skip
            yield finding(link.key, "replication", text, about=f"{partner}:{found.naming_context}")
    ctx.report.measure(link.key, "inbound_links", len(links))


def _latency(ctx: HealthContext, source: DcLink, target: DcLink) -> Iterator[Finding | Info]:
    assert source.directory is not None and target.directory is not None
    dn = probe_dn(ctx.domain.base_dn)
    marker = f"adsuite replication probe {uuid.uuid4()}"
    writer, reader = source.directory, target.directory
    if ctx.journaled is None:
        raise AdsuiteError("the replication probe is written only inside a journaled run")
    before = writer.read(dn, ["description"])
    ctx.journaled(writer, dn, before.text("description") if before else None, marker,
                  lambda: _write_marker(writer, dn, marker))  # fmt: skip
    timeout, start = float(ctx.limits.replication_timeout_seconds), time.monotonic()
    seconds = _wait_for(reader, dn, marker, (start, start + timeout), DEFAULT_POLL)
    name = f"replication_seconds_from_{source.key}"
    if seconds is None:
        text = (f"a change written on {source.key} was not seen on {target.key} within "
                f"{timeout:.0f} s")  # fmt: skip
        ctx.report.measure(target.key, name, None)
        yield finding(target.key, "replication", text, about=f"latency:{source.key}")
        return
    ctx.report.measure(target.key, name, round(seconds, 1))
    yield Info(target.key, "replication", f"a change on {source.key} reached {target.key} "
               f"in {seconds:.1f} s (measured)")  # fmt: skip


def _unmeasured(ctx: HealthContext, source: DcLink, target: DcLink) -> Finding:
    """A DC that does not answer: replication to it is not confirmed, so it is found."""
    ctx.report.measure(target.key, f"replication_seconds_from_{source.key}", None)
    text = (f"no latency measured from {source.key} to {target.key}: "
            f"{target.key} does not answer")  # fmt: skip
    return finding(target.key, "replication", text, about=f"latency:{source.key}")


def _write_marker(directory: Directory, dn: str, marker: str) -> None:
    if directory.read(dn, ["objectClass"]) is None:
        directory.add(dn, {"objectClass": [PROBE_CLASS], "description": [marker]})
    else:
        directory.modify(dn, {"description": ("replace", [marker])})


def _wait_for(
    reader: Directory,
    dn: str,
    marker: str,
    window: tuple[float, float],
    poll: float,
) -> float | None:
    start, deadline = window
    while True:
        entry = reader.read(dn, ["description"])
        now = time.monotonic()
        if entry is not None and entry.text("description") == marker:
            return now - start
        if now >= deadline:
            return None
        time.sleep(poll)
