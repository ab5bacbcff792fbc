"""``make demo``: the pipeline end to end on generated footage, in a fresh project.

Generates plates showing two talents, records the talents and their agreements, ingests the plates
tagged with both, snapshots a dataset and runs an analysis over every frame as a tracked run. Then the ML
pipeline: a paired matte dataset (moving shapes over a textured backdrop -> alpha) from footage of one
talent's shoot, a small U-Net trained on four frames for about a minute on the CPU, converted to
TorchScript, published, run on the held-out frames, exported for Nuke, and finally asked what it contains
and what it may be used for. Every step goes through the same CLI a user types, so the demo is also a
smoke test of it. Ends by saying which files to open.

``python -m rmtc.demo DIR [--quick]``: ``--quick`` trains a few steps on tiny frames (for tests).
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from rich.console import Console

console = Console(highlight=False)

#: Training runs for about this long on the machine at hand (its speed is measured first).
TRAIN_SECONDS = 60.0
TRAIN_FRAMES = "1001-1005"
HELD_OUT = "1006-1012"


def _cli(store: Path, *args: str) -> None:
    from rmtc.cli.main import main

    argv = ["--store", str(store), *args]
    console.print(f"\n[bold]$ rmtc {' '.join(args)}[/]", soft_wrap=True)
    code = main(argv)
    if code != 0:
        raise SystemExit(f"demo step failed: rmtc {' '.join(args)} (exit {code})")


def analyse_frames(store: Path) -> str:
    """A curation run over the dataset: exposure statistics of every frame, logged per frame."""
    import numpy as np

    import rmtc
    from rmtc.vfx.imageio import read_image

    with rmtc.open(store) as t:
        version = t.resolve("dataset:demo-plates@latest")
        members = t.datasets.members(version)
        with t.runs.start(
            "exposure-check", run_type="curation", params={"clip_level": 1.0}, inputs=[version]
        ) as run:
            for step, member in enumerate(members):
                asset = t.get(member.asset)
                path = t.blobs.local_path(asset.content_hash or "") or asset.attrs.get("uri")
                pixels = read_image(str(path)).pixels.astype(np.float32)
                rgb = pixels[..., :3]
                luminance = rgb @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
                run.log_metrics(
                    {
                        "mean_luminance": float(luminance.mean()),
                        "clipped_fraction": float((rgb > 1.0).any(axis=-1).mean()),
                    },
                    step=step,
                )
        return str(run.id)


def training_steps(pairs: list[tuple[Path, Path]], recipe: dict[str, object], seconds: float) -> int:
    """How many steps of ``recipe`` take about ``seconds`` here: a few steps are timed first."""
    import numpy as np

    from rmtc.ml.data import ArrayPairs
    from rmtc.ml.recipe import parse_recipe
    from rmtc.ml.train import Trainer
    from rmtc.vfx.imageio import read_image

    train = recipe["train"]
    assert isinstance(train, dict)
    probe = {k: v for k, v in recipe.items() if k != "solution"}
    probe["train"] = {**train, "steps": 8, "validate_every": 0, "contact_sheet": False, "progress": False}
    frames = [
        (read_image(a).pixels.astype(np.float32), read_image(b).pixels.astype(np.float32)) for a, b in pairs
    ]
    trainer = Trainer(parse_recipe(probe), ArrayPairs(*map(list, zip(*frames, strict=True))), None)
    trainer.fit(until=2)  # the first steps pay for allocation
    started = time.perf_counter()
    trainer.fit(until=8)
    per_step = (time.perf_counter() - started) / 6
    return max(150, min(600, int(seconds / per_step)))


def write_recipe(path: Path, recipe: dict[str, object]) -> Path:
    from rmtc.ml.recipe import dump_recipe, parse_recipe

    solution = recipe.get("solution")
    text = dump_recipe(parse_recipe({k: v for k, v in recipe.items() if k != "solution"}))
    path.write_text((f'solution = "{solution}"\n' if solution else "") + text, encoding="utf-8")
    return path


def ml_pipeline(root: Path, store: Path, *, quick: bool) -> dict[str, str]:
    """Matte dataset -> train -> convert -> publish -> infer -> Nuke export -> contains; returns what to
    open."""
    from rmtc.vfx.synthetic import make_matte_task

    matte_dir = root / "footage" / "matte"
    size = (64, 48) if quick else (160, 128)
    console.print(
        f"\n[bold]generating a matte task (shapes over a textured backdrop -> alpha) in {matte_dir}[/]"
    )
    manifest = make_matte_task(matte_dir, frames=range(1001, 1013), size=size)
    plates, mattes = manifest.sequence("plate").pattern, manifest.sequence("matte").pattern
    agreement = "ava_reyes-agreement"
    _cli(store, "ingest", plates, "--talent", "ava_reyes", "--license", agreement, "--no-progress")
    _cli(store, "ingest", mattes, "--license", agreement, "--no-progress")
    _cli(
        store,
        "solution",
        "add",
        "matte-cleanup",
        "--inputs",
        "rgb",
        "--outputs",
        "alpha",
        "--needs",
        "training",
    )
    _cli(store, "dataset", "create", "matte", "--paired", "--description", "plates -> alpha, ava's shoot")
    _cli(store, "dataset", "add", "matte", "--input", plates, "--target", mattes, "--frames", TRAIN_FRAMES)
    _cli(store, "dataset", "snapshot", "matte", "-m", "four training frames and one to validate on")

    recipe: dict[str, object] = {
        "version": "rmtc.Recipe/1",
        "name": "matte-small",
        "solution": "matte-cleanup",
        "data": {"dataset": "matte@1", "patch_size": 32 if quick else 64, "batch_size": 8,
                 "validation_count": 1, "validation_size": 128},
        "model": {"architecture": "unet", "size": "small"},
        "train": {"steps": 6, "warmup_steps": 30, "learning_rate": 0.002, "validate_every": 60,
                  "checkpoint_every": 0, "val_metrics": ["l1", "iou"]},
    }  # fmt: skip
    train = recipe["train"]
    assert isinstance(train, dict)
    if quick:
        train.update(steps=4, warmup_steps=1, validate_every=2)
    else:
        pairs = manifest.pairs("plate", "matte")[:5]
        train["steps"] = steps = training_steps(pairs, recipe, TRAIN_SECONDS)
        train["checkpoint_every"] = (steps + 1) // 2
        console.print(f"\n[bold]training {steps} steps: about a minute on this machine[/]")
    recipe_path = write_recipe(root / "matte.toml", recipe)
    _cli(store, "train", str(recipe_path), "--out", str(root / "training"))

    weights = _trained(store)
    sheets = sorted((root / "training" / "contact_sheets").glob("*.png"))
    sheet = str(sheets[-1]) if sheets else "(no contact sheet)"
    _cli(store, "convert", weights, "--to", "torchscript")
    _cli(store, "publish", weights, "--name", "matte", "--alias", "production")
    renders = root / "renders"
    _cli(store, "infer", "matte@production", "--input", plates, "--output", str(renders / "matte.####.exr"),
         "--frames", HELD_OUT)  # fmt: skip
    first = _first_output(store)
    iou = held_out_iou(renders, matte_dir)
    console.print(f"\n[bold]held-out frames {HELD_OUT}: mean IoU of the predicted matte {iou:.3f}[/]")
    _cli(store, "nuke", "export", "matte@production", str(root / "nuke"))
    _cli(store, "contains", first, "ava_reyes")
    _cli(store, "contains", first, "marcus_cole")
    _cli(store, "rights", "model_version:matte@1")
    _cli(store, "solution", "best", "matte-cleanup", "--dcc", "nuke")
    return {"sheet": sheet, "renders": str(renders), "nuke": str(root / "nuke"), "first": first}


def _trained(store: Path) -> str:
    """The id of the weights the newest training run made."""
    import rmtc
    from rmtc.core.entities import Weights
    from rmtc.core.kinds import Kind, Relation

    with rmtc.open(store) as t:
        run = t.find(Kind.RUN, name="matte-small", newest_first=True, limit=1).items[0]
        made = t.neighbours(run, Relation.GENERATED_BY, direction="in")
        return str(next(w for w in made if isinstance(w, Weights)).id)


def _first_output(store: Path) -> str:
    import rmtc
    from rmtc.core.kinds import Kind, Relation

    with rmtc.open(store) as t:
        inference = t.find(Kind.INFERENCE, newest_first=True, limit=1).items[0]
        outputs = t.neighbours(inference, Relation.GENERATED_BY, direction="in")
        return str(min(outputs, key=lambda a: a.name).id)


def held_out_iou(renders: Path, truth: Path) -> float:
    """The mean intersection over union of predicted and true mattes (at 0.5) on the held-out frames."""
    import numpy as np

    from rmtc.vfx.imageio import read_image

    scores = []
    for out in sorted(renders.glob("matte.*.exr")):
        pred = read_image(out).pixels[..., 0] > 0.5
        want = read_image(truth / out.name).pixels[..., 0] > 0.5
        union = np.logical_or(pred, want).sum()
        scores.append(float(np.logical_and(pred, want).sum() / union) if union else 1.0)
    return float(np.mean(scores)) if scores else 0.0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    quick = "--quick" in args
    rest = [a for a in args if a != "--quick"]
    root = Path(rest[0] if rest else "demo").resolve()
    if root.exists():
        shutil.rmtree(root)
    footage, store = root / "footage", root / "project"
    from rmtc.vfx.synthetic import make_plates

    started = time.perf_counter()
    console.print(f"[bold]generating plates for two talents in {footage}[/]")
    manifest = make_plates(footage, frames=range(1001, 1013), size=(64, 64) if quick else (256, 256))
    sequences = {s.talent or s.role: s.pattern for s in manifest.sequences if s.role == "plate"}

    _cli(store, "init", str(store))
    for talent in sequences:
        _cli(store, "talent", "add", talent)
        _cli(
            store,
            "license",
            "add",
            f"{talent}-agreement",
            "--grants",
            "training",
            "--grants",
            "inference",
            "--grants",
            "derivatives",
            "--party",
            talent,
            "--finish",
            "2028-12-31",
        )
    for talent, pattern in sequences.items():
        _cli(
            store,
            "ingest",
            pattern,
            "--talent",
            talent,
            "--license",
            f"{talent}-agreement",
            "--dataset",
            "demo-plates",
            "--no-progress",
        )
    _cli(store, "dataset", "snapshot", "demo-plates", "-m", "both talents, all frames")
    console.print("\n[bold]analysing every frame as a tracked run[/]")
    run_id = analyse_frames(store)
    _cli(store, "run", "show", run_id)
    _cli(store, "trace", "dataset:demo-plates@1", "--up", "--kinds", "party", "--kinds", "license")

    opened = ml_pipeline(root, store, quick=quick)
    _cli(store, "verify")

    exe = Path(sys.executable).parent / "rmtc"
    console.print(
        f"\n[bold green]demo complete[/] in {time.perf_counter() - started:.0f} s. Open:\n"
        f"  {opened['sheet']}\n"
        "      the last contact sheet (PNG): input / prediction / target on a held-out frame\n"
        f"  {opened['renders']}/matte.*.exr\n"
        "      the predicted mattes of the held-out frames (EXR; their headers carry rmtc/model_version\n"
        "      and rmtc/inference)\n"
        f"  {opened['nuke']}/README.txt\n"
        "      the model for Nuke: .pt, make_cat.py for NukeX, the Inference node snippet, the plug-in\n"
        f"Then try:\n"
        f"  cd {store}\n"
        f"  {exe} trace {opened['first'][:8]} --up     # an output frame, back to the talent and licence\n"
        f"  {exe} run show {run_id[:8]}\n"
        f"  {exe} revoke ava_reyes --dry-run   # what withdrawing consent would touch\n"
        f"  {exe} log                          # the audit log\n"
        f"Explore it in a browser (the Explorer, at http://127.0.0.1:8765/):\n"
        f"  {exe} user add me --role admin && {exe} token create me   # paste the token into the page\n"
        f"  {exe} serve\n"
        f"Footage: {footage}\nProject: {store / '.rmtc'}",
        soft_wrap=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
