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

from adsuite.connectors.credentials import Secret
from adsuite.connectors.ldap import Directory, Endpoint
from adsuite.errors import AdsuiteError, JournalError
from adsuite.journal.witness import Head

log = logging.getLogger(__name__)

KEYWORD = "adsuite-journal-witness"
HEAD_ATTRIBUTE = "serviceBindingInformation"


@dataclass(frozen=True)
class DirectoryWitness:
    """The witness object of each journal in *container*, on the PDC emulator of *dcs*."""

    dcs: Mapping[str, Endpoint]  # inventory key → how to reach that DC
    preferred: str
    password: Callable[[], Secret]
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
        dn = self.object_dn(head.journal)
        with self._pdc() as directory:
            if _read_head(directory, dn) is None:
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
                directory.modify(dn, {HEAD_ATTRIBUTE: ("replace", [head.to_json()])})
            back = _read_head(directory, dn)  # read back from the DC it was written to
        if back != head:
            raise JournalError(f"the witness {dn} did not keep head {head.seq}")
        log.info("journal head %d witnessed in %s", head.seq, dn)

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


def _read_head(directory: Directory, dn: str) -> Head | None:
    entry = directory.read(dn, [HEAD_ATTRIBUTE])
    if entry is None:
        return None
    values = entry.texts(HEAD_ATTRIBUTE)
    if len(values) != 1:
        raise JournalError(f"the witness {dn} holds {len(values)} heads, expected one")
    return Head.from_json(values[0])


def _url_host(url: str) -> str:
    return url.split("://", 1)[-1].rsplit(":", 1)[0].lower()
