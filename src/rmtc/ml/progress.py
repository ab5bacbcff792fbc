"""The training progress bar: step count, loss and time left, on stderr, and off when asked."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class TrainProgress:
    """A context manager around a rich progress bar; with ``enabled=False`` it does nothing at all.

    Args:
        enabled: show the bar.
        total: the run's total steps. done: steps already done (a resumed run starts part-way).
        console: where to draw (default: stderr), so tests can capture it.
    """

    def __init__(self, enabled: bool, total: int, done: int = 0, console: Console | None = None):
        self._progress: Progress | None = None
        if enabled:
            self._progress = Progress(
                TextColumn("[bold]training"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.4f}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=console or Console(stderr=True),
                transient=False,
            )
            self._task = self._progress.add_task("training", total=total, completed=done, loss=float("nan"))

    def __enter__(self) -> TrainProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def update(self, step: int, loss: float) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=step, loss=loss)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
