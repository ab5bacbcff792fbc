"""Runs: activities with parameters, metrics, status, inputs and outputs.

Parameters and inputs are facts recorded when the run starts. Metrics and status are operational
state, written in batches so a training loop logging every step never waits on provenance tables.
Files a run produces are stored as blobs and recorded as entities ``generated_by`` the run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import Asset, Checkpoint, Entity, Run, Weights
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import InvalidInput
from rmtc.services import environment
from rmtc.store.types import MetricPoint, RunQuery, RunState, RunStatus

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker

#: Metric points are sent to the store in batches of this many (or on flush/finish).
METRIC_BATCH = 1000
_ARTEFACT_KINDS: dict[str, type[Entity]] = {"asset": Asset, "weights": Weights, "checkpoint": Checkpoint}


class ActiveRun:
    """A run being executed. Use as a context manager: it finishes ``finished``, or ``failed`` when
    the block raises (the error is recorded as the status message)."""

    def __init__(self, tracker: Tracker, run: Run):
        self.t = tracker
        self.run = run
        self._pending: list[MetricPoint] = []

    @property
    def id(self) -> EntityId:
        return self.run.id

    def log_metric(self, key: str, value: float, step: int) -> None:
        self._pending.append(MetricPoint(key, step, float(value), self.t.clock.now()))
        if len(self._pending) >= METRIC_BATCH:
            self.flush()

    def log_metrics(self, values: Mapping[str, float], step: int) -> None:
        at = self.t.clock.now()
        self._pending.extend(MetricPoint(k, step, float(v), at) for k, v in values.items())
        if len(self._pending) >= METRIC_BATCH:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            points, self._pending = self._pending, []
            self.t.store.log_metrics(self.run.id, points)

    def log_artifact(
        self,
        path: str | Path,
        *,
        kind: str = "asset",
        name: str | None = None,
        derived_from: Sequence[RefLike] = (),
        **fields: Any,
    ) -> Entity:
        """Store a file the run produced and record it as ``generated_by`` this run."""
        cls = _ARTEFACT_KINDS.get(kind)
        if cls is None:
            raise InvalidInput(
                f"cannot log an artefact of kind {kind!r}", hint=f"use one of {sorted(_ARTEFACT_KINDS)}"
            )
        info = self.t.blobs.put_file(path)
        entity = self.t.new(cls, name or Path(path).name, content_hash=info.digest, size=info.size, **fields)
        edges = [self.t.edge(entity, Relation.GENERATED_BY, self.run)]
        edges += [self.t.edge(entity, Relation.DERIVED_FROM, self.t.resolve(r)) for r in derived_from]
        return self.t.record([entity], edges, action="run.artifact", target=self.run).entities[0]

    def set_status(self, state: RunState, message: str = "") -> None:
        self.flush()
        self.t.store.set_run_status(RunStatus(self.run.id, state, self.t.clock.now(), message))

    def finish(self, state: RunState = "finished", message: str = "") -> None:
        """Flush the metrics, then record the final state and its audit event in one transaction."""
        self.flush()
        status = RunStatus(self.run.id, state, self.t.clock.now(), message)
        self.t.record(
            action=f"run.{state}",
            target=self.run,
            detail={"message": message} if message else {},
            statuses=[status],
        )

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.finish("finished")
        elif isinstance(exc, KeyboardInterrupt):
            self.finish("killed", "interrupted")
        else:
            self.finish("failed", f"{type(exc).__name__}: {exc}")


class Runs:
    def __init__(self, tracker: Tracker):
        self.t = tracker

    def start(
        self,
        name: str,
        *,
        run_type: str = "training",
        params: Mapping[str, Any] | None = None,
        inputs: Sequence[RefLike] = (),
        solution: RefLike | None = None,
        capture_environment: bool = True,
    ) -> ActiveRun:
        """Record a new run (its params, environment and inputs) and mark it running."""
        env = environment.capture() if capture_environment else {}
        run = self.t.new(Run, name, run_type=run_type, params=dict(params or {}), environment=env)
        edges = [self.t.edge(run, Relation.USED, self.t.resolve(ref)) for ref in inputs]
        if solution is not None:
            edges.append(self.t.edge(run, Relation.PART_OF, self.t.resolve(solution, Kind.SOLUTION)))
        status = RunStatus(run.id, "running", self.t.clock.now())
        stored = self.t.record([run], edges, action="run.start", target=run, statuses=[status]).entities[0]
        assert isinstance(stored, Run)
        return ActiveRun(self.t, stored)

    @contextlib.contextmanager
    def resume(self, ref: RefLike) -> Iterator[ActiveRun]:
        """Continue logging into an existing run (a resumed training job)."""
        run = self.get(ref)
        active = ActiveRun(self.t, run)
        active.set_status("running")
        with active:
            yield active

    def get(self, ref: RefLike) -> Run:
        entity = self.t.resolve(ref, Kind.RUN)
        assert isinstance(entity, Run)
        return entity

    def status(self, ref: RefLike) -> RunStatus:
        return self.t.store.get_run_status(self.get(ref).id)

    def metrics(self, ref: RefLike, keys: Sequence[str] | None = None) -> dict[str, list[MetricPoint]]:
        return self.t.store.get_metrics(self.get(ref).id, keys)

    def search(
        self,
        *,
        params: Mapping[str, str | int | float | bool] | None = None,
        metrics: Sequence[tuple[str, str, float]] = (),
        run_type: str | None = None,
        limit: int = 100,
    ) -> list[Run]:
        """Runs whose params equal ``params`` and whose latest metrics satisfy ``metrics``
        (``("val_loss", "<", 0.1)``)."""
        query = RunQuery(
            project=self.t.project, run_type=run_type, params=dict(params or {}), metrics=metrics
        )
        page = self.t.store.find_runs(query, limit=limit)
        return [r for r in page.items if isinstance(r, Run)]
