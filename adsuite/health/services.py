"""Checks that each DC's services answer: LDAP and LDAPS binds, Kerberos, SMB (the
``sysvol`` share), DNS SRV records naming every DC and only them, the clock against
this host's, and the LDAPS certificate's days to expiry.

Each check is a generator over the context yielding findings (something is wrong) and
info lines (what was measured, or why a check does not apply); the measured values go
to the report per DC.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

from adsuite.connectors import probes
from adsuite.connectors.kerberos import Ticket
from adsuite.errors import AdsuiteError
from adsuite.formats import dns_srv, krb_probe
from adsuite.health.context import DcLink, HealthContext, bind
from adsuite.health.model import Finding, Info, finding

log = logging.getLogger(__name__)

Result = Finding | Info
LDAP_PORT, LDAPS_PORT = 389, 636
ANSWERING_KDC = frozenset({6, 25})  # principal unknown, pre-authentication required


def _other_url(link: DcLink) -> tuple[str, str]:
    """(check name, URL) of the LDAP flavour the inventory's ldap_url is not."""
    if link.dc.starttls:
        return "ldaps", f"ldaps://{_netloc(link.host)}:{LDAPS_PORT}"
    return "ldap", f"ldap://{_netloc(link.host)}:{LDAP_PORT}"


def _netloc(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def ldap(ctx: HealthContext) -> Iterator[Result]:
    """A validated bind over the inventory's ldap_url, and over the other flavour.

    With a Kerberos ticket the bind is a sealed GSSAPI bind on port 389 (whatever the
    URL), and LDAPS is a TLS handshake validated against the inventory's CA and
    tls_name, without a bind: a DC that requires strong authentication refuses any
    SASL bind inside TLS, and a ticket has no password for a simple bind.
    """
    if isinstance(ctx.password, Ticket):
        yield from _ldap_with_ticket(ctx)
        return
    for link in ctx.links.values():
        own = "ldap" if link.dc.starttls else "ldaps"
        if link.directory is None:
            yield finding(link.key, own, f"{link.key}: {own.upper()} does not answer: {link.error}")
        ctx.report.measure(link.key, f"{own}_bind", link.directory is not None)
        other, url = _other_url(link)
        try:
            bind(link.dc, ctx.username, ctx.password, ctx.limits.timeout_seconds, url).close()
            ctx.report.measure(link.key, f"{other}_bind", True)
        except AdsuiteError as error:
            ctx.report.measure(link.key, f"{other}_bind", False)
            yield finding(link.key, other, f"{link.key}: {other.upper()} does not answer: {error}")


def _ldap_with_ticket(ctx: HealthContext) -> Iterator[Result]:
    for link in ctx.links.values():
        if link.directory is None:
            text = f"{link.key}: LDAP (sealed Kerberos bind on {LDAP_PORT}) fails: {link.error}"
            yield finding(link.key, "ldap", text)
        ctx.report.measure(link.key, "ldap_bind", link.directory is not None)
        ca = str(link.dc.ca_file) if link.dc.ca_file else None
        try:
            probes.tls_certificate(
                link.host, LDAPS_PORT, ca, link.dc.tls_name, ctx.limits.timeout_seconds
            )
        except AdsuiteError as error:
            ctx.report.measure(link.key, "ldaps_tls", False)
            yield finding(link.key, "ldaps", f"{link.key}: LDAPS does not answer: {error}")
            continue
        ctx.report.measure(link.key, "ldaps_tls", True)
        yield Info(link.key, "ldaps", f"{link.key}: LDAPS handshake checked (no bind: Kerberos)")


def kerberos(ctx: HealthContext) -> Iterator[Result]:
    """An AS-REQ without pre-authentication: the KDC must answer for the realm."""
    client = ctx.username.partition("@")[0].rpartition("\\")[2]
    realm = ctx.domain.realm.upper()
    for link in ctx.links.values():
        try:
            reply = probes.kdc_reply(link.host, realm, client, timeout=ctx.limits.timeout_seconds)
        except AdsuiteError as error:
            ctx.report.measure(link.key, "kerberos", None)
            yield finding(link.key, "kerberos", f"{link.key}: Kerberos does not answer: {error}")
            continue
        ctx.report.measure(link.key, "kerberos", reply.words)
        wrong = _kdc_wrong(reply, realm)
        if wrong:
            yield finding(link.key, "kerberos", f"{link.key}: Kerberos {wrong}")


def _kdc_wrong(reply: krb_probe.KdcReply, realm: str) -> str | None:
    if reply.kind == "error" and reply.error_code not in ANSWERING_KDC:
        return f"answers {reply.words} to an AS-REQ for the realm {realm}"
    if reply.realm is not None and reply.realm.upper() != realm:
        return f"answers for realm {reply.realm}, not {realm}"
    return None


def smb(ctx: HealthContext) -> Iterator[Result]:
    """An encrypted SMB 3 session and the ``sysvol`` share."""
    for link in ctx.links.values():
        session = ctx.smb(link)
        problem = link.smb_error
        if session is not None:
            try:
                session.tree("sysvol")
            except AdsuiteError as error:
                problem = str(error)
        ctx.report.measure(link.key, "smb_sysvol", problem is None)
        if problem is not None:
            yield finding(link.key, "smb", f"{link.key}: SMB does not answer: {problem}")


def dns(ctx: HealthContext) -> Iterator[Result]:
    """Each DC's DNS server lists every DC of the inventory, and only them, as LDAP DCs."""
    name = f"_ldap._tcp.dc._msdcs.{ctx.domain.realm.lower()}"
    wanted = {link.dns_name: link.key for link in ctx.links.values()}
    for link in ctx.links.values():
        try:
            answer = probes.srv_records(link.host, name, timeout=ctx.limits.timeout_seconds)
        except AdsuiteError as error:
            yield finding(link.key, "dns", f"{link.key}: DNS does not answer for {name}: {error}")
            continue
        listed = sorted({r.target for r in answer.records})
        ctx.report.measure(link.key, "dns_srv", listed)
        problems = [f"does not list {wanted[n]} ({n})" for n in sorted(set(wanted) - set(listed))]
        problems += [
            f"lists {n}, which is not a DC of the inventory" for n in listed if n not in wanted
        ]
        if answer.rcode not in (0, 3):
            problems.insert(0, f"answers {dns_srv.RCODES.get(answer.rcode, answer.rcode)}")
        if problems:
            yield finding(link.key, "dns", f"{link.key}: DNS SRV {name} " + "; ".join(problems))


def clock(ctx: HealthContext) -> Iterator[Result]:
    """Each DC's currentTime (root DSE) against this host's clock at the read."""
    limit = ctx.limits.max_skew_seconds
    for link in ctx.answering():
        said = link.root.text("currentTime") if link.root else None
        if said is None or link.local_time is None:
            yield finding(link.key, "clock", f"{link.key}: the root DSE gives no currentTime")
            continue
        theirs = datetime.strptime(said.split(".")[0].rstrip("Z"), "%Y%m%d%H%M%S")
        skew = (theirs.replace(tzinfo=UTC) - link.local_time).total_seconds()
        ctx.report.measure(link.key, "clock_skew_seconds", round(skew, 1))
        if abs(skew) >= limit:
            text = f"{link.key}: clock is {skew:+.0f} s off this host's (limit {limit} s)"
            yield finding(link.key, "clock", text)


def certificate(ctx: HealthContext) -> Iterator[Result]:
    """Days until the LDAPS certificate expires (validated against the inventory's CA)."""
    warn = ctx.limits.cert_warn_days
    for link in ctx.links.values():
        port = LDAPS_PORT if link.dc.starttls else link.dc.port
        ca = str(link.dc.ca_file) if link.dc.ca_file else None
        try:
            cert = probes.tls_certificate(
                link.host, port, ca, link.dc.tls_name, ctx.limits.timeout_seconds
            )
        except AdsuiteError as error:
            yield finding(
                link.key, "certificate", f"{link.key}: LDAPS certificate unreadable: {error}"
            )
            continue
        days = (cert.not_after - datetime.now(UTC)).total_seconds() / 86400
        ctx.report.measure(link.key, "certificate_days_left", int(days))
        ctx.report.measure(link.key, "certificate_not_after", cert.not_after.isoformat())
        if days <= 0:
            yield finding(
                link.key,
                "certificate",
                f"{link.key}: LDAPS certificate expired {cert.not_after:%Y-%m-%d}",
            )
        elif days < warn:
            text = (
                f"{link.key}: LDAPS certificate expires in {int(days)} days "
                f"({cert.not_after:%Y-%m-%d}; warn below {warn})"
            )
            yield finding(link.key, "certificate", text, severity="warning")
        else:
            yield Info(
                link.key,
                "certificate",
                f"{link.key}: LDAPS certificate valid for {int(days)} more days",
            )
