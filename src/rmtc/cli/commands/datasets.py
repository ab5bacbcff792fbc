"""``rmtc dataset``: create, add to, snapshot, list and show datasets."""

from __future__ import annotations

import typer

from rmtc.cli import output
from rmtc.cli.state import tracker
from rmtc.core.entities import Asset
from rmtc.errors import InvalidInput

app = typer.Typer(help="Datasets and their immutable versions.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="dataset")


@app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The dataset's name."),
    paired: bool = typer.Option(False, "--paired", help="Members are input -> target pairs."),
    description: str = typer.Option("", "--description", help="What it is for."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create an empty dataset."""
    ds = tracker(ctx).datasets.create(name, description=description, paired=paired)
    if json_out:
        output.print_json(ds.to_json())
    else:
        output.console.print(f"created {ds.label} ({ds.id})")


@app.command("add")
def add(
    ctx: typer.Context,
    dataset: str = typer.Argument(..., help="The dataset (name or reference)."),
    refs: list[str] = typer.Argument(None, help="Assets to add (references)."),
    inputs: str | None = typer.Option(None, "--input", help="Paired: the input sequence (ingested if new)."),
    targets: str | None = typer.Option(
        None, "--target", help="Paired: the target sequence, matched by frame."
    ),
    frames: str | None = typer.Option(None, "--frames", "-f", help="Frame range for --input/--target."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Stage assets (or input/target pairs matched by frame) into the dataset's working set."""
    t = tracker(ctx)
    name = _ref(dataset)
    if inputs or targets:
        if not (inputs and targets):
            raise InvalidInput("paired add needs both --input and --target", hint="give both sequences")
        ins = t.ingestor.ingest([inputs], frames=frames)
        outs = t.ingestor.ingest([targets], frames=frames)
        by_frame = {f.frame: f.asset for f in outs.files}
        missing = [f.frame for f in ins.files if f.frame not in by_frame]
        if missing or len(ins.files) != len(outs.files):
            raise InvalidInput(
                f"input and target sequences do not pair up: {len(ins.files)} input and {len(outs.files)} "
                f"target frames" + (f", no target for frames {missing[:10]}" if missing else ""),
                hint="give sequences with the same frames, or narrow --frames",
            )
        added = t.datasets.add_pairs(name, [(f.asset, by_frame[f.frame]) for f in ins.files])
    else:
        if not refs:
            raise InvalidInput("nothing to add", hint="name assets, or --input/--target sequences")
        added = t.datasets.add(name, refs)
    if json_out:
        output.print_json({"staged": added})
    else:
        output.console.print(
            f"staged {added} new member(s); freeze them with `rmtc dataset snapshot {dataset}`"
        )


@app.command("snapshot")
def snapshot(
    ctx: typer.Context,
    dataset: str = typer.Argument(..., help="The dataset."),
    message: str = typer.Option("", "--message", "-m", help="Why this version exists."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Freeze the working set into a new immutable version (or the latest, if nothing changed)."""
    v = tracker(ctx).datasets.snapshot(_ref(dataset), message=message)
    if json_out:
        output.print_json(v.to_json())
    else:
        output.console.print(f"{v.label}: {v.member_count} member(s), hash {v.content_hash} ({v.id})")


@app.command("derive")
def derive(
    ctx: typer.Context,
    dataset: str = typer.Argument(..., help="The dataset the new version belongs to (created if new)."),
    parents: list[str] = typer.Option(..., "--from", help="A parent version, NAME@VERSION (repeatable)."),
    include_talent: list[str] = typer.Option([], "--include-talent", help="Keep only frames showing them."),
    exclude_talent: list[str] = typer.Option([], "--exclude-talent", help="Drop frames showing them."),
    frames: str | None = typer.Option(None, "--frames", "-f", help="Keep only these frames, e.g. 1001-1050."),
    transform: list[str] = typer.Option(
        [], "--transform", help="crop=x,y,w,h | resize=w,h | colour=SRC:DST (repeatable, in order)."
    ),
    message: str = typer.Option("", "--message", "-m", help="Why this version exists."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Derive a new version by filtering and transforming others, recorded as a curation run."""
    from rmtc.services.derive import Derivation

    ops = []
    for item in transform:
        name, sep, arg = item.partition("=")
        if not sep:
            raise InvalidInput(f"transform {item!r} is not NAME=ARGS", hint="e.g. --transform resize=128,128")
        ops.append((name.strip(), arg.strip()))
    how = Derivation(tuple(include_talent), tuple(exclude_talent), frames, tuple(ops))
    v = tracker(ctx).deriver.derive(dataset, [_ref(p) for p in parents], how, message=message)
    if json_out:
        output.print_json(v.to_json())
    else:
        output.console.print(f"{v.label}: {v.member_count} member(s), derived ({v.id})")


@app.command("ls")
def ls(ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List datasets with their latest version."""
    t = tracker(ctx)
    rows = []
    for ds in t.iter(t.query("dataset")):
        latest = t.latest_version(ds.kind, ds.name)
        rows.append((ds, latest))
    if json_out:
        output.print_json(
            [{**ds.to_json(), "latest_version": latest.version if latest else None} for ds, latest in rows]
        )
        return
    for ds, latest in rows:
        where = f"@{latest.version} ({latest.attrs.get('message', '')})" if latest else "(no version yet)"
        output.console.print(f"{output.short(ds.id)}  {ds.name:<30} {where}")


@app.command("show")
def show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="dataset NAME or NAME@VERSION."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a dataset's versions, or one version's members."""
    t = tracker(ctx)
    entity = t.resolve(_ref(ref))
    if entity.kind.value == "dataset":
        versions = t.datasets.versions(entity)
        staged = t.datasets.staged(entity)
        if json_out:
            output.print_json(
                {**entity.to_json(), "versions": [v.to_json() for v in versions], "staged": len(staged)}
            )
            return
        output.show_entity(entity, {"staged": len(staged)})
        output.console.print(output.entity_table(versions, title="versions"))
        return
    members = t.datasets.members(entity)
    assets = t.store.get_entities([m.asset for m in members] + [m.target for m in members if m.target])
    if json_out:
        output.print_json(
            {
                **entity.to_json(),
                "members": [
                    {"asset": str(m.asset), "target": str(m.target) if m.target else None, "pair": m.pair}
                    for m in members
                ],
            }
        )
        return
    output.show_entity(entity)
    for m in members:
        a = assets[m.asset]
        name = a.name if isinstance(a, Asset) else str(m.asset)
        if m.target:
            output.console.print(f"  {name} -> {assets[m.target].name}")
        else:
            output.console.print(f"  {name}")


def _ref(text: str) -> str:
    """A bare dataset name (``plates`` or ``plates@2``) is read as ``dataset:…``."""
    return text if ":" in text else f"dataset:{text}"
