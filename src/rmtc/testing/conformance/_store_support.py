"""Helpers shared by the store conformance cases: entity makers and the base class with its fixtures."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from rmtc.core.clock import ManualClock
from rmtc.core.entities import (
    Asset,
    Checkpoint,
    Dataset,
    DatasetVersion,
    Entity,
    Inference,
    License,
    Model,
    ModelVersion,
    Party,
    Right,
    Run,
    Session,
    Solution,
    Weights,
)
from rmtc.core.ids import EntityId, new_id
from rmtc.core.kinds import Kind, Relation
from rmtc.store.protocol import MetadataStore
from rmtc.store.types import (
    Edge,
    WriteBatch,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
R = Relation


class Maker:
    """Builds entities with distinct names and increasing creation times."""

    def __init__(self) -> None:
        self.clock = ManualClock(T0, tick=timedelta(seconds=1))
        self.n = 0

    def _base(self, name: str | None, kw: dict[str, Any]) -> dict[str, Any]:
        self.n += 1
        return {
            "id": new_id(),
            "name": name or f"e{self.n}",
            "created_at": self.clock.now(),
            "created_by": "tester",
            **kw,
        }

    def asset(self, name: str | None = None, *, content_hash: str | None = None, **kw: Any) -> Asset:
        base = self._base(name, kw)
        return Asset(content_hash=content_hash or uuid.uuid4().hex * 2, **base)

    def version(self, name: str = "plates", version: int = 1, **kw: Any) -> DatasetVersion:
        kw.setdefault("content_hash", uuid.uuid4().hex)
        return DatasetVersion(version=version, **self._base(name, kw))

    def run(self, name: str | None = None, **kw: Any) -> Run:
        return Run(**self._base(name, kw))

    def party(self, name: str | None = None, **kw: Any) -> Party:
        return Party(**self._base(name, kw))


def all_kinds(m: Maker) -> dict[Kind, Entity]:
    """One entity of every kind, with every kind-specific field set away from its default."""
    b = m._base
    return {
        Kind.ASSET: Asset(
            content_hash="a" * 64,
            size=12,
            storage="reference",
            uri="/mnt/plates/p.1001.exr",
            sequence="/mnt/plates/p.####.exr",
            frame=1001,
            media={"width": 4096, "height": 2160, "channels": ["R", "G", "B", "A"]},
            **b("plate", {"attrs": {"tags": ["hero"], "nested": {"x": 1.5, "none": None}}}),
        ),
        Kind.DATASET: Dataset(description="hero plates", paired=True, **b("ds", {})),
        Kind.DATASET_VERSION: DatasetVersion(
            member_count=3,
            paired=True,
            transformation={"filter": "frame>1"},
            **b("ds", {"version": 2, "content_hash": "b" * 64}),
        ),
        Kind.PARTY: Party(
            party_type="organisation", talent=True, contact="ä@example.org", **b("Studio Ö", {})
        ),
        Kind.RIGHT: Right(description="face replacement", **b("face-swap", {})),
        Kind.LICENSE: License(
            grants=("training", "inference"),
            excludes=("commercial",),
            requires=("credit",),
            parties=("p1", "p2"),
            jurisdictions=("NZ",),
            projects=("show",),
            start=date(2026, 1, 1),
            finish=date(2027, 12, 31),
            mode="deny",
            spdx_id="CC-BY-4.0",
            agreement=True,
            text="Ngā mihi — terms",
            **b("lic", {}),
        ),
        Kind.SOLUTION: Solution(
            inputs=("rgb",),
            outputs=("alpha",),
            rights_needed=("training",),
            jurisdiction="NZ",
            description="roto",
            **b("matte", {}),
        ),
        Kind.RUN: Run(
            run_type="fine-tuning",
            params={"lr": 0.001, "opt": {"name": "adam"}, "aug": [1, 2]},
            environment={"host": "gpu1"},
            **b("train", {}),
        ),
        Kind.MODEL: Model(
            framework="onnx",
            architecture="unet",
            code_hash="c" * 64,
            channels_in=3,
            channels_out=1,
            scale=2.0,
            **b("unet", {}),
        ),
        Kind.WEIGHTS: Weights(format="safetensors", size=99, **b("w", {"content_hash": "d" * 64})),
        Kind.CHECKPOINT: Checkpoint(step=500, size=123, **b("ck", {"content_hash": "e" * 64})),
        Kind.MODEL_VERSION: ModelVersion(variants={"onnx": "f" * 64}, **b("matte", {"version": 7})),
        Kind.INFERENCE: Inference(frames="1001-1100x2", knobs={"gain": 0.5}, **b("inf", {})),
        Kind.SESSION: Session(application="nuke", host="ws12", **b("sess", {})),
    }


def write(store: MetadataStore, *entities: Entity, edges: tuple[Edge, ...] = (), **kw: Any) -> Any:
    return store.write(WriteBatch(entities=entities, edges=edges, **kw))


def ids(steps: Any) -> set[EntityId]:
    return {s.entity for s in steps}


class StoreCases:
    """Base of the case classes: the ``m`` fixture (a fresh :class:`Maker` per test). The subclass's
    module provides ``store``."""

    #: A store that cannot be used from several threads at once sets this to ``False``.
    thread_safe = True

    @pytest.fixture
    def m(self) -> Maker:
        return Maker()
