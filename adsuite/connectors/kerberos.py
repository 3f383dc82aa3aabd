"""Kerberos logins from a keytab or an existing ticket cache: no password anywhere.

A credential in the inventory may name ``kerberos: {keytab: PATH, principal: NAME@REALM}``
or ``kerberos: {ccache: PATH}`` instead of a secret. :func:`login` turns it into a
:class:`Ticket`: with a keytab, python-gssapi's credential store extensions
(``gss_acquire_cred_from`` with ``client_keytab``) obtain a TGT into a private
``MEMORY:`` cache of this process only, so nothing is written to disk and the user's
default cache (``KRB5CCNAME``, ``/tmp/krb5cc_<uid>``) is never read or replaced; with a
ccache, the tickets someone obtained with ``kinit`` are used as they are.

The LDAP bind passes the ticket's credentials to GSSAPI directly. smbprotocol and pypsrp
(through pyspnego) only know the default cache, so :func:`environment` points
``KRB5CCNAME`` (and ``KRB5_CONFIG``) at the ticket for the span of their sign-in and
restores the process environment afterwards.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adsuite.errors import CredentialError

log = logging.getLogger(__name__)

_ENVIRONMENT_LOCK = threading.RLock()
SYSTEM_CONFIG = "/etc/krb5.conf"
# TCP from the first request, so one sign-in is one AS exchange (the file says why)
DEFAULTS = Path(__file__).with_name("krb5-adsuite.conf")


@dataclass(frozen=True)
class Ticket:
    """A Kerberos identity ready to use: its cache (``MEMORY:...`` or ``FILE:...``),
    the principal it holds tickets for, and the krb5 configuration files to read."""

    ccache: str
    principal: str
    config: tuple[Path, ...] = ()
    store: dict[bytes | str, bytes | str] = field(default_factory=dict, compare=False, repr=False)

    def credentials(self) -> Any:
        """gssapi initiator credentials from this ticket's cache (and keytab, which also
        renews the TGT when it expires during a long run)."""
        import gssapi

        with environment(self):
            name = gssapi.Name(self.principal, gssapi.NameType.kerberos_principal)
            return gssapi.Credentials(name=name, usage="initiate", store=self.store or None)

    def realm(self) -> str:
        return self.principal.rpartition("@")[2]


_logins: dict[tuple[str, str, tuple[Path, ...]], Ticket] = {}


def login(
    *,
    keytab: Path | None = None,
    principal: str | None = None,
    ccache: Path | None = None,
    config: Sequence[Path] = (),
    what: str = "credential",
) -> Ticket:
    """A ticket from *keytab* for *principal*, or the one already in *ccache*.

    Once per process and keytab: later runs of a long-lived process (``adsuite serve``)
    reuse the private cache, which the keytab keeps renewed. A keytab that holds no key
    for the principal, a KDC that refuses it, or a cache with no valid ticket is one
    :class:`CredentialError` line naming the file, never its contents.
    """
    try:
        import gssapi
        from gssapi.raw.misc import GSSError
    except ImportError:
        raise CredentialError(
            f"{what}: Kerberos needs the Python package gssapi",
            hint="install adsuite with its kerberos extra: pip install 'adsuite[kerberos]'",
        ) from None
    config = tuple(config)
    if keytab is not None:
        if not principal:
            raise CredentialError(f"{what}: a keytab needs a principal (NAME@REALM)")
        key = (str(keytab), principal, config)
        if key in _logins:
            return _logins[key]
        cache = f"MEMORY:adsuite-{secrets.token_hex(8)}"
        store: dict[bytes | str, bytes | str] = {"client_keytab": str(keytab), "ccache": cache}
        ticket = Ticket(cache, principal, config, store)
    else:
        if ccache is None:
            raise CredentialError(f"{what}: kerberos needs a keytab or a ccache")
        ticket = Ticket(f"FILE:{ccache}", principal or "", config, {"ccache": f"FILE:{ccache}"})
    try:
        with environment(ticket):
            ticket = _checked(ticket, gssapi)
    except GSSError as error:
        source = f"keytab {keytab}" if keytab is not None else f"ccache {ccache}"
        raise CredentialError(
            f"{what}: no Kerberos ticket from {source}: {_words(error)}",
            hint="check the file, the principal, and that the KDC answers",
        ) from None
    if keytab is not None and principal:
        _logins[(str(keytab), principal, config)] = ticket
    log.info("Kerberos ticket for %s in a private cache", ticket.principal)
    return ticket


def _checked(ticket: Ticket, gssapi: Any) -> Ticket:
    """Get the TGT now (a wrong keytab fails here, not at the first bind) and learn the
    principal a ccache holds."""
    if ticket.principal:
        name = gssapi.Name(ticket.principal, gssapi.NameType.kerberos_principal)
        creds = gssapi.Credentials(name=name, usage="initiate", store=ticket.store)
    else:
        creds = gssapi.Credentials(usage="initiate", store=ticket.store)
    # A keytab's credentials are acquired lazily; storing them forces the AS exchange
    # and puts the TGT in the private cache, where pyspnego finds it.
    if "client_keytab" in ticket.store:
        creds.store(store={"ccache": ticket.ccache}, overwrite=True)
    if creds.lifetime == 0:
        raise CredentialError(f"the Kerberos ticket for {creds.name} has expired")
    return Ticket(ticket.ccache, str(creds.name), ticket.config, ticket.store)


@contextmanager
def environment(ticket: Ticket | None) -> Iterator[None]:
    """``KRB5CCNAME`` set to *ticket* and ``KRB5_CONFIG`` to :func:`config_path` for the
    block; the previous values come back afterwards. Process-wide, so one thread at a
    time."""
    if ticket is None:
        yield
        return
    with _ENVIRONMENT_LOCK:
        wanted = {"KRB5CCNAME": ticket.ccache, "KRB5_CONFIG": config_path(ticket.config)}
        before = {name: os.environ.get(name) for name in wanted}
        os.environ.update(wanted)
        try:
            yield
        finally:
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def config_path(config: Sequence[Path] = ()) -> str:
    """``KRB5_CONFIG`` for a sign-in: *config* (else the process's ``KRB5_CONFIG``, else
    the system file), then adsuite's defaults, which only fill in what those leave out."""
    first = [str(path) for path in config] or [os.environ.get("KRB5_CONFIG") or SYSTEM_CONFIG]
    if first[-1].endswith(str(DEFAULTS)):  # inside another sign-in's block
        return ":".join(first)
    return ":".join([*first, str(DEFAULTS)])


def _words(error: Any) -> str:
    text = error.gen_message() if hasattr(error, "gen_message") else str(error)
    return " ".join(str(text).split())[:200]
