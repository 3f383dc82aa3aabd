"""The one-writer lease of a domain: a directory object on the PDC emulator.

Every run that writes to a domain (apply, rollback, a ticket, check-out and check-in,
the serve worker) holds the lease from before it reads the facts until it ends, so
two runs — on one host or on two — never interleave, and a run's before-images are
never another run's half-finished change. ``plan`` and ``drift`` take none.

The lease is ``CN=adsuite-lease,CN=System,<domain>``, a container whose
``adminDescription`` holds the holder as JSON: host, pid, user, journal run, since,
until. Every transition is one atomic LDAP operation on the PDC emulator (the FSMO
role owner named by the domain head's ``fSMORoleOwner``, which serializes it where two
DCs would each accept one):

- take a free lease: add the object — ``entryAlreadyExists`` if someone holds it;
- take over an expired one, renew, or name the run: a modify that deletes the exact
  old value and adds the new one — ``noSuchAttribute`` if anyone changed it since
  it was read; a takeover is journaled with the holder it replaced;
- release: delete the object, after reading back that it still holds this run's value.

A lease expires ``lease_seconds`` (inventory, per domain; default 300) after it was
last renewed; a thread renews it every third of that, so only a holder that died or
hung loses it. Expiry is judged by this host's clock: keep the writers' clocks in
step (they must be for Kerberos anyway).
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adsuite.connectors.credentials import Login
from adsuite.connectors.ldap import Directory, Endpoint
from adsuite.errors import AdsuiteError, DirectoryError, InputError, LeaseHeld
from adsuite.journal.store import Journal
from adsuite.runtime.inventory import Domain

log = logging.getLogger(__name__)

ATTRIBUTE = "adminDescription"
ENTRY_ALREADY_EXISTS, NO_SUCH_ATTRIBUTE = 68, 16
NO_SUCH_OBJECT, VALUE_EXISTS = 32, 20
CLAIMS_ATTRIBUTE = "keywords"  # one value per claimed ticket id: adding one twice fails


def claims_dn(base_dn: str) -> str:
    """Where every adsuite host's ticket claims meet (beside the lease, on the PDC)."""
    return f"CN=adsuite-ticket-claims,CN=System,{base_dn}"


POLL_SECONDS = 0.5
Notice = Callable[[str], None]


