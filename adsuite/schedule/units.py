"""systemd units for an inventory: the daily drift, health and backup timers, the monthly
restore drill, the ticket server, the SIEM stream of the journal, and their alert.

Units are rendered from ``templates/systemd/*.j2`` (overridable like every template) and
written only when nothing would be overwritten silently: a differing unit at the
destination is refused unless forced, and nothing is written until every unit passed
that check.

Secrets reach the units through systemd credentials, never an environment file: a
credential with a ``secret_file`` in the inventory is loaded from it (``LoadCredential=``),
any other from ``/etc/credstore.encrypted/<name>.cred`` (``LoadCredentialEncrypted=``,
made with ``systemd-creds encrypt``: encrypted at rest with the host's key or TPM).
adsuite reads them from ``$CREDENTIALS_DIRECTORY`` (:mod:`adsuite.connectors.credentials`).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2

from adsuite.errors import InputError
from adsuite.journal.paths import SYSTEM_JOURNAL
from adsuite.runtime.inventory import Inventory, load_inventory
from adsuite.templates import environment

log = logging.getLogger(__name__)

CREDSTORE = Path("/etc/credstore.encrypted")
STATE = Path("/var/lib/adsuite")
REPORTS = STATE / "reports"
SIEM_CURSOR = STATE / "siem.cursor"
SIEM_OUTPUT = Path("/var/log/adsuite/siem.jsonl")
LOGGER = Path("/usr/bin/logger")
ALERT = "adsuite-alert@.service"
_UNSAFE = re.compile(r"[\s\"'\\$%;`]|[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Request:
    """What to schedule: for which inventory, with which playbook and adsuite binary."""

    inventory: Path
    playbook: Path
    adsuite: Path
    listen: str = "127.0.0.1:8443"
    desk_secret: str = "service-desk"
    domain: str | None = None


@dataclass(frozen=True)
class Job:
    """One scheduled or long-running adsuite command and how its unit treats it."""

    name: str
    description: str
    args: list[str]
    calendar: tuple[str, str] | None = None  # (OnCalendar=, RandomizedDelaySec=)
    found: tuple[int, str] | None = None  # an exit code that means "found something"
    restart: bool = False  # a long-running service, restarted on failure
    stdout: str | None = None
    logs: bool = False
    namespaces: bool = False  # the restore drill's unshare needs them
    credentials: list[str] | None = None  # None: every credential of the inventory


@dataclass(frozen=True)
class Unit:
    name: str
    text: str


@dataclass(frozen=True)
class Written:
    name: str
    path: Path
    status: str  # written | replaced | unchanged


@dataclass(frozen=True)
class Plan:
    units: list[Unit]
    encrypt: list[str]  # credentials to put in CREDSTORE with systemd-creds before starting
    timers: list[str]
    services: list[str]


def word(text: str) -> str:
    """*text* as one word of a unit file line; InputError for what would need quoting."""
    if not text or _UNSAFE.search(text):
        raise InputError(
            f"{text!r} cannot go into a systemd unit: no spaces, quotes, '$', '%' or ';'"
        )
    return text


@cache
def _units_env() -> jinja2.Environment:
    shared = environment()
    return jinja2.Environment(
        loader=shared.loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def _render(template: str, **values: object) -> str:
    return _units_env().get_template(f"systemd/{template}").render(**values)


def plan(request: Request) -> Plan:
    """Every unit for *request*'s inventory, rendered; nothing is written."""
    for path in (request.inventory, request.playbook, request.adsuite):
        if not path.is_absolute():
            raise InputError(f"{path}: give an absolute path (a unit runs from anywhere)")
    if not request.playbook.is_file():
        raise InputError(f"{request.playbook}: no such playbook")
    inventory = load_inventory(request.inventory)
    domain_key, _ = inventory.domain(request.domain)
    common = _common(request, inventory)
    only_domain = [] if len(inventory.domains) == 1 else ["--domain", domain_key]
    units, timers = [], []
    for job in _jobs(request, inventory, only_domain):
        units.append(Unit(f"{job.name}.service", _service(common, job, inventory, request.adsuite)))
        if job.calendar is not None:
            units.append(Unit(f"{job.name}.timer", _timer(common, job)))
            timers.append(f"{job.name}.timer")
    units.append(Unit(ALERT, _render("alert@.service.j2", logger=LOGGER, **common)))
    encrypt = sorted(
        name
        for name in {*inventory.credentials, request.desk_secret}
        if name not in inventory.credentials or inventory.credentials[name].secret_file is None
    )
    services = ["adsuite-serve.service", "adsuite-siem.service"]
    return Plan(units, encrypt, timers, services)


def _common(request: Request, inventory: Inventory) -> dict[str, object]:
    return {
        "inventory": word(str(request.inventory)),
        "journal": word(str(inventory.journal or SYSTEM_JOURNAL)),
        "workdir": word(str(request.inventory.parent)),
    }


