"""Training as a tracked run: ``rmtc train RECIPE.toml`` and ``rmtc train --resume CHECKPOINT``.

Everything that can be refused is refused before anything is recorded: the recipe (every wrong field
named), the dataset version (paired, not empty, every input with its target), the rights (``training``
and whatever the solution needs, on the dataset version and on base weights when fine-tuning), and every
frame (sizes, channels, NaN/Inf, damaged files: the trainer loads and checks them all before its first
step). Only then is the :class:`~rmtc.core.entities.Run` recorded, ``training`` or ``fine-tuning``,
``used`` the dataset version (and base weights), ``part_of`` the solution, with the recipe as its
parameters.

While it trains, a :class:`~rmtc.services.ml.recorder.RunRecorder` logs every step's metrics into the
run and records each checkpoint and its contact sheet, ``generated_by`` the run; the final weights are
recorded the same way. The run ends ``finished``;
``killed`` when interrupted or stopped early (``until``); ``failed`` with the error otherwise.

Resuming continues the same run from a recorded checkpoint, on the same frames (the trainer checks
their fingerprint), bit for bit as if it had never stopped. A resumed run logs the steps after the
checkpoint again; each metric's latest write wins.

A recipe file may name the solution at its top level (``solution = "beauty-cleanup"``): a tracking
field, taken out before the ML recipe schema checks the rest.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import Asset, Checkpoint, DatasetVersion, Entity, Run, Solution, Weights
from rmtc.core.hashing import hash_file
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import Conflict, InvalidInput, NotFound
from rmtc.plugins.registry import Registry
from rmtc.services.ml.files import copy_blobs
from rmtc.services.ml.frames import DatasetPairs, training_pairs, training_version
from rmtc.services.ml.recipes import base_weights, materialize_weights, read_recipe
from rmtc.services.ml.recorder import CHECKPOINT_MANIFEST, RunRecorder
from rmtc.services.ml.solutions import Solutions
from rmtc.services.runs import ActiveRun
from rmtc.store.types import RunState

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker
    from rmtc.ml.train import TrainCallback, Trainer

TRAINER = "image-to-image"


@dataclass
class TrainOutcome:
    """What a training command did."""

    run: Run
    state: RunState
    step: int
    steps: int
    weights: Weights | None = None
    checkpoints: list[Checkpoint] = field(default_factory=list)
    sheets: list[Asset] = field(default_factory=list)
    validation: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run.to_json(),
            "state": self.state,
            "step": self.step,
            "steps": self.steps,
            "weights": self.weights.to_json() if self.weights else None,
            "checkpoints": [c.to_json() for c in self.checkpoints],
            "contact_sheets": [s.to_json() for s in self.sheets],
            "validation": self.validation,
        }


class Training:
    def __init__(self, tracker: Tracker, trainers: Registry | None = None):
        self.t = tracker
        self.trainers = trainers or Registry("rmtc.trainers")

    def train(
        self,
        recipe: str | Path | Mapping[str, Any],
        *,
        solution: RefLike | None = None,
        out_dir: str | Path | None = None,
        progress: bool | None = None,
        device: str | None = None,
        until: int | None = None,
        callbacks: Sequence[TrainCallback] = (),
    ) -> TrainOutcome:
        """Train a model from a recipe as a tracked run (see the module docstring).

        Args:
            recipe: a TOML file (or its parsed data); ``data.dataset`` names the dataset version,
                ``model.init_weights`` the base weights when fine-tuning (a reference, or a file whose
                hash is recorded weights).
            solution: the solution the run belongs to (overrides the recipe's).
            out_dir: where the trainer writes; a temporary folder (removed) when not given: what matters
                is stored as blobs.
            until: stop after this step (the run ends ``killed``; resume it later).
            callbacks: more trainer callbacks (progress displays, tests).

        Raises:
            InvalidInput / NotFound: a bad recipe, dataset, frame or reference. RightsViolation: a right
                is not held (nothing is recorded but the refusal in the audit log).
        """
        parsed, named = read_recipe(recipe)
        version = training_version(self.t, parsed.data.dataset)
        pairs = training_pairs(self.t, version)
        wanted = solution if solution is not None else named
        sol = Solutions(self.t).get(wanted) if wanted is not None else None
        base = base_weights(self.t, parsed.model.init_weights)
        self._require(version, base, sol)
        recorder = RunRecorder(self.t)
        with _WorkDir(out_dir) as work:
            init = materialize_weights(self.t, base, work) if base is not None else None
            trainer_cls = self.trainers.get(TRAINER)()
            trainer: Trainer = trainer_cls(
                parsed,
                DatasetPairs(self.t, pairs),
                work,
                callbacks=[recorder, *callbacks],
                device=device,
                progress=progress,
                init_weights=init,
            )
            name = parsed.name or f"train-{version.name}"
            inputs: list[Entity] = [version, *([base] if base is not None else [])]
            active = self.t.runs.start(
                name,
                run_type="fine-tuning" if base is not None else "training",
                params=parsed.to_dict(),
                inputs=inputs,
                solution=sol,
            )
            return self._fit(trainer, active, recorder, until)

    def resume(
        self,
        checkpoint: RefLike | Path,
        *,
        out_dir: str | Path | None = None,
        progress: bool | None = None,
        device: str | None = None,
        until: int | None = None,
        callbacks: Sequence[TrainCallback] = (),
    ) -> TrainOutcome:
        """Continue the run that recorded ``checkpoint`` (a reference, or a checkpoint directory whose
        manifest is recorded), exactly where it stopped.

        Raises:
            IntegrityError: the checkpoint's files are damaged (the file is named). Conflict: the run
                already finished. NotFound: the checkpoint is not recorded. RightsViolation: the rights
                no longer allow training (a licence was revoked since).
        """
        ckpt, local = self._checkpoint(checkpoint)
        run = self._run_to_resume(ckpt)
        used = self.t.neighbours(run, Relation.USED)
        version = next((e for e in used if isinstance(e, DatasetVersion)), None)
        if version is None:
            raise InvalidInput(f"{run.label} used no dataset version", hint="it cannot be resumed here")
        base = next((e for e in used if isinstance(e, Weights)), None)
        sol = next((s for s in self.t.neighbours(run, Relation.PART_OF) if isinstance(s, Solution)), None)
        self._require(version, base, sol)
        pairs = training_pairs(self.t, version)
        recorder = RunRecorder(self.t)
        with _WorkDir(out_dir) as work:
            if local is None:
                local = copy_blobs(self.t, dict(ckpt.attrs.get("files", {})), work / "resume" / ckpt.name)
            trainer_cls = self.trainers.get(TRAINER)()
            trainer: Trainer = trainer_cls.resume(
                local,
                DatasetPairs(self.t, pairs),
                work,
                callbacks=[recorder, *callbacks],
                device=device,
                progress=progress,
            )
            active = ActiveRun(self.t, run)
            active.set_status("running", f"resumed from step {ckpt.step}")
            self.t.record(
                action="run.resume", target=run, detail={"checkpoint": str(ckpt.id), "step": ckpt.step}
            )
            return self._fit(trainer, active, recorder, until)

    def _run_to_resume(self, ckpt: Checkpoint) -> Run:
        """The unfinished run that recorded ``ckpt``, newest first: identical training recorded in two
        runs yields one checkpoint entity (checkpoints are keyed by content) made by both."""
        runs = [r for r in self.t.neighbours(ckpt, Relation.GENERATED_BY) if isinstance(r, Run)]
        if not runs:
            raise InvalidInput(f"{ckpt.label} was made by no recorded run", hint="train with `rmtc train`")
        for run in sorted(runs, key=lambda r: r.created_at, reverse=True):
            if self.t.store.get_run_status(run.id).state != "finished":
                return run
        raise Conflict(
            f"{runs[0].label} ({str(runs[0].id)[:8]}) already finished",
            hint="start a new run with its recipe instead of resuming it",
        )

    def _require(self, version: DatasetVersion, base: Weights | None, sol: Solution | None) -> None:
        targets: list[Entity] = [version, *([base] if base is not None else [])]
        for right in dict.fromkeys(["training", *(sol.rights_needed if sol else ())]):
            self.t.rights.require(targets, right, action="training")

    def _fit(
        self, trainer: Trainer, active: ActiveRun, recorder: RunRecorder, until: int | None
    ) -> TrainOutcome:
        recorder.active = active
        total = trainer.recipe.train.steps
        outcome = TrainOutcome(active.run, "running", trainer.step, total)
        try:
            result = trainer.fit(until)
            if result.weights is not None:
                weights = active.log_artifact(
                    result.weights,
                    kind="weights",
                    name=f"{active.run.name}.safetensors",
                    format="safetensors",
                    attrs={
                        "config": trainer.config.to_dict(),
                        "step": result.step,
                        "validation": dict(result.validation),
                    },
                )
                assert isinstance(weights, Weights)
                outcome.weights = weights
        except KeyboardInterrupt:
            active.finish("killed", "interrupted")
            raise
        except BaseException as exc:
            active.finish("failed", f"{type(exc).__name__}: {exc}")
            raise
        outcome.step, outcome.validation = result.step, dict(result.validation)
        outcome.checkpoints, outcome.sheets = recorder.checkpoints, recorder.sheets
        if result.step < total:
            outcome.state = "killed"
            last = recorder.checkpoints[-1].name if recorder.checkpoints else "a checkpoint"
            active.finish("killed", f"stopped at step {result.step} of {total}; resume from {last}")
        else:
            outcome.state = "finished"
            active.finish("finished")
        return outcome

    def _checkpoint(self, ref: RefLike | Path) -> tuple[Checkpoint, Path | None]:
        path = Path(str(ref)) if isinstance(ref, str | Path) else None
        if path is not None and path.is_dir():
            from rmtc.ml.checkpoint import verify_checkpoint

            verify_checkpoint(path)
            digest, _ = hash_file(path / CHECKPOINT_MANIFEST)
            found = self.t.find(Kind.CHECKPOINT, content_hash=digest, limit=1).items
            if not found:
                raise NotFound(
                    f"the checkpoint at {path} is not recorded in this project",
                    hint="resume a checkpoint listed by `rmtc ls checkpoint`",
                )
            entity: Entity = found[0]
        else:
            entity = self.t.resolve_named(str(ref) if isinstance(ref, Path) else ref, Kind.CHECKPOINT)
            path = None
        if not isinstance(entity, Checkpoint):
            raise InvalidInput(f"{entity.label} is not a checkpoint", hint="give a checkpoint reference")
        return entity, path


class _WorkDir:
    """The trainer's output folder: the one given (kept), or a temporary one (removed after)."""

    def __init__(self, out_dir: str | Path | None):
        self.given = Path(out_dir) if out_dir is not None else None
        self.path: Path | None = None

    def __enter__(self) -> Path:
        if self.given is not None:
            self.given.mkdir(parents=True, exist_ok=True)
            self.path = self.given
        else:
            self.path = Path(tempfile.mkdtemp(prefix="rmtc-train-"))
        return self.path

    def __exit__(self, *exc: object) -> None:
        if self.given is None and self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
