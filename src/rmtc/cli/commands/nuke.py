"""``rmtc nuke``: export a model version for Nuke, record ``.cat`` files and CopyCat training runs."""

from __future__ import annotations

from pathlib import Path

import typer

from rmtc.cli import output
from rmtc.cli.state import tracker

app = typer.Typer(help="Nuke: export for the Inference node, .cat files, CopyCat runs.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="nuke")


@app.command("export")
def export(
    ctx: typer.Context,
    model_version: str = typer.Argument(..., help="The model version, e.g. matte@production."),
    directory: Path = typer.Argument(..., help="Where to write the Nuke files."),
    store: str | None = typer.Option(
        None, "--record-to", help="Where Nuke records renders: a project folder or the service URL."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Write the .pt, a CatFileCreator script for NukeX, an Inference node snippet and the plug-in."""
    from rmtc.integrations.nuke.export import export_for_nuke

    done = export_for_nuke(tracker(ctx), model_version, directory, store=store)
    if json_out:
        output.print_json(done.to_json())
        return
    c = done.contract
    output.console.print(
        f"exported {done.model_version.label}: {c['in_channels']} -> {c['out_channels']} channels, "
        f"scale {c['scale']}, Nuke {c['min_nuke_version']}+"
    )
    for label, path in (
        ("TorchScript", done.torchscript),
        ("make the .cat with NukeX", done.cat_script),
        ("Inference node", done.snippet),
        ("plug-in (NUKE_PATH)", done.plugin),
    ):
        output.console.print(f"  {label}: {path}", markup=False, soft_wrap=True)


@app.command("register-cat")
def register_cat(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The .cat file CatFileCreator wrote."),
    model_version: str = typer.Option(..., "--model-version", help="The model version it was made from."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record a .cat file as a variant of its model version."""
    from rmtc.services.ml.nuke import NukeRecords

    cat = NukeRecords(tracker(ctx)).register_cat(file, model_version)
    if json_out:
        output.print_json(cat.to_json())
    else:
        output.console.print(
            f"registered {cat.name} ({output.short(cat.id)}) as a variant of {model_version}"
        )


@app.command("import-copycat")
def import_copycat(
    ctx: typer.Context,
    data_dir: Path = typer.Argument(..., help="CopyCat's Data Directory."),
    frames: list[str] = typer.Option(
        [], "--frames", help="A sequence it was trained on, e.g. 'in.####.exr' (repeatable)."
    ),
    name: str | None = typer.Option(None, "--name", help="The run's name."),
    solution: str | None = typer.Option(None, "--solution", help="The solution the run belongs to."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record a CopyCat training directory (.cat checkpoints, contact sheets, frames) as a run."""
    from rmtc.services.ml.nuke import NukeRecords

    t = tracker(ctx)
    done = NukeRecords(t).import_copycat(data_dir, frames=frames, name=name, solution=solution)
    if json_out:
        output.print_json(done.to_json())
        return
    output.console.print(
        f"imported {done.run.label} ({output.short(done.run.id)}): {len(done.checkpoints)} checkpoint(s), "
        f"{len(done.sheets)} contact sheet(s), {len(done.frames)} frame(s)"
    )
    output.console.print(f"  weights {done.weights.name} ({output.short(done.weights.id)})", markup=False)
    if done.frames:
        report = t.rights.check(done.run, "training")
        for w in report.withheld.get("training", []):
            output.err_console.print(f"warning: training was not allowed: {w.reason}", markup=False)
