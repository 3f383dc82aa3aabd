"""Replication health of a domain's DCs: what each DC says of its inbound partners, and
the latency of a change written on one DC until another DC shows it, measured.

- :func:`inbound_status` reads ``repsFrom`` from every naming-context head of one DC
  over LDAP (the admin may read it on Samba and Windows) and decodes it with
  :mod:`adsuite.formats.reps_from`: partner, last success, last attempt and its result.
- :func:`measure_latency` writes a fresh marker into the ``description`` of an
  adsuite-owned service connection point (``CN=adsuite-replication-probe,CN=System``)
  on the source DC and reads it back on the target DC until it appears or a bound runs
  out. Polling with a bound is the measurement itself; its resolution is the poll step.

Results are plain data; nothing is printed and a DC that cannot be reached is a result
(``error``), not an exception. :func:`check` is the health check's part: over the DCs
it already bound, every DC's inbound links (a failed last attempt, no success within
the inventory's ``health.replication_max_age_minutes``, a DC no other DC pulls from are
findings), then the latency from the first answering DC to each other one. The probe
write goes through the health run's journal (``ctx.journaled``) like any change adsuite
makes, so `adsuite audit changes` attributes it and the journal holds it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from adsuite.connectors.credentials import Secret
from adsuite.connectors.ldap import Directory, Endpoint
from adsuite.errors import AdsuiteError
from adsuite.formats import reps_from
from adsuite.formats.ldap_query import Query
from adsuite.health.context import DcLink, HealthContext
from adsuite.health.model import DOMAIN, Finding, Info, finding

log = logging.getLogger(__name__)

PROBE_CN = "adsuite-replication-probe"
PROBE_CLASS = "serviceConnectionPoint"
DEFAULT_TIMEOUT = 60.0
DEFAULT_POLL = 0.1
Clock = Callable[[], float]


@dataclass(frozen=True)
class DcTarget:
    """One DC as the inventory names it, and how to bind to it."""

    name: str
    endpoint: Endpoint


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


@dataclass(frozen=True)
class InboundStatus:
    """Every inbound replication link of one DC, or why they could not be read."""

    dc: str
    read_at: datetime
    links: tuple[InboundLink, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class Latency:
    """A change written on *source* and looked for on *target*."""

    source: str
    target: str
    probe_dn: str
    written_at: datetime | None  # when the source DC acknowledged the write
    seen: bool
    seconds: float | None  # from the write's acknowledgement to the first read showing it
    timeout: float
    poll: float  # the measurement's resolution
    error: str | None = None


def inbound_status(dc: DcTarget, password: Secret) -> InboundStatus:
    """Bind to *dc* and read its inbound links; an unreachable DC is reported, not raised."""
    read_at = datetime.now(UTC)
    try:
        with Directory.connect(dc.endpoint, password, timeout=5) as directory:
            return InboundStatus(dc.name, read_at, read_inbound(directory))
    except AdsuiteError as error:
        return InboundStatus(dc.name, read_at, error=str(error))


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


def measure_latency(
    source: DcTarget,
    target: DcTarget,
    password: Secret,
    base_dn: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    poll: float = DEFAULT_POLL,
    clock: Clock = time.monotonic,
) -> Latency:
    """Write a fresh marker on *source*; read *target* every *poll* s until it shows it."""
    dn = probe_dn(base_dn)
    unseen = Latency(source.name, target.name, dn, None, False, None, timeout, poll)
    try:
        with (
            Directory.connect(source.endpoint, password, timeout=5) as writer,
            Directory.connect(target.endpoint, password, timeout=5) as reader,
        ):
            marker = f"adsuite replication probe {uuid.uuid4()}"
            _write_marker(writer, dn, marker)
            written, start = datetime.now(UTC), clock()
            seconds = _wait_for(reader, dn, marker, (start, start + timeout), poll, clock)
    except AdsuiteError as error:
        return replace(unseen, error=str(error))
    if seconds is None:
        return replace(unseen, written_at=written)
    return replace(unseen, written_at=written, seen=True, seconds=seconds)


def check(ctx: HealthContext) -> Iterator[Finding | Info]:
    """Inbound replication of every answering DC, then the measured latency."""
    answering = ctx.answering()
    now = datetime.now(UTC)
    for link in answering:
        assert link.directory is not None  # answering() keeps only bound DCs
        yield from _inbound(ctx, link, read_inbound(link.directory), now)
    if len(answering) < 2:
        yield Info(DOMAIN, "replication", "fewer than two DCs answer: no latency measured")
        return
    source = answering[0]
    for target in answering[1:]:
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
    seconds = _wait_for(reader, dn, marker, (start, start + timeout), DEFAULT_POLL, time.monotonic)
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
    clock: Clock,
) -> float | None:
    start, deadline = window
    while True:
        entry = reader.read(dn, ["description"])
        now = clock()
        if entry is not None and entry.text("description") == marker:
            return now - start
        if now >= deadline:
            return None
        time.sleep(poll)
