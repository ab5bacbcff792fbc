"""ML commands: ``train``, ``convert``, ``publish``, ``infer``, ``solution …`` and ``model …``.

The services they call (:mod:`rmtc.services.ml`) import torch only when they run, so ``rmtc --help``
and every other command stay fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

from rmtc.cli import output
from rmtc.cli.state import tracker
from rmtc.errors import InvalidInput
from rmtc.services.ml import ML

solution_app = typer.Typer(
    help="Solutions: the problems models are trained for, and their best models.", no_args_is_help=True
)
model_app = typer.Typer(
    help="Models: push files trained elsewhere; move aliases of published versions.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("convert")(convert)
    app.command("publish")(publish)
    app.command("infer")(infer)
    app.add_typer(solution_app, name="solution")
    app.add_typer(model_app, name="model")


def _ml(ctx: typer.Context) -> ML:
    return ML(tracker(ctx))


def _blob_path(ctx: typer.Context, digest: str | None) -> str:
    local = tracker(ctx).blobs.local_path(digest or "") if digest else None
    return local or f"blob {(digest or '')[:16]}"


def train(
    ctx: typer.Context,
    recipe: Path | None = typer.Argument(None, help="The recipe (TOML, rmtc.Recipe/1)."),
    resume: str | None = typer.Option(
        None, "--resume", help="Continue the run of this checkpoint (reference or directory)."
    ),
    solution: str | None = typer.Option(None, "--solution", help="The solution the run belongs to."),
    out: Path | None = typer.Option(None, "--out", help="Keep the trainer's files here (default: none)."),
    device: str | None = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N."),
    until: int | None = typer.Option(None, "--until", min=1, help="Stop after this step (resume later)."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Do not draw a progress bar."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Train a model from a recipe as a tracked run, or resume one from a checkpoint."""
    if (recipe is None) == (resume is None):
        raise InvalidInput("give a recipe, or --resume CHECKPOINT", hint="rmtc train RECIPE.toml")
    progress = False if (no_progress or json_out or not output.err_console.is_terminal) else None
    ml = _ml(ctx)
    if resume is not None:
        if solution is not None:
            raise InvalidInput("--solution cannot change when resuming", hint="leave it out")
        outcome = ml.training.resume(resume, out_dir=out, progress=progress, device=device, until=until)
    else:
        assert recipe is not None
        outcome = ml.training.train(
            recipe, solution=solution, out_dir=out, progress=progress, device=device, until=until
        )
    if json_out:
        output.print_json(outcome.to_json())
        return
    run = outcome.run
    output.console.print(
        f"run {run.name} ({output.short(run.id)}) {outcome.state} at step {outcome.step}/{outcome.steps}"
    )
    if outcome.validation:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in sorted(outcome.validation.items()))
        output.console.print(f"  validation: {shown}")
    for ckpt in outcome.checkpoints:
        output.console.print(f"  checkpoint {ckpt.name} ({output.short(ckpt.id)})")
    for sheet in outcome.sheets[-1:]:
        output.console.print(
            f"  contact sheet: {_blob_path(ctx, sheet.content_hash)}", markup=False, soft_wrap=True
        )
    if outcome.weights is not None:
        w = outcome.weights
        output.console.print(f"  weights {w.name} ({output.short(w.id)})")
        output.console.print(f"  next: rmtc publish {output.short(w.id)} --name NAME")
    elif outcome.checkpoints:
        output.console.print(f"  resume: rmtc train --resume {output.short(outcome.checkpoints[-1].id)}")


