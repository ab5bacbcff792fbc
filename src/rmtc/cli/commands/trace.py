"""``rmtc trace``: what an artefact came from, and what was made from it."""

from __future__ import annotations

import sys

import typer

from rmtc.cli import output
from rmtc.cli.state import tracker
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import InvalidInput, NotFound


def register(app: typer.Typer) -> None:
    app.command("trace")(trace)
    app.command("export")(export)


def export(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The artefact whose provenance to export."),
    fmt: str = typer.Option(..., "--format", help="prov-json, prov-n, spdx or openlineage."),
    direction: str = typer.Option("up", "--direction", help="up (sources), down, or both."),
    out: str | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
) -> None:
    """Export provenance in a standard: W3C PROV, SPDX 3.0 (AI and Dataset), OpenLineage."""
    from rmtc.standards import export as do_export

    if direction not in ("up", "down", "both"):
        raise InvalidInput(f"unknown direction {direction!r}", hint="use up, down or both")
    text = do_export(tracker(ctx), ref, fmt, direction=direction)  # type: ignore[arg-type]
    output.write_or_print(text, out)


def trace(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The entity to trace from."),
    up: bool = typer.Option(False, "--up", help="Only upstream (sources)."),
    down: bool = typer.Option(False, "--down", help="Only downstream (what was made from it)."),
    depth: int | None = typer.Option(None, "--depth", min=1, help="How many edges at most."),
    kinds: list[str] = typer.Option([], "--kinds", "-k", help="Only show these kinds (repeatable)."),
    relation: list[str] = typer.Option([], "--relation", help="Only walk these relations (repeatable)."),
    to: str | None = typer.Option(None, "--to", help="Show only the shortest path to this entity."),
    fmt: str = typer.Option("text", "--format", help="text, json or dot."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON (same as --format json)."),
) -> None:
    """Trace an entity upstream and downstream through the provenance graph."""
    if fmt not in ("text", "json", "dot"):
        raise InvalidInput(f"unknown format {fmt!r}", hint="use text, json or dot")
    fmt = "json" if json_out else fmt
    if to is not None:
        _path(ctx, ref, to, fmt)
        return
    if up and down:
        raise InvalidInput("--up and --down together", hint="leave both out to trace both ways")
    direction = "up" if up else "down" if down else "both"
    result = tracker(ctx).lineage.trace(
        ref,
        direction=direction,
        depth=depth,
        kinds=[Kind.parse(k) for k in kinds] or None,
        relations=[Relation.parse(r) for r in relation] or None,
    )
    if fmt == "json":
        output.print_json(result.to_json())
        return
    if fmt == "dot":
        sys.stdout.write(result.to_dot())
        return
    for node in result.nodes:
        arrow = {"root": "*", "up": "↑", "down": "↓"}[node.direction]
        via = f"  [{node.via.relation.value}]" if node.via else ""
        indent = "  " * node.depth
        output.console.print(f"{indent}{arrow} {node.entity.label} ({output.short(node.entity.id)}){via}")


def _path(ctx: typer.Context, a: str, b: str, fmt: str) -> None:
    chain = tracker(ctx).lineage.path(a, b)
    if chain is None:
        raise NotFound(
            f"no provenance path links {a} and {b}", hint="they are not upstream or downstream of each other"
        )
    if fmt == "json":
        output.print_json(
            [{**e.to_json(), "relation": edge.relation.value if edge else None} for e, edge in chain]
        )
        return
    for entity, edge in chain:
        rel = f"  -[{edge.relation.value}]-" if edge else ""
        output.console.print(f"{entity.label} ({output.short(entity.id)}){rel}", markup=False)
