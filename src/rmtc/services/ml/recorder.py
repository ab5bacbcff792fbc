"""The trainer's reports, recorded into a run.

:class:`RunRecorder` is a :class:`rmtc.ml.train.TrainCallback`: every step's metrics go to the run's
operational series (batched by :class:`~rmtc.services.runs.ActiveRun`); each checkpoint's files are
stored as blobs and recorded as one :class:`~rmtc.core.entities.Checkpoint` (keyed by the hash of its
manifest, which lists every other file's hash), with its contact sheet as a PNG asset, both
``generated_by`` the run, in one transaction; pending metrics are flushed first, so a crash loses at most
the metrics since the last checkpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from rmtc.core.entities import Asset, Checkpoint, Entity
from rmtc.core.kinds import Relation
from rmtc.services.runs import ActiveRun

if TYPE_CHECKING:
    from rmtc.api.tracker import Tracker
    from rmtc.ml.train import CheckpointEvent

CHECKPOINT_MANIFEST = "manifest.json"


class RunRecorder:
    """Forwards a trainer's reports into a run: metrics every step, checkpoints and contact sheets."""

    def __init__(self, t: Tracker):
        self.t = t
        self.active: ActiveRun | None = None
        self.checkpoints: list[Checkpoint] = []
        self.sheets: list[Asset] = []

    def _run(self) -> ActiveRun:
        if self.active is None:
            raise RuntimeError("the recorder was not attached to a run")
        return self.active

    def on_step(self, step: int, metrics: Mapping[str, float]) -> None:
        self._run().log_metrics(metrics, step)

    def on_validation(self, step: int, metrics: Mapping[str, float]) -> None:
        self._run().log_metrics(metrics, step)

    def on_checkpoint(self, event: CheckpointEvent) -> None:
        active = self._run()
        active.flush()
        run = active.run
        files: dict[str, str] = {}
        size = 0
        for part in sorted(event.path.iterdir()):
            if part.is_file():
                info = self.t.blobs.put_file(part)
                files[part.name] = info.digest
                size += info.size
        stem = f"{run.name}-step-{event.step:06d}"
        ckpt = self.t.new(
            Checkpoint,
            stem,
            content_hash=files[CHECKPOINT_MANIFEST],
            step=event.step,
            size=size,
            attrs={"files": files, "validation": dict(event.validation)},
        )
        entities: list[Entity] = [ckpt]
        edges = [self.t.edge(ckpt, Relation.GENERATED_BY, run)]
        if event.contact_sheet_path is not None:
            info = self.t.blobs.put_file(event.contact_sheet_path)
            height, width = event.contact_sheet.shape[:2] if event.contact_sheet is not None else (0, 0)
            sheet = self.t.new(
                Asset,
                f"{stem}.png",
                content_hash=info.digest,
                size=info.size,
                media={"format": "png", "width": int(width), "height": int(height), "channels": 3},
                attrs={
                    "role": "contact_sheet",
                    "step": event.step,
                    "rows": ["input", "prediction", "target"],
                },
            )
            entities.append(sheet)
            edges.append(self.t.edge(sheet, Relation.GENERATED_BY, run))
        stored = self.t.record(
            entities, edges, action="run.checkpoint", target=run, detail={"step": event.step}
        ).entities
        for e in stored:
            if isinstance(e, Checkpoint):
                self.checkpoints.append(e)
            elif isinstance(e, Asset):
                self.sheets.append(e)
