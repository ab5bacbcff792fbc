"""A small production graph for the Explorer's browser tests, built through the public API.

It is the graph of ``tests/services/conftest.py``'s ``show`` fixture (two talents, a studio licence,
their agreements, a dataset filtered from six frames, a training run, weights, a published model version
and an inference), grown where a browser shows more: the frames are real EXR images ingested with their
media info (thumbnails), the run logs metric series (charts), the weights are stored bytes (downloads)
and the model version has the ``production`` alias. That fixture is bound to the ``tracker`` fixture
(every backend), so it cannot be reused for a store a live server holds; this builder takes any tracker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

import rmtc
from rmtc.core.kinds import Relation
from rmtc.vfx import Image, write_image


@dataclass
class Show:
    ava: rmtc.Party
    marcus: rmtc.Party
    ava_agreement: rmtc.License
    ava_frames: list[rmtc.Asset]
    marcus_frames: list[rmtc.Asset]
    both: rmtc.DatasetVersion
    ava_only: rmtc.DatasetVersion
    run: rmtc.Run
    weights: rmtc.Weights
    model_version: rmtc.ModelVersion
    inference: rmtc.Inference
    output: rmtc.Asset


def write_frames(folder: Path, stem: str, count: int, hue: float) -> list[Path]:
    """``count`` small half-float EXR frames ``stem.1001.exr``…: a gradient tinted by ``hue``."""
    folder.mkdir(parents=True, exist_ok=True)
    h, w = 36, 64
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    paths = []
    for i in range(count):
        shift = 0.15 * i
        rgb = np.stack(
            [x / w * hue + shift, y / h * (1 - hue) + shift, np.full_like(x, 0.25 + shift)], axis=-1
        )
        path = folder / f"{stem}.{1001 + i}.exr"
        write_image(path, Image(rgb.astype(np.float32), ("R", "G", "B")), pixel_type="half")
        paths.append(path)
    return paths


def build_show(t: rmtc.Tracker, folder: Path) -> Show:
    """Record the graph in ``t``'s project; ``folder`` receives the frames before they are ingested."""
    ava = t.parties.add_talent("ava_reyes")
    marcus = t.parties.add_talent("marcus_cole")
    studio = t.parties.add_license("studio-plates", mode="deny")
    ava_agreement = t.parties.add_license(
        "ava-agreement",
        grants=["training", "inference", "commercial"],
        parties=[ava],
        finish=date(2027, 12, 31),
        agreement=True,
    )
    t.parties.add_license("marcus-agreement", grants=["training"], parties=[marcus], agreement=True)
    frames = {}
    for talent, hue in ((ava, 0.9), (marcus, 0.2)):
        paths = write_frames(folder / talent.name, talent.name, 3, hue)
        report = t.ingestor.ingest(paths, talent=[talent], licenses=[studio])
        assert not report.failed, report.failed
        frames[talent.name] = [t.get(f.asset) for f in report.files]
    ava_frames, marcus_frames = frames["ava_reyes"], frames["marcus_cole"]
    t.datasets.create("plates")
    t.datasets.add("plates", ava_frames + marcus_frames)
    both = t.datasets.snapshot("plates")
    t.datasets.remove("plates", marcus_frames)
    ava_only = t.datasets.snapshot("plates")
    t.link(ava_only, Relation.DERIVED_FROM, both)
    with t.runs.start("train-matte", params={"lr": 0.001, "epochs": 20}, inputs=[both]) as run:
        for step in range(1, 21):
            run.log_metrics({"loss": 1.0 / step, "psnr": 20 + 10 * math.log10(step)}, step=step)
    blob = t.blobs.put_bytes(b"matte weights: not a real safetensors file, bytes to download")
    weights = t.new(rmtc.Weights, "matte.safetensors", content_hash=blob.digest, size=blob.size)
    mv = t.new(rmtc.ModelVersion, "matte", version=1, variants={"safetensors": blob.digest})
    inference = t.new(rmtc.Inference, "sh010-comp", frames="1001")
    comp = t.ingestor.ingest(write_frames(folder / "comp", "comp", 1, 0.5))
    out = t.get(comp.files[0].asset)
    t.record(
        [weights, mv, inference],
        [
            t.edge(weights, Relation.GENERATED_BY, run.run),
            t.edge(mv, Relation.DERIVED_FROM, weights),
            t.edge(inference, Relation.USED, mv),
            t.edge(inference, Relation.USED, ava_frames[0]),
            t.edge(out, Relation.GENERATED_BY, inference),
        ],
    )
    t.store.set_alias("model_version", "matte", "production", mv.id)
    return Show(
        ava,
        marcus,
        ava_agreement,
        ava_frames,
        marcus_frames,
        both,
        ava_only,
        t.runs.get(str(run.id)),
        weights,
        mv,
        inference,
        out,
    )
