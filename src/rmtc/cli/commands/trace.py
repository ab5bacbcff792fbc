"""``rmtc trace``: what an artefact came from, and what was made from it."""

from __future__ import annotations

import typer

from rmtc.cli import output
from rmtc.cli.state import tracker
from rmtc.core.kinds import Kind
from rmtc.errors import InvalidInput


def register(app: typer.Typer) -> None:
    app.command("trace")(trace)


def trace(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The entity to trace from."),
    up: bool = typer.Option(False, "--up", help="Only upstream (sources)."),
    down: bool = typer.Option(False, "--down", help="Only downstream (what was made from it)."),
    depth: int | None = typer.Option(None, "--depth", min=1, help="How many edges at most."),
    kinds: list[str] = typer.Option([], "--kinds", "-k", help="Only show these kinds (repeatable)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Trace an entity upstream and downstream through the provenance graph."""
    if up and down:
        raise InvalidInput("--up and --down together", hint="leave both out to trace both ways")
    direction = "up" if up else "down" if down else "both"
    result = tracker(ctx).lineage.trace(
        ref, direction=direction, depth=depth, kinds=[Kind.parse(k) for k in kinds] or None
    )
    if json_out:
        output.print_json(result.to_json())
        return
    for node in result.nodes:
        arrow = {"root": "*", "up": "↑", "down": "↓"}[node.direction]
        via = f"  [{node.via.relation.value}]" if node.via else ""
        indent = "  " * node.depth
        output.console.print(f"{indent}{arrow} {node.entity.label} ({output.short(node.entity.id)}){via}")
