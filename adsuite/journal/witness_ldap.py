"""The directory witness: the head in an object adsuite owns, on the PDC emulator.

One ``serviceConnectionPoint`` per journal, ``CN=adsuite-journal-<12 hex>`` under a
container (``CN=System`` of the domain by default), keeps the head as JSON in
``serviceBindingInformation`` and the journal's name in ``description``. The DCs
replicate it and audit every write to it, and only accounts allowed to write there
(Domain Admins, or adsuite's service account given a container of its own) can
change it.

It is written on the PDC emulator and read back from there (ARCHITECTURE.md,
"Coordination across hosts and DCs"): the role holder is looked up through the
preferred DC (``fSMORoleOwner`` of the domain head) and must be one of the
inventory's DCs; if it is unreachable, the witness is not written anywhere else.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from adsuite.connectors.credentials import Login
from adsuite.connectors.ldap import Directory, Endpoint
from adsuite.errors import AdsuiteError, DirectoryError, JournalError
from adsuite.journal.witness import Head

log = logging.getLogger(__name__)

KEYWORD = "adsuite-journal-witness"
HEAD_ATTRIBUTE = "serviceBindingInformation"
SWAP_ATTEMPTS = 20  # each failure means another run moved the head: bounded, never a spin
NO_SUCH_ATTRIBUTE, NO_SUCH_OBJECT, ENTRY_ALREADY_EXISTS = 16, 32, 68


@dataclass(frozen=True)
class DirectoryWitness:
    """The witness object of each journal in *container*, on the PDC emulator of *dcs*."""

    dcs: Mapping[str, Endpoint]  # inventory key → how to reach that DC
    preferred: str
    password: Callable[[], Login]
    base_dn: str
    container: str
    # the PDC connection prepare() opened, kept for the run's end (one per process)
    _held: list[Directory] = field(default_factory=list, compare=False, repr=False)

    @property
    def name(self) -> str:
        return f"directory witness in {self.container} (PDC emulator)"

    def object_dn(self, journal: str) -> str:
        digest = hashlib.sha256(journal.encode("utf-8")).hexdigest()[:12]
        return f"CN=adsuite-journal-{digest},{self.container}"

    def read(self, journal: str) -> Head | None:
        with self._pdc() as directory:
            return _read_head(directory, self.object_dn(journal))

    def write(self, head: Head) -> None:
        """Move the witness forward to *head*: a compare-and-swap on the value read, read
        again and retried when another run moved it first; never moved backwards."""
        dn = self.object_dn(head.journal)
        with self._pdc() as directory:
            for _ in range(SWAP_ATTEMPTS):
                seen = _read_value(directory, dn)
                if seen is not None and not _behind(dn, Head.from_json(seen), head):
                    log.info("journal head %d: the witness %s is already past it", head.seq, dn)
                    return
                if _put(directory, dn, head, seen):
                    back = _read_head(directory, dn)  # read back from the DC written to
                    if back is None or _behind(dn, back, head):
                        raise JournalError(f"the witness {dn} did not keep head {head.seq}")
                    log.info("journal head %d witnessed in %s", head.seq, dn)
                    return
        raise JournalError(
            f"the witness {dn} changed under every one of {SWAP_ATTEMPTS} attempts to write"
            f" head {head.seq}"
        )

    def prepare(self) -> None:
        """Bind to the PDC emulator now, before the run starts, and keep the connection
        for the witness written at its end: the run journals every connection it binds
        (``operator.clients``), so the DC's record of this logon is known to be adsuite's."""
        if self._held:
            return
        try:
            self._held.append(self._connect_pdc())
        except AdsuiteError as error:  # written later, or reported; never stops the run
            log.warning("journal witness: cannot reach the PDC emulator yet: %s", error)

    @contextmanager
    def _pdc(self) -> Iterator[Directory]:
        """The connection prepare() kept (dropped if the DC has closed it since), else a
        new one for this call."""
        if self._held and not self._held[0].alive():
            self._held.pop().close()
        if self._held:
            yield self._held[0]
            return
        pdc = self._connect_pdc()
        try:
            yield pdc
        finally:
            pdc.close()

    def _connect_pdc(self) -> Directory:
        password = self.password()
        directory = Directory.connect(self.dcs[self.preferred], password)
        try:
            key = self._pdc_key(directory)
        except BaseException:
            directory.close()
            raise
        if key == self.preferred:
            return directory
        directory.close()
        return Directory.connect(self.dcs[key], password)

    def _pdc_key(self, directory: Directory) -> str:
        head = directory.read(self.base_dn, ["fSMORoleOwner"])
        owner = head.text("fSMORoleOwner") if head else None
        server = directory.read(owner.split(",", 1)[1], ["dNSHostName"]) if owner else None
        host = (server.text("dNSHostName") if server else None) or ""
        for key, endpoint in self.dcs.items():
            if host.lower() in {(endpoint.tls_name or "").lower(), _url_host(endpoint.url)}:
                return key
        raise JournalError(
            f"the PDC emulator {host or '(unknown)'} is not one of the inventory's DCs",
            hint="add it under dcs: the journal witness is written only there",
        )


def _read_value(directory: Directory, dn: str) -> str | None:
    entry = directory.read(dn, [HEAD_ATTRIBUTE])
    if entry is None:
        return None
    values = entry.texts(HEAD_ATTRIBUTE)
    if len(values) != 1:
        raise JournalError(f"the witness {dn} holds {len(values)} heads, expected one")
    return values[0]


def _read_head(directory: Directory, dn: str) -> Head | None:
    value = _read_value(directory, dn)
    return None if value is None else Head.from_json(value)


def _behind(dn: str, seen: Head, head: Head) -> bool:
    """Whether the witnessed *seen* is behind *head* of the same journal; JournalError if
    they cannot both be true (another journal file, or another entry at the same seq)."""
    if seen.journal_id != head.journal_id:
        raise JournalError(
            f"the witness {dn} names journal {seen.journal_id}, not {head.journal_id}:"
            " the file was replaced while this run ran; the witness was left as it is",
            hint="run adsuite journal verify",
        )
    if seen.seq == head.seq and seen.hash != head.hash:
        raise JournalError(
            f"the witness {dn} holds another entry at seq {seen.seq}: the journal forked;"
            " the witness was left as it is",
            hint="run adsuite journal verify",
        )
    return seen.seq < head.seq


def _put(directory: Directory, dn: str, head: Head, seen: str | None) -> bool:
    """Add the witness object, or swap *seen* for *head*; False if another run got there
    first (the object was added, or its value changed, since it was read)."""
    try:
        if seen is None:
            directory.add(
                dn,
                {
                    "objectClass": ["serviceConnectionPoint"],
                    "keywords": [KEYWORD],
                    "description": [head.journal],
                    HEAD_ATTRIBUTE: [head.to_json()],
                },
            )
        else:
            directory.swap(dn, HEAD_ATTRIBUTE, seen, head.to_json())
    except DirectoryError as error:
        if error.code in (ENTRY_ALREADY_EXISTS, NO_SUCH_ATTRIBUTE, NO_SUCH_OBJECT):
            return False
        raise
    return True


def _url_host(url: str) -> str:
    return url.split("://", 1)[-1].rsplit(":", 1)[0].lower()
