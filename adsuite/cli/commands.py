"""The list of subcommands `adsuite` offers; each lives in its own module."""

from __future__ import annotations

import click

from adsuite.cli.admin import admin
from adsuite.cli.audit import audit
from adsuite.cli.creds import creds
from adsuite.cli.journal import journal
from adsuite.cli.lab import lab
from adsuite.cli.report import report
from adsuite.cli.rollback import rollback
from adsuite.cli.run import apply, drift, plan
from adsuite.cli.serve import serve
from adsuite.cli.ticket import ticket

ALL: list[click.Command] = [
    plan,
    apply,
    drift,
    rollback,
    audit,
    admin,
    report,
    ticket,
    serve,
    journal,
    creds,
    lab,
]
