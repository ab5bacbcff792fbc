"""A small but complete production graph, built through the public API, for rights tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

import rmtc
from rmtc.core.hashing import hash_bytes
from rmtc.core.kinds import Relation


@dataclass
class Show:
    t: rmtc.Tracker
    ava: rmtc.Party
    marcus: rmtc.Party
    ava_frames: list
    marcus_frames: list
    both: rmtc.DatasetVersion  # all six frames
    ava_only: rmtc.DatasetVersion  # filtered from `both`: marcus's frames dropped
    run: rmtc.Run
    weights: rmtc.Weights
    model_version: rmtc.ModelVersion
    inference: rmtc.Inference
    output: rmtc.Asset


def _frames(t, talent, n, licenses):
    assets = [
        t.new(
            rmtc.Asset,
            f"{talent.name}.{1001 + i}.exr",
            content_hash=hash_bytes(f"{talent.name}{i}".encode()),
            size=1,
            frame=1001 + i,
        )
        for i in range(n)
    ]
    edges = [t.edge(a, Relation.DEPICTS, talent) for a in assets]
    edges += [t.edge(a, Relation.GOVERNED_BY, lic) for a in assets for lic in licenses]
    return list(t.record(assets, edges).entities)


@pytest.fixture
def show(tracker) -> Show:
    t = tracker
    ava = t.parties.add_talent("ava_reyes")
    marcus = t.parties.add_talent("marcus_cole")
    studio = t.parties.add_license("studio-plates", mode="deny", excludes=["face-swap"] if False else [])
    t.parties.add_license(
        "ava-agreement",
        grants=["training", "inference", "commercial"],
        parties=[ava],
        finish=date(2027, 12, 31),
        agreement=True,
    )
    t.parties.add_license("marcus-agreement", grants=["training"], parties=[marcus], agreement=True)
    ava_frames = _frames(t, ava, 3, [studio])
    marcus_frames = _frames(t, marcus, 3, [studio])
    t.datasets.create("plates")
    t.datasets.add("plates", ava_frames + marcus_frames)
    both = t.datasets.snapshot("plates")
    t.datasets.remove("plates", marcus_frames)
    ava_only = t.datasets.snapshot("plates")
    t.link(ava_only, Relation.DERIVED_FROM, both)  # the filter's history edge
    with t.runs.start("train-matte", params={"lr": 0.001}, inputs=[both]) as run:
        run.log_metrics({"loss": 0.1}, step=1)
    weights = t.new(rmtc.Weights, "matte.safetensors", content_hash=hash_bytes(b"w"), size=1)
    mv = t.new(rmtc.ModelVersion, "matte", version=1)
    inference = t.new(rmtc.Inference, "sh010-comp", frames="1001")
    plate = ava_frames[0]
    out = t.new(rmtc.Asset, "comp.1001.exr", content_hash=hash_bytes(b"out"), size=1, frame=1001)
    t.record(
        [weights, mv, inference, out],
        [
            t.edge(weights, Relation.GENERATED_BY, run.run),
            t.edge(mv, Relation.DERIVED_FROM, weights),
            t.edge(inference, Relation.USED, mv),
            t.edge(inference, Relation.USED, plate),
            t.edge(out, Relation.GENERATED_BY, inference),
        ],
    )
    return Show(
        t,
        ava,
        marcus,
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
