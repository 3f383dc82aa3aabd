"""`adsuite serve`: take signed ticket webhooks from a service desk, queue them, run them.

Runs in the foreground until SIGTERM or Ctrl-C: then it stops taking requests and
waits for running tickets to finish (a second signal stops at once; a ticket cut off
that way is run again at the next start). Request lines are logged on stderr.

Exit codes: 0 stopped, 1 error (bad option, secret not found, queue in use).
"""

from __future__ import annotations

import logging
import signal
import ssl
import threading
from pathlib import Path
from types import FrameType

import click

from adsuite.cli.console import default_path, inventory_option
from adsuite.connectors import credentials
from adsuite.connectors.credentials import Secret
from adsuite.errors import CredentialError, InputError
from adsuite.journal.paths import default_journal_path
from adsuite.runtime.inventory import Inventory, load_inventory
from adsuite.serve.desk_config import DeskMapping, load_mapping
from adsuite.serve.live import LiveTicketCheck, LiveTicketRunner, domain_resolver, ticket_types
from adsuite.serve.server import Limits, Service, Settings, parse_listen, tls_context
from adsuite.serve.signature import DEFAULT_WINDOW

DEFAULT_RULES = "playbooks/approvals.yml"
DEFAULT_SECRET = "service-desk"
MIN_SECRET_LENGTH = 32
QUEUE_FILE = "ticket-queue.sqlite"


@click.command()
@click.option("--listen", default="127.0.0.1:8443", show_default=True, help="HOST:PORT to bind.")
@click.option("--cert", type=click.Path(path_type=Path), help="TLS certificate (PEM) for HTTPS.")
@click.option("--key", type=click.Path(path_type=Path), help="TLS private key (PEM) for HTTPS.")
@click.option(
    "--secret",
    "secret_name",
    default=DEFAULT_SECRET,
    show_default=True,
    help="Credential holding the webhook signing secret (env ADSUITE_CRED_<NAME>, keyring, "
    "or the inventory's secret_file for it).",
)
@inventory_option
@click.option(
    "--rules",
    type=click.Path(path_type=Path),
    help=f"Approval rules [env ADSUITE_APPROVALS, else {DEFAULT_RULES}].",
)
@click.option(
    "--queue",
    "queue_path",
    type=click.Path(path_type=Path),
    help=f"Queue database [default: {QUEUE_FILE} next to the journal].",
)
@click.option(
    "--password-dir",
    type=click.Path(path_type=Path),
    help="Folder (mode 0700) for passwords tickets set; without it such tickets are refused.",
)
@click.option(
    "--mapping",
    "mapping_path",
    type=click.Path(path_type=Path),
    help="Service-desk field mapping (YAML); needed for /tickets/jira.",
)
@click.option(
    "--window",
    type=click.IntRange(30, 3600),
    default=DEFAULT_WINDOW,
    show_default=True,
    help="Seconds a signed request's timestamp may be off.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(8, 10_000),
    default=Limits.connections,
    show_default=True,
    help="Open connections at most; one more is answered 503.",
)
@click.option(
    "--header-timeout",
    type=click.IntRange(1, 600),
    default=int(Limits.header_timeout),
    show_default=True,
    help="Seconds a client has to send its request headers; then 408 and closed.",
)
@click.option("--paused", is_flag=True, help="Accept and queue tickets, but run none.")
def serve(
    listen: str,
    cert: Path | None,
    key: Path | None,
    secret_name: str,
    inventory: Path | None,
    rules: Path | None,
    queue_path: Path | None,
    password_dir: Path | None,
    mapping_path: Path | None,
    window: int,
    max_connections: int,
    header_timeout: int,
    paused: bool,
) -> None:
    """Serve ticket webhooks: POST /tickets[/jira|/servicenow], GET /runs/ID.

    Exit status: 0 stopped by SIGTERM or Ctrl-C, 1 error (bad option, secret not found,
    queue in use)."""
    inventory = default_path(inventory, "ADSUITE_INVENTORY", "inventory/lab.yml", "inventory")
    rules = default_path(rules, "ADSUITE_APPROVALS", DEFAULT_RULES, "approval rules file")
    loaded = load_inventory(inventory)
    journal = default_journal_path(loaded.journal)
    queue_path = queue_path or journal.parent / QUEUE_FILE
    if password_dir is not None:
        _check_private_folder(password_dir)
    host, port = parse_listen(listen)
    spool = queue_path.parent / "tickets"
    settings = Settings(
        host=host,
        port=port,
        secret=_secret(secret_name, loaded),
        queue=queue_path,
        inventory=inventory,
        types=ticket_types(rules, password_dir),
        domain_of=domain_resolver(loaded),
        runner=LiveTicketRunner(rules, journal, spool, password_dir),
        desks=load_mapping(mapping_path) if mapping_path else DeskMapping(),
        tls=_tls(cert, key),
        window=window,
        paused=paused,
        check=LiveTicketCheck(rules, journal, spool, inventory),
        journal=journal,
        limits=Limits(connections=max_connections, header_timeout=header_timeout),
    )
    _log_requests()
    _run(Service(settings))


def _run(service: Service) -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # a second signal: stop now; running tickets rerun later
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        service.start()
        click.echo(f"adsuite serve: listening on {service.url}", err=True)
        while not stop.wait(0.5):
            pass
        click.echo("adsuite serve: stopping", err=True)
        service.stop()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    click.echo("adsuite serve: stopped", err=True)


def _secret(name: str, inventory: Inventory) -> Secret:
    entry = inventory.credentials.get(name)
    secret = credentials.resolve(name, entry.secret_file if entry else None)
    if len(secret.reveal()) < MIN_SECRET_LENGTH:
        raise CredentialError(
            f"the webhook secret {name!r} is shorter than {MIN_SECRET_LENGTH} characters",
            hint="make one with `openssl rand -hex 32`",
        )
    return secret


def _tls(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise InputError("--cert and --key go together")
    return tls_context(cert, key)


def _check_private_folder(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o077:
        raise InputError(f"--password-dir {folder}: others may read it; chmod 700 it")


def _log_requests() -> None:
    """One line per request on stderr even without -v (a server's log is its output)."""
    served = logging.getLogger("adsuite.serve")
    if served.getEffectiveLevel() > logging.INFO:
        served.setLevel(logging.INFO)
