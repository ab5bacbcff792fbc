"""``rmtc run``: list and inspect runs, their status and metrics."""

from __future__ import annotations

import typer

from rmtc.cli import output
from rmtc.cli.commands.entities import details
from rmtc.cli.state import tracker
from rmtc.core.kinds import Kind

app = typer.Typer(help="Runs: training, conversion, curation and other activities.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="run")


@app.command("ls")
def ls(
    ctx: typer.Context,
    param: list[str] = typer.Option([], "--param", "-p", help="KEY=VALUE a run's params must match."),
    metric: list[str] = typer.Option(
        [], "--metric", "-m", help="KEY<VALUE on the latest metric, e.g. loss<0.1."
    ),
    limit: int = typer.Option(100, "--limit", "-n", min=1, help="How many."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List runs, optionally filtered by params and latest metrics."""
    from rmtc.cli.filters import parse_metric, parse_param

    t = tracker(ctx)
    if param or metric:
        runs = t.runs.search(
            params=dict(parse_param(p) for p in param), metrics=[parse_metric(m) for m in metric], limit=limit
        )
    else:
        runs = list(t.find(Kind.RUN, limit=limit).items)
    statuses = {r.id: details(t, r).get("status", "") for r in runs}
    if json_out:
        output.print_json([{**r.to_json(), "status": statuses[r.id]} for r in runs])
        return
    output.console.print(output.entity_table(runs))


@app.command("show")
def show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The run."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a run: params, environment, status, latest metrics, inputs and outputs."""
    t = tracker(ctx)
    run = t.runs.get(ref)
    extra = details(t, run)
    series = t.runs.metrics(run)
    if json_out:
        output.print_json(
            {
                **run.to_json(),
                **extra,
                "series": {k: [{"step": p.step, "value": p.value} for p in pts] for k, pts in series.items()},
            }
        )
        return
    output.show_entity(run, extra)
    for key, pts in series.items():
        output.console.print(f"  {key}: {len(pts)} point(s), last {pts[-1].value:.6g} at step {pts[-1].step}")