def _jobs(request: Request, inventory: Inventory, only_domain: list[str]) -> list[Job]:
    inv = ["-i", str(request.inventory)]
    drift_report = ["--format", "html", "-o", str(REPORTS / "drift.html")]
    jobs = [
        Job(
            "adsuite-drift",
            "adsuite daily drift check against the declared state",
            # not --compare last: with no earlier check of this exact playbook (the first
            # run, any edit of it) that exits 1 before checking anything, every day
            ["drift", str(request.playbook), *inv, *drift_report],
            calendar=("*-*-* 07:00:00", "10min"),
            found=(2, "drift found"),
        ),
        Job(
            "adsuite-health",
            "adsuite daily health check of every DC",
            ["health", *inv, *only_domain, "--format", "html", "-o", str(REPORTS / "health.html")],
            calendar=("*-*-* 06:30:00", "10min"),
            found=(2, "a DC is unhealthy"),
        ),
    ]
    if inventory.backups is not None:
        jobs.append(
            Job(
                "adsuite-backup",
                "adsuite daily online backup of the domain",
                ["backup", *inv, *only_domain],
                calendar=("*-*-* 01:30:00", "20min"),
            )
        )
        jobs.append(  # exit 2, a failed drill, fails the unit: OnFailure= alerts
            Job(
                "adsuite-restore-drill",
                "adsuite monthly timed restore drill of the newest backup",
                ["restore-drill", *inv, *only_domain],
                calendar=("*-*-01 03:00:00", "30min"),
                namespaces=True,
            )
        )
    serve = ["serve", *inv, "--listen", request.listen, "--secret", request.desk_secret]
    follow = ["journal", "follow", *inv, "--cursor", str(SIEM_CURSOR), "--format", "json"]
    compliance_map = request.playbook.parent / "compliance.yml"
    if compliance_map.is_file():  # the stream labels runs and findings with clauses
        follow += ["--map", str(compliance_map)]
    return [
        *jobs,
        Job(
            "adsuite-serve",
            "adsuite service-desk ticket server",
            serve,
            restart=True,
            credentials=[request.desk_secret, *_mac_key(inventory)],
        ),
        Job(
            "adsuite-siem",
            "adsuite journal stream to the SIEM, one JSON line per entry",
            follow,
            restart=True,
            stdout=f"append:{SIEM_OUTPUT}",
            logs=True,
            credentials=_mac_key(inventory),
        ),
    ]


def _mac_key(inventory: Inventory) -> list[str]:
    guard = inventory.journal_guard
    return [guard.mac_key] if guard is not None and guard.mac_key is not None else []


def _service(common: dict[str, object], job: Job, inventory: Inventory, adsuite: Path) -> str:
    names = sorted(inventory.credentials) if job.credentials is None else job.credentials
    return _render(
        "service.j2",
        description=job.description,
        type="simple" if job.restart else "oneshot",
        command=" ".join(word(arg) for arg in [str(adsuite), *job.args]),
        success_exit_status=job.found[0] if job.found else None,
        found_means=job.found[1] if job.found else "",
        restart=job.restart,
        stdout=job.stdout,
        logs=job.logs,
        namespaces=job.namespaces,
        credentials=[_credential_line(inventory, name) for name in dict.fromkeys(names)],
        read_write_paths=_writable(inventory),
        **common,
    )


def _timer(common: dict[str, object], job: Job) -> str:
    assert job.calendar is not None
    calendar, delay = job.calendar
    return _render(
        "timer.j2",
        description=job.description.replace("adsuite ", "Run the adsuite ", 1),
        calendar=calendar,
        delay=delay,
        service=f"{job.name}.service",
        **common,
    )


def _credential_line(inventory: Inventory, name: str) -> str:
    entry = inventory.credentials.get(name)
    if entry is not None and entry.secret_file is not None:
        return f"LoadCredential={word(name)}:{word(str(entry.secret_file))}"
    return f"LoadCredentialEncrypted={word(name)}:{CREDSTORE / (word(name) + '.cred')}"


def _writable(inventory: Inventory) -> list[str]:
    """What adsuite writes: the journal's folder (and the ticket queue beside it), the
    backups, the reports, the journal witness file; ``-``: no error if one is missing."""
    paths = {(inventory.journal or SYSTEM_JOURNAL).parent, STATE}
    if inventory.backups is not None:
        paths.add(inventory.backups.folder)
    guard = inventory.journal_guard
    if guard is not None and guard.file is not None:
        paths.add(guard.file.parent)
    return [f"-{word(str(path))}" for path in sorted(paths)]


def install(units: list[Unit], dest: Path, *, force: bool) -> list[Written]:
    """Write *units* into *dest*; InputError, with nothing written, if one would replace
    a differing file and *force* is not given."""
    if not dest.is_dir():
        raise InputError(f"{dest}: no such folder")
    statuses: list[Written] = []
    for unit in units:
        path = dest / unit.name
        status = "written"
        if path.exists() or path.is_symlink():
            same = path.is_file() and path.read_text(encoding="utf-8") == unit.text
            status = "unchanged" if same else "replaced"
            if status == "replaced" and not force:
                raise InputError(f"{path} exists and differs; pass --force to replace it")
        statuses.append(Written(unit.name, path, status))
    for unit, written in zip(units, statuses, strict=True):
        if written.status != "unchanged":
            _write_atomically(written.path, unit.text)
    return statuses


def _write_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)  # units are read by systemd and shown to anyone
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    log.info("wrote %s", path)