def convert(
    ctx: typer.Context,
    weights: str = typer.Argument(..., help="The weights to convert."),
    to: str = typer.Option(..., "--to", help="torchscript, onnx, or a converter plug-in's format."),
    exporter: str | None = typer.Option(None, "--exporter", help="ONNX: auto, dynamo or legacy."),
    force: bool = typer.Option(False, "--force", help="Convert again even if a variant exists."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Convert weights (rights permitting) and record the result as their variant."""
    options = {"exporter": exporter} if exporter else {}
    variant = _ml(ctx).conversions.convert(weights, to, force=force, **options)
    if json_out:
        output.print_json(variant.to_json())
        return
    facts = variant.attrs
    diff = facts.get("max_abs_diff")
    output.console.print(f"{variant.format}: {variant.name} ({output.short(variant.id)})")
    output.console.print(
        f"  channels {facts.get('in_channels')} -> {facts.get('out_channels')}, scale {facts.get('scale')}, "
        f"max abs diff {diff if diff is None else f'{diff:.3g}'}, exporter {facts.get('exporter')}"
        + (f", Nuke {facts['min_nuke_version']}+" if facts.get("min_nuke_version") else "")
    )


def publish(
    ctx: typer.Context,
    weights: str = typer.Argument(..., help="The weights to publish."),
    name: str = typer.Option(..., "--name", help="The model's name."),
    alias: str | None = typer.Option(None, "--alias", help="Point this alias (e.g. production) at it."),
    variant: list[str] = typer.Option(
        [], "--variant", help="A converted format to include (repeatable; default torchscript)."
    ),
    exporter: str | None = typer.Option(None, "--exporter", help="ONNX exporter when converting now."),
    description: str = typer.Option("", "--description", help="Release notes."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Publish weights as the next immutable version of a model, with their converted variants."""
    options = {"exporter": exporter} if exporter else {}
    version = _ml(ctx).publisher.publish(
        weights, name, alias=alias, variants=variant or None, description=description, **options
    )
    if json_out:
        output.print_json(version.to_json())
        return
    output.console.print(f"published {version.label} ({version.id})")
    output.console.print(f"  variants: {', '.join(sorted(version.variants))}")
    if alias:
        output.console.print(f"  alias: {version.name}@{alias}")


def infer(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="MODEL[@alias|@version], e.g. matte@production."),
    input: str = typer.Option(..., "--input", "-i", help="Input frames, e.g. 'plate.####.exr'."),
    output_pattern: str = typer.Option(..., "--output", "-o", help="Output frames, e.g. 'out.####.exr'."),
    frames: str | None = typer.Option(None, "--frames", "-f", help="Frame range, e.g. 1001-1100."),
    tile: int = typer.Option(512, "--tile", min=16, help="Tile size in pixels."),
    overlap: int = typer.Option(64, "--overlap", min=0, help="Tile overlap in pixels."),
    device: str | None = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N."),
    session: str | None = typer.Option(None, "--session", help="Record into this session."),
    nonfinite: str = typer.Option("error", "--nonfinite", help="NaN/Inf pixels: error, or fix (set to 0)."),
    variant: str | None = typer.Option(
        None, "--variant", help="What runs: safetensors, torchscript or onnx (default: the weights)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Run a published model over frames (tiled) and record the inference with its inputs and outputs."""
    outcome = _ml(ctx).inferences.run(
        model,
        input=input,
        output=output_pattern,
        frames=frames,
        tile=tile,
        overlap=overlap,
        device=device,
        session=session,
        nonfinite=nonfinite,
        variant=variant,
    )
    if json_out:
        output.print_json(outcome.to_json())
        return
    inf = outcome.inference
    output.console.print(
        f"inference {output.short(inf.id)} with {outcome.model_version.label}: "
        f"{len(outcome.outputs)} frame(s)" + (f" ({inf.frames})" if inf.frames else "")
    )
    output.console.print(f"  session {output.short(outcome.session.id)}")
    for asset in outcome.outputs[:3]:
        output.console.print(f"  wrote {asset.uri}", markup=False, soft_wrap=True)
    if len(outcome.outputs) > 3:
        output.console.print(f"  … and {len(outcome.outputs) - 3} more")


@solution_app.command("add")
def solution_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The solution's name, e.g. beauty-cleanup."),
    inputs: list[str] = typer.Option([], "--inputs", help="Input channels, e.g. rgba (repeatable)."),
    outputs: list[str] = typer.Option([], "--outputs", help="Output channels, e.g. alpha (repeatable)."),
    needs: list[str] = typer.Option([], "--needs", help="A right the work needs (repeatable)."),
    jurisdiction: str | None = typer.Option(None, "--jurisdiction", help="Where the work happens."),
    description: str = typer.Option("", "--description", help="The problem, in words."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record a solution: a problem with its channels and the rights it needs."""
    s = _ml(ctx).solutions.add(
        name, inputs=inputs, outputs=outputs, needs=needs, jurisdiction=jurisdiction, description=description
    )
    if json_out:
        output.print_json(s.to_json())
    else:
        output.console.print(f"added {s.label} ({s.id})")


@solution_app.command("ls")
def solution_ls(
    ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """List solutions."""
    found = _ml(ctx).solutions.all()
    if json_out:
        output.print_json([s.to_json() for s in found])
        return
    for s in found:
        needs = f" needs {', '.join(s.rights_needed)}" if s.rights_needed else ""
        output.console.print(f"{s.name}: {','.join(s.inputs)} -> {','.join(s.outputs)}{needs}", markup=False)


@solution_app.command("best")
def solution_best(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The solution."),
    metric: str = typer.Option("val_loss", "--metric", help="The run metric to rank by."),
    order: str = typer.Option("auto", "--order", help="min, max, or auto (by the metric's name)."),
    dcc: str | None = typer.Option(None, "--dcc", help="nuke, cli or onnx: only what it can load."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The best published model of a solution, by a metric of the run that made it."""
    best = _ml(ctx).solutions.best(name, metric=metric, order=order, dcc=dcc)
    if json_out:
        output.print_json(best.to_json())
    elif best.best is None:
        output.console.print(f"{best.solution.label}: no published model qualifies")
    else:
        b = best.best
        output.console.print(
            f"{b.model_version.label} ({b.model_version.id}): {metric}={b.value:.4g} ({best.order}) "
            f"from {b.run.label}"
        )
    for mv, why in best.skipped:
        output.err_console.print(f"skipped {mv.label}: {why}", markup=False)
    if best.best is None:
        raise typer.Exit(1)


@model_app.command("push")
def model_push(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A TorchScript (.pt), ONNX (.onnx) or safetensors file."),
    name: str = typer.Option(..., "--name", help="The model's name."),
    license: str = typer.Option(..., "--license", "-l", help="The licence it came under."),
    source: str | None = typer.Option(None, "--source", help="Where it came from (URL)."),
    architecture: str | None = typer.Option(
        None, "--architecture", help="For safetensors without rmtc metadata: e.g. unet."
    ),
    scale: int = typer.Option(1, "--scale", min=1, max=8, help="For such safetensors: the output scale."),
    in_channels: int | None = typer.Option(None, "--in-channels", help="TorchScript: input channels."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record a model trained elsewhere as Model + Weights under its licence (checked first)."""
    pushed = _ml(ctx).models.push(
        file,
        name=name,
        license=license,
        source=source,
        architecture=architecture,
        scale=scale,
        in_channels=in_channels,
    )
    if json_out:
        output.print_json(pushed.to_json())
        return
    f = pushed.facts
    output.console.print(
        f"pushed {pushed.model.label}: weights {pushed.weights.name} ({output.short(pushed.weights.id)}), "
        f"{f['format']}, {f['in_channels']} -> {f['out_channels']} channels, scale {f['scale']}",
        markup=False,
    )


@model_app.command("alias")
def model_alias(
    ctx: typer.Context,
    version: str = typer.Argument(..., help="The model version, e.g. matte@3."),
    alias: str = typer.Argument(..., help="The alias, e.g. production."),
    remove: bool = typer.Option(False, "--remove", help="Remove the alias from the model instead."),
) -> None:
    """Point an alias at a model version (never a blocked one), or remove it."""
    ml = _ml(ctx)
    if remove:
        from rmtc.services.ml.models import resolve_version

        name = resolve_version(ml.t, version).name
        ml.publisher.remove_alias(name, alias)
        output.console.print(f"removed {name}@{alias}")
        return
    mv = ml.publisher.set_alias(version, alias)
    output.console.print(f"{mv.name}@{alias} -> {mv.label} ({mv.id})")
