"""The ML benchmark's section of ``RESULTS.md``, rendered from ``bench/out/ml.json``.

Like the scale benchmark's, the section sits between two markers and is replaced in place, so the other
benchmarks' sections are never touched; ``bench/ML_NOTES.md`` (the hand-written reading of the figures)
is appended to it when present.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BEGIN = "<!-- bench.ml: begin -->"
END = "<!-- bench.ml: end -->"
NOTES = Path(__file__).with_name("ML_NOTES.md")
COMMAND = (
    "Reproduce: `nice -n 10 .venv/bin/python -m bench.run ml` from the repository root (about {minutes:.0f} "
    "minutes here); `--quick` runs a smoke version on tiny frames into `bench/out/quick/`, never here."
)


def section(doc: dict[str, Any], notes: Path | None = NOTES) -> str:
    r, m = doc["result"], doc["machine"]
    ma, dn, ov, th, rs = r["matte"], r["denoise"], r["overhead"], r["throughput"], r["rss"]
    lines = [BEGIN, "## ML pipeline: quality, tracking overhead, inference throughput and memory", ""]
    if doc.get("quick"):
        lines += ["**Smoke run (`--quick`)**: tiny inputs; the figures mean nothing.", ""]
    lines += [COMMAND.format(minutes=doc["elapsed_seconds"] / 60), ""]
    lines += [
        f"Measured {m['date']} on {m['cpus']} CPUs ({m['cpu_model']}), {m['ram_gib']} GiB RAM, {m['os']}, "
        f"Python {m['python']}, rmtc {m['rmtc']} at commit {m['git_commit']}; 1-minute load average "
        f"{m['load_before']} before it started, {r.get('load_after', '?')} after (a shared machine: other "
        f"engineers' tests ran meanwhile). torch {r.get('torch', '?')} on the CPU with "
        f"{ov['torch_threads']} intra-op thread in every process; the whole run under `nice -n 10`.",
        "",
        "### Targets",
        "",
    ]
    rows = [
        [
            "matte IoU (held-out, mean / min)",
            ">= 0.90",
            f"{ma['mean_iou']:.3f} / {ma['min_iou']:.3f}",
            _pass(r, "matte"),
        ],
        [
            "denoise PSNR gain (held-out, mean / min)",
            ">= 6 dB",
            f"{dn['mean_gain_db']:.2f} / {dn['min_gain_db']:.2f} dB",
            _pass(r, "denoise"),
        ],
        [
            "tracking overhead per training step",
            "<= 3%",
            f"{ov['overhead']:+.2%} (sums: {ov['overhead_of_sums']:+.2%})",
            _pass(r, "overhead"),
        ],
        [
            "2K inference throughput, tracked `rmtc infer` / bare forward on the same tiles",
            ">= 85%",
            f"{th['vs_bare_tiles']['rmtc_tracked']:.0%}",
            _pass(r, "2K"),
        ],
        [
            f"4K tiled inference peak RSS, {rs['frames'][1]} frames over {rs['frames'][0]}",
            "bounded (+5% at most)",
            f"{rs['growth']:+.1%}",
            _pass(r, "RSS"),
        ],
    ]
    lines += _table(["target", "wanted", "measured", ""], rows)
    lines += ["", "### Quality", ""]
    rows = []
    for name, q in (("matte", ma), ("denoise", dn)):
        figure = (
            f"IoU {q['mean_iou']:.3f} (min {q['min_iou']:.3f})"
            if name == "matte"
            else f"PSNR {_mean([s['psnr_input'] for s in q['scores']]):.2f} -> "
            f"{_mean([s['psnr_output'] for s in q['scores']]):.2f} dB (+{q['mean_gain_db']:.2f})"
        )
        model = q["recipe"]["model"]
        rows.append(
            [
                name,
                f"{q['size'][0]}x{q['size'][1]}, {q['train_frames']} train + {q['validation_frames']} "
                f"validation, {len(q['scores'])} held out ({q['held_out_frames'][0]}-"
                f"{q['held_out_frames'][-1]})",
                f"unet small, residual {str(model.get('residual', False)).lower()}, hdr "
                f"{model.get('hdr', 'log')}",
                f"{q['steps']} steps, seed {q['seed']}",
                f"{q['train_seconds']:.0f} s ({q['seconds_per_step'] * 1000:.0f} ms/step)",
                figure,
            ]
        )
    lines += _table(["task", "frames", "model", "training", "train time", "held-out result"], rows)
    data = ma["recipe"]["data"]
    train = ma["recipe"]["train"]
    lines += [
        "",
        f"Recipe (the demo's): patches {data['patch_size']}, batch {data['batch_size']}, AdamW lr "
        f"{train['learning_rate']} with {train['warmup_steps']} warm-up steps then cosine, L1. Held-out "
        "frames are run whole (one tile) by `infer_tiled`; IoU thresholds both mattes at 0.5; PSNR peak 1.0 "
        f"over linear RGB, noise sigma {dn.get('noise_sigma')}.",
        "",
        "### Tracking overhead per training step",
        "",
    ]
    lines += _table(
        ["", "bare PyTorch loop", "rmtc tracked trainer"],
        [
            [
                "median seconds per step",
                f"{ov['bare_step_seconds'] * 1000:.1f} ms",
                f"{ov['rmtc_step_seconds'] * 1000:.1f} ms",
            ],
            ["steps timed", f"{len(ov['rounds']) * ov['steps_per_round']}", "same batches"],
        ],
    )
    lines += [
        "",
        f"{len(ov['rounds'])} interleaved rounds of {ov['steps_per_round']} steps each side, in ABBA order "
        f"so drift cancels, after {ov['warmup_steps']} untimed steps each; batch "
        f"{'x'.join(map(str, ov['batch']))}. The rmtc side is what `rmtc train` runs per step: "
        "`Trainer.train_step` with a `RunRecorder` forwarding every step's metrics into a run of a real "
        f"SQLite project ({ov['metric_points']} points recorded, {ov['flush_calls']} store writes taking "
        f"{ov['flush_seconds'] * 1000:.0f} ms in all, finishing the run "
        f"{ov['finish_seconds'] * 1000:.0f} ms). Overhead = median over rounds of rmtc / bare, each round's "
        "store writes replaced by their mean share per step "
        f"({ov['flush_per_step_seconds'] * 1e6:.0f} µs/step). Cross-check, immune to the neighbours' load: "
        "the time spent inside the recorder (store writes and finishing included) is "
        f"{ov['recorder_seconds'] / (len(ov['rounds']) * ov['steps_per_round']) * 1e6:.0f} µs a step, "
        f"**{ov['attributed']:.3%}** of the bare step. Same weights after the last round: "
        f"**{ov['same_weights']}** (both sides did the same arithmetic).",
        "",
        "### 2K inference throughput",
        "",
    ]
    fps, vs = th["fps"], th["vs_bare_tiles"]
    labels = {
        "bare_tiles": "bare forward, same tiles, frames in memory",
        "bare_whole": "bare forward, whole frames in memory",
        "rmtc_engine": "rmtc engine (`infer_sequence`: EXR read, tiles, blend, EXR write)",
        "rmtc_tracked": "rmtc tracked (`Inferences.run`: + ingest, provenance, outputs stored)",
    }
    rows = [
        [label, f"{fps[k]:.3f}", "1.00" if k == "bare_tiles" else f"{vs[k]:.2f}"]
        for k, label in labels.items()
    ]
    lines += _table(["contender", "frames/s (median)", "vs bare tiles (median of rounds)"], rows)
    lines += [
        "",
        f"{th['frames']} frames of {th['size'][0]}x{th['size'][1]} RGB half EXR (zip) written by "
        f"OpenImageIO; the small 3 -> 1 U-Net; tile {th['tile']}, overlap {th['overlap']}: "
        f"{th['tiles_per_frame']} tiles a frame covering {th['tiled_pixels_over_frame']:.2f}x the frame's "
        f"pixels. {len(th['rounds'])} rounds after a warm-up round, each contender once a round, the order "
        "rotating.",
        "",
        "### Peak RSS of tracked tiled inference",
        "",
    ]
    rows = [
        [
            f"{x['sequence']} ({x['size'][0]}x{x['size'][1]})",
            f"{x['tile']} / {x['overlap']}",
            str(x["frames"]),
            f"{x['rss_before_mb']:.0f}",
            f"{x['peak_rss_mb']:.0f}",
            f"{x['peak_rss_mb'] - x['rss_before_mb']:.0f}",
            f"{x['maxrss_mb']:.0f}",
            f"{x['seconds']:.0f}",
        ]
        for x in rs["runs"]
    ]
    lines += _table(
        [
            "sequence",
            "tile / overlap",
            "frames",
            "RSS before (MB)",
            "peak RSS (MB)",
            "peak - before",
            "with child processes (MB)",
            "s",
        ],
        rows,
    )
    lines += [
        "",
        "Each row is a process of its own running `Inferences.run` (project opened and model published "
        "before *RSS before*); *peak RSS* is the process's own `ru_maxrss` (`getrusage(RUSAGE_SELF)`); *with "
        "child processes* is what `wait4` reports for it, which also covers the media-probe workers the "
        "ingest of the input frames starts.",
        "",
    ]
    if notes is not None and notes.is_file():
        lines += [notes.read_text().strip(), ""]
    lines += [END, ""]
    return "\n".join(lines)


def write_section(results: Path, text: str) -> None:
    """Replace the section between the markers (or append it) and leave the rest of the file as is."""
    current = results.read_text() if results.is_file() else ""
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text, current, count=1)
    else:
        updated = current.rstrip("\n") + ("\n\n" if current else "") + text
    results.write_text(updated)


def _pass(r: dict[str, Any], word: str) -> str:
    passed = next(v for k, v in r["targets"].items() if word in k)
    return "PASS" if passed else "**FAIL**"


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out
