"""A real provenance graph, recorded through the public Tracker API, for every export test.

Talent Ana depicted in three ingested files under a public licence (CC-BY-4.0) and her talent
agreement (revoked); the files snapshotted into dataset ``plates`` (governed by a studio licence); a
training run on that version logging weights; a model version published from those weights, an ONNX
variant of them, and an inference with that model version on one of the plates.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date

import pytest

import rmtc
from rmtc.core.entities import Entity
from rmtc.core.hashing import hash_bytes


@dataclass
class Scene:
    tracker: rmtc.Tracker
    talent: Entity
    cc_by: Entity
    agreement: Entity
    studio: Entity
    assets: list[Entity]
    dataset: Entity
    version: Entity
    run: Entity
    weights: Entity
    onnx: Entity
    model: Entity
    model_version: Entity
    inference: Entity
    output: Entity

    def upstream_of_model_version(self) -> list[Entity]:
        """Everything the model version came from, and Ana's agreement (exports add a party's licences)."""
        return [
            self.talent,
            self.cc_by,
            self.agreement,
            self.studio,
            *self.assets,
            self.dataset,
            self.version,
            self.run,
            self.weights,
            self.model,
        ]


@pytest.fixture
def scene(tracker, tmp_path) -> Scene:
    t = tracker
    ana = t.parties.add_talent("Ana")
    cc_by = t.parties.add_license("cc-by", spdx_id="CC-BY-4.0")
    agreement = t.parties.add_license(
        "ana-agreement",
        grants=["training", "inference"],
        excludes=["commercial"],
        parties=["Ana"],
        jurisdictions=["NZ"],
        start=date(2026, 1, 1),
        finish=date(2027, 12, 31),
        agreement=True,
        text='Ana\'s likeness, "as captured"\nfor this production only.',
    )
    studio = t.parties.add_license("studio-internal", mode="deny", excludes=["commercial"])
    folder = tmp_path / "plates"
    folder.mkdir()
    for i in range(3):
        (folder / f"plate.{1001 + i}.bin").write_bytes(os.urandom(64 + i))
    report = t.ingestor.ingest(
        [folder], talent=["Ana"], licenses=["cc-by"], dataset="plates", probe_media=False
    )
    assets = [t.get(f.asset) for f in report.files]
    dataset = t.datasets.get("plates")
    t.parties.govern([dataset], "studio-internal")
    version = t.datasets.snapshot("plates", message="first cut")
    t.store.set_flag(
        agreement.id, "revoked", {"at": "2026-06-01", "reason": "consent withdrawn", "by": "legal"}
    )

    weights_file = tmp_path / "matte.safetensors"
    weights_file.write_bytes(os.urandom(256))
    onnx_file = tmp_path / "matte.onnx"
    onnx_file.write_bytes(os.urandom(128))
    with t.runs.start(
        "train-matte", params={"lr": 0.001, "epochs": 2, "crop": [256, 256]}, inputs=[version]
    ) as run:
        run.log_metrics({"loss": 0.25, "psnr": 31.5}, step=1)
        weights = run.log_artifact(weights_file, kind="weights", format="safetensors")
        onnx = run.log_artifact(onnx_file, kind="weights", format="onnx")
    t.link(onnx, "variant_of", weights)

    model = t.new(rmtc.Model, "unet-matte", architecture="unet", channels_in=3, channels_out=1)
    mv = t.new(rmtc.ModelVersion, "matte", version=1, variants={"onnx": onnx.content_hash})
    t.record(
        [model, mv],
        [t.edge(mv, rmtc.Relation.DERIVED_FROM, weights), t.edge(mv, rmtc.Relation.VERSION_OF, model)],
        action="test.publish",
        target=mv,
    )
    matte = hash_bytes(os.urandom(32))
    output = t.record([t.new(rmtc.Asset, "matte.1001.bin", content_hash=matte, size=32)]).entities[0]
    inference = t.new(rmtc.Inference, "matte-sh010", frames="1001", knobs={"threshold": 0.5})
    t.record(
        [inference],
        [
            t.edge(inference, rmtc.Relation.USED, mv),
            t.edge(inference, rmtc.Relation.USED, assets[0]),
            t.edge(output, rmtc.Relation.GENERATED_BY, inference),
        ],
    )
    return Scene(
        tracker=t,
        talent=ana,
        cc_by=cc_by,
        agreement=agreement,
        studio=studio,
        assets=assets,
        dataset=dataset,
        version=version,
        run=t.runs.get(str(run.id)),
        weights=weights,
        onnx=onnx,
        model=model,
        model_version=mv,
        inference=inference,
        output=output,
    )
