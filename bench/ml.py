"""The ML pipeline's benchmark (issue 4): learning quality, tracking overhead, inference throughput and
memory, each measured in processes of its own (:mod:`bench.ml_worker`) and compared within one run.

- Quality: the demo's matte task (``make_matte_task``, the demo's frame size and recipe) trained on 4
  frames reaches IoU >= 0.90 on the 7 held-out frames; on a denoise task (``make_denoise_task``, sigma
  0.05) the model gains >= 6 dB PSNR over its noisy input on the held-out frames.
- Overhead: rmtc's tracked trainer (a run in a real project, every step's metrics recorded) against a
  bare PyTorch loop on the same network, optimizer, learning-rate schedule and batches, in interleaved
  rounds (the order alternates); <= 3% per step.
- Throughput: ``Inferences.run`` over a 2K EXR sequence written with OpenImageIO >= 85% of the bare
  model's forward over the same tiles of the same frames held in memory (no I/O), interleaved rounds.
- Memory: peak RSS of tracked tiled inference at 2K and 4K, 4K over 3 and 6 frames (a bound does not
  grow with the sequence) and at three tile sizes.

Inputs are generated from fixed seeds under the scratch ``data`` folder and kept between runs.
"""

from __future__ import annotations

import os
from typing import Any

from bench import common

WORKER = [str(common.RMTC_PYTHON), "-m", "bench.ml_worker"]
#: (name, frame width, height) of the sequences inference runs on; --quick uses small stand-ins.
SEQUENCES = {"2K": (2048, 1080), "4K": (4096, 2160)}
QUICK_SEQUENCES = {"2K": (320, 192), "4K": (640, 384)}
TARGETS = {
    "iou": 0.90,
    "psnr_gain_db": 6.0,
    "overhead": 0.03,
    "throughput": 0.85,
    "rss_growth": 0.05,
}


def run(scratch: common.Scratch, quick: bool) -> dict[str, Any]:
    data = scratch.data / "ml"
    data.mkdir(parents=True, exist_ok=True)
    steps = 20 if quick else 400
    size = ["64", "48"] if quick else ["160", "128"]
    print("  quality: matte …", flush=True)
    matte = _worker("quality", "--task", "matte", "--data", data / "matte", "--steps", steps, "--size", *size)
    print("  quality: denoise …", flush=True)
    denoise = _worker(
        "quality", "--task", "denoise", "--data", data / "denoise", "--steps", steps, "--size", *size
    )
    print("  tracking overhead per training step …", flush=True)
    rounds, per_round = (4, 3) if quick else (60, 5)
    overhead = _worker(
        "overhead",
        "--data",
        data / "overhead",
        "--work",
        scratch.fresh("ml-overhead"),
        "--rounds",
        rounds,
        "--steps",
        per_round,
    )
    sequences = QUICK_SEQUENCES if quick else SEQUENCES
    print("  writing the EXR sequences (once) …", flush=True)
    specs = [f"--sequence={name}={w}x{h}" for name, (w, h) in sequences.items()]
    prepared = _worker("prepare", "--data", data, "--frames", 6, *specs)
    weights, seq = prepared["weights"], prepared["sequences"]
    print("  2K inference throughput …", flush=True)
    throughput = _worker(
        "infer",
        "--data",
        seq["2K"],
        "--work",
        scratch.fresh("ml-infer"),
        "--weights",
        weights,
        "--frames",
        2,
        "--rounds",
        2 if quick else 6,
        *(["--tile", "128", "--overlap", "32"] if quick else []),
    )
    rss = []
    configs = [("2K", 512, 3), ("4K", 512, 3), ("4K", 512, 6), ("4K", 256, 3), ("4K", 1024, 3)]
    for name, tile, frames in configs:
        if quick:
            tile //= 4
        print(f"  peak RSS: {name}, tile {tile}, {frames} frames …", flush=True)
        common.settle()
        got = _worker(
            "rss",
            "--data",
            seq[name],
            "--work",
            scratch.fresh("ml-rss"),
            "--weights",
            weights,
            "--tile",
            tile,
            "--overlap",
            tile // 8,
            "--frames",
            frames,
        )
        rss.append({"sequence": name, "size": list(sequences[name]), **got})
    result = summarise(matte, denoise, overhead, throughput, rss)
    import torch

    result.update(load_after=round(os.getloadavg()[0], 2), torch=torch.__version__)
    return result