def lease_dn(base_dn: str) -> str:
    return f"CN=adsuite-lease,CN=System,{base_dn}"


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Holder:
    """Who holds the lease, for which journal run, since when and until when."""

    host: str
    pid: int
    user: str
    run: str | None
    since: str
    until: str
    process: str | None = None  # the holder's start time (/proc/PID/stat): tells a reused pid

    @classmethod
    def me(cls, seconds: int) -> Holder:
        now = _now()
        until = _stamp(now + timedelta(seconds=seconds))
        return cls(
            socket.gethostname(),
            os.getpid(),
            getpass.getuser(),
            None,
            _stamp(now),
            until,
            _process_start(os.getpid()),
        )

    @classmethod
    def parse(cls, value: str) -> Holder:
        try:
            found = json.loads(value)
            return cls(**{name: found.get(name) for name in cls.__dataclass_fields__})
        except (ValueError, KeyError, TypeError):
            return cls("?", 0, "?", None, "?", "0001-01-01T00:00:00Z")  # unreadable: expired

    def gone(self) -> bool:
        """Whether the holder was a process on this host that no longer runs (it died, or
        ended without releasing: its DC went away mid-run). Its lease is taken over at
        once instead of at expiry; a holder on another host is judged by expiry only."""
        if self.host != socket.gethostname() or self.process is None:
            return False
        return _process_start(self.pid) != self.process

    def value(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    def expired(self) -> bool:
        try:
            return datetime.fromisoformat(self.until) <= _now()
        except ValueError:
            return True

    def renewed(self, seconds: int) -> Holder:
        return replace(self, until=_stamp(_now() + timedelta(seconds=seconds)))

    def describe(self) -> str:
        run = f", journal run {self.run}" if self.run else ""
        return (
            f"{self.user} on {self.host}, pid {self.pid}{run} "
            f"(since {self.since[:19]}Z, lease until {self.until[:19]}Z)"
        )


def _process_start(pid: int) -> str | None:
    """The start time of process *pid* in clock ticks since boot (field 22 of
    /proc/PID/stat), or None when no such process runs."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def pdc_endpoint(directory: Directory, domain: Domain, username: str) -> Endpoint:
    """The inventory's DC that holds the PDC emulator role, as the domain head names it."""
    head = directory.read(domain.base_dn, ["fSMORoleOwner"])
    owner = head.text("fSMORoleOwner") if head else None
    server = directory.read(owner.split(",", 1)[1], ["dNSHostName"]) if owner else None
    name = (server.text("dNSHostName") if server else None) or "?"
    for dc in domain.dcs.values():
        host = dc.ldap_url.split("://", 1)[-1].rsplit(":", 1)[0]
        if name.lower() in {str(dc.tls_name).lower(), host.lower()}:
            return Endpoint(
                dc.ldap_url, str(dc.ca_file) if dc.ca_file else None, dc.tls_name, username
            )
    raise LeaseHeld(
        f"the PDC emulator {name} of {domain.realm} is not one of the inventory's DCs; "
        "a writing run takes the domain lease there only"
    )


class DomainLease:
    """A held lease; :meth:`take` it, :meth:`release` it. Renews itself on a thread."""

    def __init__(self, directory: Directory, domain: str, dn: str, seconds: int) -> None:
        self._directory = directory  # the PDC emulator; only this object uses it
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.domain, self.dn, self.seconds = domain, dn, seconds
        self.holder: Holder | None = None
        self.lost: str | None = None

    @classmethod
    def take(
        cls,
        pdc: Directory,
        domain: tuple[str, Domain],
        journal: Path,
        wait: float,
        notice: Notice,
    ) -> DomainLease:
        key, spec = domain
        lease = cls(pdc, key, lease_dn(spec.base_dn), spec.lease_seconds)
        try:
            lease._acquire(journal, wait, notice)
        except BaseException:
            pdc.close()
            raise
        lease._thread = threading.Thread(target=lease._renew_loop, name="lease", daemon=True)
        lease._thread.start()
        return lease

    def _acquire(self, journal: Path, wait: float, notice: Notice) -> None:
        deadline, told = time.monotonic() + wait, False
        while True:
            current = self._try_take(journal)
            if current is None:
                log.info("lease of %s taken: %s", self.domain, self.holder)
                return
            if time.monotonic() >= deadline:
                raise LeaseHeld(
                    f"domain {self.domain} is being changed by another run: "
                    f"{current.describe()}; try again later, or pass --wait SECONDS"
                )
            if not told:
                notice(
                    f"waiting up to {wait:g} s for the lease of domain {self.domain}, held by "
                    f"{current.describe()}"
                )
                told = True
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))

    def _try_take(self, journal: Path) -> Holder | None:
        """Take the lease if it is free or expired; else the holder who has it."""
        mine = Holder.me(self.seconds)
        try:
            self._directory.add(
                self.dn,
                {
                    # a serviceConnectionPoint's default ACL gives its creator full
                    # control: the service account needs only "create and delete
                    # service connection points" on CN=System (service-account.yml)
                    "objectClass": ["serviceConnectionPoint"],
                    ATTRIBUTE: mine.value(),
                    "showInAdvancedViewOnly": "TRUE",
                },
            )
            self.holder = mine
            return None
        except DirectoryError as error:
            if error.code != ENTRY_ALREADY_EXISTS:
                raise
        value = self._read()
        if value is None:  # released between the add and the read: try again
            return self._try_take(journal)
        current = Holder.parse(value)
        if not current.expired() and not current.gone():
            return current
        if not self._swap(value, mine):
            return Holder.parse(self._read() or value)
        self.holder = mine
        log.warning("lease of %s taken over from %s", self.domain, current.describe())
        with Journal.open(journal) as book:
            book.record_lease_takeover(
                domain=self.domain, previous=asdict(current), holder=asdict(mine)
            )
        return None

    def claim_ticket(self, ticket: str, base_dn: str, *, known_here: bool) -> None:
        """Claim *ticket* in the directory, so that no other adsuite host — with a journal
        of its own — carries it out too: one value of a multi-valued attribute, added by
        an LDAP modify that fails if the value is there already (atomic on the PDC).

        A value already there is this host's own earlier claim when *known_here* (the
        local journal has a run of the ticket, and its claim rule decides whether it may
        run again); otherwise another host claimed it, and the run is refused."""
        dn = claims_dn(base_dn)
        with self._lock:
            try:
                self._add_claim(dn, ticket)
            except DirectoryError as error:
                if error.code != VALUE_EXISTS:
                    raise
                if not known_here:
                    raise InputError(
                        f"ticket {ticket} was claimed by another adsuite host (its id is in "
                        f"{dn}); a ticket runs once: see that host's journal"
                    ) from None
        log.info("ticket %s claimed in %s", ticket, dn)

    def _add_claim(self, dn: str, ticket: str) -> None:
        try:
            self._directory.modify(dn, {CLAIMS_ATTRIBUTE: ("add", [ticket])})
        except DirectoryError as error:
            if error.code != NO_SUCH_OBJECT:
                raise
            try:  # the first claim of the domain: created by its claimer, who controls it
                self._directory.add(
                    dn,
                    {
                        "objectClass": ["serviceConnectionPoint"],
                        CLAIMS_ATTRIBUTE: [ticket],
                        "showInAdvancedViewOnly": "TRUE",
                    },
                )
            except DirectoryError as raced:
                if raced.code != ENTRY_ALREADY_EXISTS:
                    raise
                self._directory.modify(dn, {CLAIMS_ATTRIBUTE: ("add", [ticket])})

    def bind_run(self, run_id: str) -> None:
        """Name the journal run in the lease, so a waiting run can say who it waits for."""
        with self._lock:
            self._move(lambda held: replace(held, run=run_id).renewed(self.seconds))

    def check(self) -> None:
        """Raise if the lease was lost (this process stalled past its expiry)."""
        if self.lost is not None:
            raise LeaseHeld(f"the lease of domain {self.domain} was lost: {self.lost}")

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            try:
                value = self._read()
                held = self.holder
                if held is not None and value == held.value() and not held.expired():
                    self._directory.delete(self.dn)
                    log.info("lease of %s released", self.domain)
                elif held is not None:
                    log.warning("lease of %s was no longer ours at release", self.domain)
            except AdsuiteError as error:  # it expires by itself; say so, do not hide the run
                log.warning("cannot release the lease of %s: %s", self.domain, error)
            finally:
                self._directory.close()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            with self._lock:
                try:
                    self._move(lambda held: held.renewed(self.seconds))
                except AdsuiteError as error:
                    log.error("cannot renew the lease of %s: %s", self.domain, error)
                    if self.holder is None or self.holder.expired() or self.lost:
                        self.lost = self.lost or str(error)
                        return

    def _move(self, change: Callable[[Holder], Holder]) -> None:
        assert self.holder is not None
        new = change(self.holder)
        if not self._swap(self.holder.value(), new):
            self.lost = "another run took it over"
            raise LeaseHeld(f"the lease of domain {self.domain} was taken over by another run")
        self.holder = new

    def _swap(self, old: str, new: Holder) -> bool:
        try:
            self._directory.swap(self.dn, ATTRIBUTE, old, new.value())
        except DirectoryError as error:
            if error.code in (NO_SUCH_ATTRIBUTE, 32):  # changed, or deleted, since read
                return False
            raise
        return True

    def _read(self) -> str | None:
        entry = self._directory.read(self.dn, [ATTRIBUTE])
        return entry.text(ATTRIBUTE) if entry else None


def connect_pdc(directory: Directory, domain: Domain, username: str, password: Login) -> Directory:
    """A connection of its own to the PDC emulator (the renewal thread shares no socket)."""
    return Directory.connect(pdc_endpoint(directory, domain, username), password)
