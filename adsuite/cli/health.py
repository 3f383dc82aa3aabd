"""`adsuite health`: the daily health check of every DC of a domain.

Exit codes: 0 healthy, 2 unhealthy (any finding, warnings included), 1 error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from adsuite.cli.console import default_path, err, inventory_option, json_text, out
from adsuite.cli.handover import write_output
from adsuite.errors import EXIT_DRIFT
from adsuite.health.model import Report
from adsuite.health.run import check_domain
from adsuite.templates import environment


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "(none)"
    return str(value)


def health_text(report: Report, run_id: str) -> str:
    dcs = ", ".join(report.dcs)
    noun = "DC" if len(report.dcs) == 1 else "DCs"
    lines = [f"Health of {report.domain} ({len(report.dcs)} {noun}: {dcs}), journal run {run_id}"]
    if report.healthy:
        lines.append("HEALTHY: no findings")
    else:
        lines.append(f"UNHEALTHY: {len(report.findings)} finding(s)")
        lines += [f"  {f.severity:<7} {f.id}  {f.text}" for f in report.findings]
    lines += [f"  info    {i.text}" for i in report.info]
    lines.append("measured:")
    for dc, values in report.measured.items():
        shown = ", ".join(f"{name}={_value(v)}" for name, v in values.items())
        lines.append(f"  {dc}: {shown}")
    return "\n".join(lines)


def health_json(report: Report, run_id: str) -> str:
    return json_text({"run_id": run_id, **report.to_dict()})


def health_html(report: Report, run_id: str) -> str:
    template = environment().get_template("reports/health.html.j2")
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return template.render(report=report, run=run_id, generated=generated, value=_value)


@click.command()
@inventory_option
@click.option("--domain", metavar="NAME", help="Domain of the inventory to check.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "html"]),
    default="text",
    show_default=True,
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write the report to a file instead."
)
@click.pass_context
def health(
    ctx: click.Context, inventory: Path | None, domain: str | None, fmt: str, output: Path | None
) -> None:
    """Check every DC: services, DNS, FSMO, clock, certificate, GPO versions.

    Exit status: 0 healthy, 2 unhealthy (any finding, warnings included), 1 error."""
    inventory = default_path(inventory, "ADSUITE_INVENTORY", "inventory/lab.yml", "inventory")
    report, run_id = check_domain(inventory, domain)
    renderers = {"text": health_text, "json": health_json, "html": health_html}
    text = renderers[fmt](report, run_id)
    if output is not None:
        write_output(output, text)
        err.print(f"report written to {output} (journal run {run_id})")
    elif fmt == "text":
        out.print(text, markup=False)
    else:
        click.echo(text)
    ctx.exit(0 if report.healthy else EXIT_DRIFT)
