"""``rmtc ls`` and ``rmtc show``: list and inspect entities of any kind."""

from __future__ import annotations

from typing import Any

import typer

from rmtc.cli import output
from rmtc.cli.state import tracker
from rmtc.core.entities import Entity, Run
from rmtc.core.kinds import Kind
from rmtc.errors import NotFound


def register(app: typer.Typer) -> None:
    app.command("ls")(ls)
    app.command("show")(show)


def ls(
    ctx: typer.Context,
    kind: str = typer.Argument(..., help="asset, dataset, dataset_version, party, license, run, model, …"),
    name: str | None = typer.Option(None, "--name", help="Only entities whose name contains this."),
    limit: int = typer.Option(100, "--limit", "-n", min=1, help="How many."),
    cursor: str | None = typer.Option(None, "--cursor", help="Continue after a previous page."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List entities of a kind, oldest first."""
    t = tracker(ctx)
    page = t.find(Kind.parse(kind), name_like=name, limit=limit, cursor=cursor)
    if json_out:
        output.print_json({"items": [e.to_json() for e in page.items], "next_cursor": page.next_cursor})
        return
    output.console.print(output.entity_table(page.items))
    if page.next_cursor:
        output.console.print(f"more: rmtc ls {kind} --cursor {page.next_cursor}")


def show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="UUID, UUID prefix, or kind:name[@version]."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one entity: its fields, its flags, its neighbours, and for runs status and latest metrics."""
    t = tracker(ctx)
    e = t.resolve(ref)
    extra = details(t, e)
    if json_out:
        output.print_json({**e.to_json(), **extra})
        return
    output.show_entity(e, extra)


def details(t: Any, e: Entity) -> dict[str, Any]:
    """What the store knows about an entity beyond its row: flags, edges, run state."""
    extra: dict[str, Any] = {}
    flags = t.store.get_flags([e.id]).get(e.id)
    if flags:
        extra["flags"] = flags
    out_edges = t.store.find_edges(src=[e.id], limit=50)
    in_edges = t.store.find_edges(dst=[e.id], limit=50)
    if out_edges:
        extra["edges_out"] = [f"{x.relation.value} -> {x.dst}" for x in out_edges]
    if in_edges:
        extra["edges_in"] = [f"{x.src} -> {x.relation.value}" for x in in_edges]
    if isinstance(e, Run):
        try:
            status = t.store.get_run_status(e.id)
            extra["status"] = status.state
            if status.message:
                extra["status_message"] = status.message
        except NotFound:
            pass
        latest = t.store.latest_metrics([e.id]).get(e.id)
        if latest:
            extra["metrics"] = latest
    return extra
