"""``rmtc report``: a provenance and rights report to hand to legal."""

from __future__ import annotations

import typer

from rmtc.cli import output
from rmtc.cli.state import tracker
from rmtc.core.entities import parse_date


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="A model version, dataset version, shot frame or any artefact."),
    fmt: str = typer.Option("html", "--format", help="html, md or json."),
    out: str | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    at: str | None = typer.Option(None, "--at", help="Evaluate rights on this date (YYYY-MM-DD)."),
) -> None:
    """Sources, talent, licences and their status, runs and metrics, effective rights, and the graph."""
    from rmtc.services.report import build_report, render

    text = render(build_report(tracker(ctx), ref, at=parse_date(at, "--at") if at else None), fmt)
    output.write_or_print(text, out)