def summarise(
    matte: dict[str, Any],
    denoise: dict[str, Any],
    overhead: dict[str, Any],
    throughput: dict[str, Any],
    rss: list[dict[str, Any]],
) -> dict[str, Any]:
    """The figures each target is judged on, computed from the workers' raw measurements."""
    ious = [s["iou"] for s in matte["scores"]]
    gains = [s["psnr_output"] - s["psnr_input"] for s in denoise["scores"]]
    steps = overhead["steps_per_round"]
    total_steps = steps * len(overhead["rounds"])
    flush_per_step = (overhead["flush_seconds"] + overhead["finish_seconds"]) / total_steps
    ratios = [(r["rmtc"] - r["rmtc_flush"] + flush_per_step * steps) / r["bare"] for r in overhead["rounds"]]
    bare_step = common.median([r["bare"] / steps for r in overhead["rounds"]])
    rmtc_step = common.median([r["rmtc"] / steps for r in overhead["rounds"]])
    frames = throughput["frames"]
    fps = {
        name: common.median([frames / r[name] for r in throughput["rounds"]])
        for name in throughput["rounds"][0]
    }
    paired = {
        name: common.median([r["bare_tiles"] / r[name] for r in throughput["rounds"]])
        for name in ("rmtc_engine", "rmtc_tracked", "bare_whole")
    }
    four = [r for r in rss if r["sequence"] == "4K"]
    longest = max(four, key=lambda r: r["frames"])
    shorter = next(r for r in four if r["tile"] == longest["tile"] and r["frames"] < longest["frames"])
    growth = longest["peak_rss_mb"] / shorter["peak_rss_mb"] - 1
    few, many = shorter["frames"], longest["frames"]
    result = {
        "matte": {**matte, "mean_iou": sum(ious) / len(ious), "min_iou": min(ious)},
        "denoise": {**denoise, "mean_gain_db": sum(gains) / len(gains), "min_gain_db": min(gains)},
        "overhead": {
            **overhead,
            "bare_step_seconds": bare_step,
            "rmtc_step_seconds": rmtc_step,
            "flush_per_step_seconds": flush_per_step,
            "round_ratios": ratios,
            "attributed": (overhead["recorder_seconds"] + overhead["finish_seconds"])
            / total_steps
            / bare_step,
            "overhead": common.median(ratios) - 1,
            "overhead_of_sums": sum(r["rmtc"] for r in overhead["rounds"])
            / sum(r["bare"] for r in overhead["rounds"])
            - 1,
        },
        "throughput": {**throughput, "fps": fps, "vs_bare_tiles": paired},
        "rss": {"runs": rss, "growth": growth, "frames": [shorter["frames"], longest["frames"]]},
    }
    result["targets"] = {
        f"matte IoU >= {TARGETS['iou']:.2f} on held-out frames": result["matte"]["mean_iou"]
        >= TARGETS["iou"],
        f"denoise gains >= {TARGETS['psnr_gain_db']:.0f} dB PSNR": result["denoise"]["mean_gain_db"]
        >= TARGETS["psnr_gain_db"],
        f"tracking overhead per training step <= {TARGETS['overhead']:.0%}": result["overhead"]["overhead"]
        <= TARGETS["overhead"],
        f"2K inference >= {TARGETS['throughput']:.0%} of the bare forward": paired["rmtc_tracked"]
        >= TARGETS["throughput"],
        f"4K tiled inference peak RSS bounded ({many} frames vs {few} within 5%)": growth
        <= TARGETS["rss_growth"],
    }
    return result


def _worker(*args: object) -> dict[str, Any]:
    return common.run_json([*WORKER, *(str(a) for a in args)])
