"""The `adsuite` command: one click group; its subcommands are listed in commands.py.

This is the only place that turns an :class:`~adsuite.errors.AdsuiteError` into one
line on stderr and an exit code. No traceback is shown for a user mistake.
"""

from __future__ import annotations

import logging
import sys

import click

from adsuite import __version__
from adsuite.cli.commands import LazyGroup
from adsuite.errors import AdsuiteError


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="adsuite")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
def cli(verbose: int) -> None:
    """Enforce IT regulations on an Active Directory domain: plan, apply, journal, drift.

    Exit status: 0 ok, 2 something found (drift, unhealthy, not compliant, a failed
    drill), 1 error (bad input or options included); each command's --help says which.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> None:
    try:
        code = cli.main(args=argv, prog_name="adsuite", standalone_mode=False)
    except AdsuiteError as error:
        click.echo(f"adsuite: {error}", err=True)
        if error.hint:
            click.echo(f"  hint: {error.hint}", err=True)
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        click.echo("adsuite: aborted", err=True)
        sys.exit(1)
    except click.ClickException as error:
        error.show()
        # click exits 2 on a usage error; here 2 means "found something" (drift, unhealthy)
        sys.exit(1 if isinstance(error, click.UsageError) else error.exit_code)
    except OSError as error:
        click.echo(
            f"adsuite: {error.strerror or error}: {error.filename or ''}".rstrip(": "), err=True
        )
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("adsuite: interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
