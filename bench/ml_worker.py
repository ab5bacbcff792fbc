"""The ML benchmark's measurements, each in a fresh process that prints one JSON object as its last line.

``python -m bench.ml_worker PART ...`` with PART one of:

- ``quality``: train the small model on a generated task (matte or denoise) from a fixed seed, then
  measure it on the held-out frames (IoU at 0.5, or PSNR gained over the noisy input).
- ``overhead``: the same network, optimizer and batches trained by rmtc's tracked trainer (a run in a
  real project, every step's metrics recorded) and by a bare PyTorch loop, in interleaved rounds.
- ``infer``: frames/s of rmtc's tiled inference over an EXR sequence (the engine alone, and the tracked
  ``Inferences.run``) against the bare model's forward over the same tiles in memory, interleaved.
- ``rss``: one tracked inference over a sequence; reports the process's own peak RSS.
- ``prepare``: writes the inference inputs (EXR sequences, seeded weights) once, in a process of its own
  so the parent stays small: Linux carries a parent's peak RSS into a child it spawns (``ru_maxrss``
  survives ``exec``), so a parent that generated 4K frames would inflate every later child's figure.

Every part sets torch's intra-op threads (``--threads``, 1 by default: on a 2-core machine shared with
other jobs, a second spinning torch thread makes every timing hostage to the neighbours).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import torch

MATTE_RECIPE: dict[str, Any] = {
    "version": "rmtc.Recipe/1",
    "data": {"patch_size": 64, "batch_size": 8, "validation_count": 1, "validation_size": 128},
    "model": {"architecture": "unet", "size": "small"},
    "train": {
        "warmup_steps": 30,
        "learning_rate": 0.002,
        "validate_every": 0,
        "checkpoint_every": 0,
        "contact_sheet": False,
        "progress": False,
    },
}  # the demo's recipe (rmtc/demo.py), with validation and checkpoints only at the end


def recipe(task: str, steps: int, seed: int) -> dict[str, Any]:
    data = json.loads(json.dumps(MATTE_RECIPE))
    data["name"] = f"bench-{task}"
    data["train"].update(steps=steps, seed=seed, val_metrics=["l1", "iou" if task == "matte" else "psnr"])
    if task == "denoise":
        data["model"].update(residual=True, hdr="none")
    return data


def read_pairs(pairs: list[tuple[Path, Path]]) -> list[tuple[np.ndarray, np.ndarray]]:
    from rmtc.vfx.imageio import read_image

    return [
        (read_image(a).pixels.astype(np.float32), read_image(b).pixels.astype(np.float32)) for a, b in pairs
    ]


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    a, b = pred[..., 0] > 0.5, truth[..., 0] > 0.5
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def psnr(x: np.ndarray, truth: np.ndarray) -> float:
    return float(10.0 * np.log10(1.0 / np.mean((x.astype(np.float64) - truth) ** 2)))


def quality(args: argparse.Namespace) -> dict[str, Any]:
    """Train on the first 5 pairs (4 to train, 1 to validate, as the demo), score the held-out ones."""
    from rmtc.ml.data import ArrayPairs
    from rmtc.ml.infer import infer_tiled
    from rmtc.ml.recipe import parse_recipe
    from rmtc.ml.train import Trainer
    from rmtc.vfx.synthetic import make_denoise_task, make_matte_task

    w, h = args.size
    frames = range(1001, 1013)
    if args.task == "matte":
        manifest = make_matte_task(args.data, frames=frames, size=(w, h), seed=args.seed)
        pairs = read_pairs(manifest.pairs("plate", "matte"))
    else:
        manifest = make_denoise_task(args.data, frames=frames, size=(w, h), seed=args.seed)
        pairs = read_pairs(manifest.pairs("noisy", "clean"))
    data = recipe(args.task, args.steps, args.seed)
    inputs, targets = zip(*pairs[:5], strict=True)
    trainer = Trainer(parse_recipe(data), ArrayPairs(list(inputs), list(targets)), None)
    started = time.perf_counter()
    result = trainer.fit()
    seconds = time.perf_counter() - started
    model = trainer.model.eval()
    scores = []
    for x, y in pairs[5:]:
        pred = infer_tiled(model, x, tile=512, overlap=64)
        if args.task == "matte":
            scores.append({"iou": iou(pred, y)})
        else:
            scores.append({"psnr_input": psnr(x, y), "psnr_output": psnr(pred, y)})
    return {
        "task": args.task,
        "size": [w, h],
        "seed": args.seed,
        "steps": args.steps,
        "train_seconds": seconds,
        "seconds_per_step": seconds / args.steps,
        "train_frames": len(trainer.train_indices),
        "validation_frames": len(trainer.val_indices),
        "held_out_frames": [f"{f}" for f in list(frames)[5:]],
        "validation": result.validation,
        "scores": scores,
        "recipe": data,
        "noise_sigma": manifest.params.get("noise_sigma"),
    }


class Replay:
    """A sampler that hands out batches drawn beforehand, so both loops see the very same batches."""

    def __init__(self, batches: list[tuple[torch.Tensor, torch.Tensor]]):
        self.batches = batches
        self.i = 0

    def sample(self, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        batch = self.batches[self.i]
        self.i += 1
        return batch


def overhead(args: argparse.Namespace) -> dict[str, Any]:
    import rmtc
    from rmtc.ml.data import ArrayPairs, PatchSampler
    from rmtc.ml.recipe import parse_recipe
    from rmtc.ml.train import Trainer, lr_at
    from rmtc.services.ml.recorder import RunRecorder
    from rmtc.vfx.synthetic import make_matte_task

    manifest = make_matte_task(args.data, frames=range(1001, 1006), size=(160, 128))
    pairs = read_pairs(manifest.pairs("plate", "matte"))[:4]
    total = args.rounds * args.steps + args.warmup
    data = recipe("matte", total, 0)
    data["data"]["validation_count"] = 0
    parsed = parse_recipe(data)
    sampler = PatchSampler(pairs, parsed.data.patch_size, 1, True)
    gen = torch.Generator().manual_seed(7)
    batches = [sampler.sample(parsed.data.batch_size, gen) for _ in range(total)]

    project = Path(args.work) / "project"
    t = rmtc.open(project, create=True)
    flush = {"seconds": 0.0, "calls": 0}
    store_log = t.store.log_metrics

    def timed_log(*a: Any, **k: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return store_log(*a, **k)
        finally:
            flush["seconds"] += time.perf_counter() - t0
            flush["calls"] += 1

    t.store.log_metrics = timed_log  # type: ignore[method-assign]
    recorder = RunRecorder(t)
    in_recorder = {"seconds": 0.0}

    class Attributed:
        """Times what rmtc's tracking adds inside each step: the recorder's work, store writes included."""

        def on_step(self, step: int, metrics: Any) -> None:
            t0 = time.perf_counter()
            recorder.on_step(step, metrics)
            in_recorder["seconds"] += time.perf_counter() - t0

        def on_validation(self, step: int, metrics: Any) -> None:
            recorder.on_validation(step, metrics)

        def on_checkpoint(self, event: Any) -> None:
            recorder.on_checkpoint(event)

    source = ArrayPairs([p[0] for p in pairs], [p[1] for p in pairs])
    trainer = Trainer(parsed, source, None, callbacks=[Attributed()], progress=False)
    trainer.sampler = Replay(batches)  # type: ignore[assignment]
    recorder.active = t.runs.start("bench-overhead", run_type="training", params=parsed.to_dict())

    bare = type(trainer.model)(type(trainer.model.net)(trainer.config), trainer.config)
    bare.load_state_dict(trainer.model.state_dict())
    tr = parsed.train
    opt = torch.optim.AdamW(bare.parameters(), lr=tr.learning_rate, weight_decay=tr.weight_decay)
    state = {"step": 0}

    def bare_steps(n: int) -> None:
        for _ in range(n):
            step = state["step"]
            lr = lr_at(step, tr.steps, tr.learning_rate, tr.warmup_steps, tr.min_lr_ratio)
            for group in opt.param_groups:
                group["lr"] = lr
            x, y = batches[step]
            bare.train()
            loss = (bare.net(bare.encode(x)) - bare.encode(y)).abs().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            float(loss.detach())
            state["step"] += 1

    def rmtc_steps(n: int) -> None:
        trainer.fit(until=trainer.step + n)

    bare_steps(args.warmup)
    rmtc_steps(args.warmup)
    in_recorder["seconds"] = 0.0
    rounds: list[dict[str, float]] = []
    for r in range(args.rounds):
        order: list[tuple[str, Callable[[int], None]]] = [("bare", bare_steps), ("rmtc", rmtc_steps)]
        timing: dict[str, float] = {}
        for name, fn in order if r % 4 in (0, 3) else order[::-1]:  # ABBA: drift cancels
            before = flush["seconds"]
            t0 = time.perf_counter()
            fn(args.steps)
            timing[name] = time.perf_counter() - t0
            if name == "rmtc":
                timing["rmtc_flush"] = flush["seconds"] - before
        rounds.append(timing)
    t0 = time.perf_counter()
    recorder.active.finish("finished")
    final_flush = time.perf_counter() - t0
    pairs_of_weights = zip(bare.state_dict().values(), trainer.model.state_dict().values(), strict=True)
    same = all(torch.equal(a, b) for a, b in pairs_of_weights)
    points = sum(len(v) for v in t.store.get_metrics(recorder.active.run.id).values())
    t.close()
    return {
        "steps_per_round": args.steps,
        "rounds": rounds,
        "warmup_steps": args.warmup,
        "batch": [parsed.data.batch_size, 3, parsed.data.patch_size, parsed.data.patch_size],
        "recorder_seconds": in_recorder["seconds"],
        "flush_seconds": flush["seconds"],
        "flush_calls": flush["calls"],
        "finish_seconds": final_flush,
        "same_weights": same,
        "metric_points": points,
    }


def _frames_of(directory: Path) -> list[Path]:
    return sorted(directory.glob("plate.*.exr"))


def _publish(t: Any, weights: Path) -> None:
    from rmtc.services.ml import ML

    t.parties.add_license("bench-eula", grants=["inference", "derivatives"])
    pushed = ML(t).models.push(weights, name="bench-src", license="bench-eula").weights
    ML(t).publisher.publish(pushed, "bench", alias="production", variants=[])


def infer(args: argparse.Namespace) -> dict[str, Any]:
    import rmtc
    from rmtc.ml.infer import infer_sequence, model_alignment, plan_tiles
    from rmtc.ml.weights import load_model
    from rmtc.services.ml import ML
    from rmtc.services.ml.infer import _read_frame, _write_frame  # the engine's own frame I/O

    paths = _frames_of(Path(args.data))[: args.frames]
    first = int(paths[0].name.split(".")[1])
    work = Path(args.work)
    model = load_model(args.weights).eval()
    t = rmtc.open(work / "project", create=True)
    _publish(t, Path(args.weights))
    version = t.resolve("model_version:bench@production")
    memory = [_read_frame(p, 3, version, "error")[0].astype(np.float32) for p in paths]
    h, w = memory[0].shape[:2]
    align = model_alignment(model)
    tiles = plan_tiles(h, w, args.tile, args.overlap, align)

    @torch.no_grad()
    def bare_tiles() -> None:
        for frame in memory:
            for tl in tiles:
                x = torch.from_numpy(frame[tl.y0 : tl.y1, tl.x0 : tl.x1]).permute(2, 0, 1)[None]
                model(x).numpy()

    @torch.no_grad()
    def bare_whole() -> None:
        for frame in memory:
            model(torch.from_numpy(frame).permute(2, 0, 1)[None]).numpy()

    def engine(out: Path) -> None:
        from rmtc.core.entities import Inference

        inference = t.new(Inference, "bench")
        out.mkdir(parents=True)

        def read(p: Path) -> np.ndarray:
            return _read_frame(p, 3, version, "error")[0]

        def write(p: Path, result: np.ndarray) -> None:
            _write_frame(out / p.name, result, {}, {}, version, inference, None)

        infer_sequence(model, paths, read, write, tile=args.tile, overlap=args.overlap)

    def tracked(out: Path) -> None:
        ML(t).inferences.run(
            "bench@production",
            input=str(Path(args.data) / "plate.####.exr"),
            output=str(out / "m.####.exr"),
            frames=f"{first}-{first + len(paths) - 1}",
            tile=args.tile,
            overlap=args.overlap,
        )

    contenders: dict[str, Callable[[int], None]] = {
        "bare_tiles": lambda r: bare_tiles(),
        "bare_whole": lambda r: bare_whole(),
        "rmtc_engine": lambda r: engine(work / f"engine-{r}"),
        "rmtc_tracked": lambda r: tracked(work / f"tracked-{r}"),
    }
    names = list(contenders)
    rounds: list[dict[str, float]] = []
    for r in range(-1, args.rounds):  # round -1 warms up (first-call allocations, imports, ingest)
        timing: dict[str, float] = {}
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            t0 = time.perf_counter()
            contenders[name](r)
            timing[name] = time.perf_counter() - t0
        for leftover in work.glob("*-*"):
            if leftover.is_dir() and leftover.name.split("-")[0] in ("engine", "tracked"):
                shutil.rmtree(leftover)
        if r >= 0:
            rounds.append(timing)
    t.close()
    return {
        "frames": len(paths),
        "size": [w, h],
        "tile": args.tile,
        "overlap": args.overlap,
        "tiles_per_frame": len(tiles),
        "tiled_pixels_over_frame": sum((tl.y1 - tl.y0) * (tl.x1 - tl.x0) for tl in tiles) / (h * w),
        "rounds": rounds,
    }


def rss(args: argparse.Namespace) -> dict[str, Any]:
    import rmtc
    from rmtc.services.ml import ML

    t = rmtc.open(Path(args.work) / "project", create=True)
    _publish(t, Path(args.weights))
    pattern = str(Path(args.data) / "plate.####.exr")
    first = int(_frames_of(Path(args.data))[0].name.split(".")[1])
    frames = f"{first}-{first + args.frames - 1}"
    before = psutil.Process().memory_info().rss / 1e6
    peak_before = _self_peak_mb()
    t0 = time.perf_counter()
    done = ML(t).inferences.run(
        "bench@production",
        input=pattern,
        output=str(Path(args.work) / "out" / "m.####.exr"),
        frames=frames,
        tile=args.tile,
        overlap=args.overlap,
    )
    seconds = time.perf_counter() - t0
    t.close()
    return {
        "frames": len(done.outputs),
        "tile": args.tile,
        "overlap": args.overlap,
        "rss_before_mb": before,
        "peak_before_mb": peak_before,
        "peak_rss_mb": _self_peak_mb(),
        "seconds": seconds,
        "stats": done.stats,
    }


def prepare(args: argparse.Namespace) -> dict[str, Any]:
    """Seeded small 3 -> 1 U-Net weights (the matte model's shape; values do not change the work) and
    ``plate.####.exr`` sequences (RGB half, zip) of the matte task for each ``--sequence NAME=WxH``."""
    from rmtc.ml.nets import NetConfig, build_model
    from rmtc.ml.weights import save_weights
    from rmtc.vfx.synthetic import make_matte_task

    root = Path(args.data)
    weights = root / "matte-small-seed0.safetensors"
    if not weights.is_file():
        torch.manual_seed(0)
        save_weights(build_model(NetConfig(in_channels=3, out_channels=1)), weights)
    sequences = {}
    for spec in args.sequence:
        name, size = spec.split("=")
        w, h = (int(v) for v in size.split("x"))
        seq = root / f"plates-{name}-{w}x{h}"
        if len(list(seq.glob("plate.*.exr"))) < args.frames:
            make_matte_task(seq, frames=range(1001, 1001 + args.frames), size=(w, h), seed=4)
        sequences[name] = str(seq)
    return {"weights": str(weights), "sequences": sequences}


def _self_peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ml_worker")
    parser.add_argument("part", choices=["prepare", "quality", "overhead", "infer", "rss"])
    parser.add_argument("--sequence", action="append", default=[], metavar="NAME=WxH")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--task", choices=["matte", "denoise"], default="matte")
    parser.add_argument("--size", type=int, nargs=2, default=(160, 128), metavar=("W", "H"))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--frames", type=int, default=2)
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--overlap", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    parts = {"prepare": prepare, "quality": quality, "overhead": overhead, "infer": infer, "rss": rss}
    part = parts[args.part]
    result = part(args)
    result["torch_threads"] = torch.get_num_threads()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
