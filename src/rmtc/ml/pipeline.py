"""A three-stage frame pipeline: reading, computing and writing overlap, in bounded memory.

One thread reads, the calling thread computes (where the CUDA context lives), one thread writes; bounded
queues between them keep at most ``depth`` frames waiting at each hand-over, so a 4K sequence never
piles up in memory when the disk is slower than the model or the other way round. Frames are written in
the order given. The first error in any stage stops the others and is raised in the caller, as it was
raised (an :class:`~rmtc.errors.RmtcError` stays one).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from rmtc.errors import InvalidInput

K = TypeVar("K")
T = TypeVar("T")
U = TypeVar("U")

_END = object()
_POLL = 0.05


@dataclass(slots=True)
class PipelineStats:
    """Frames done and seconds spent in each stage (stages overlap, so they may sum above ``wall``)."""

    frames: int = 0
    read: float = 0.0
    compute: float = 0.0
    write: float = 0.0
    wall: float = 0.0


@dataclass(slots=True)
class _State(Generic[K]):
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, exc: BaseException) -> None:
        with self.lock:
            self.errors.append(exc)
        self.stop.set()


def _put(q: queue.Queue[Any], item: Any, state: _State[Any]) -> bool:
    while not state.stop.is_set():
        try:
            q.put(item, timeout=_POLL)
            return True
        except queue.Full:
            continue
    return False


def _get(q: queue.Queue[Any], state: _State[Any]) -> Any:
    while True:
        try:
            return q.get(timeout=_POLL)
        except queue.Empty:
            if state.stop.is_set():
                return _END


def run_pipeline(
    items: Iterable[K],
    read: Callable[[K], T],
    compute: Callable[[T], U],
    write: Callable[[K, U], None],
    *,
    depth: int = 2,
    on_done: Callable[[K], None] | None = None,
) -> PipelineStats:
    """Read, compute and write every item, the three stages running at once.

    Args:
        items: what to process (frame numbers, paths...), in output order.
        read: loads one item (runs on the reader thread).
        compute: transforms what was read (runs on the calling thread).
        write: stores one result (runs on the writer thread).
        depth: at most this many items wait between two stages.
        on_done: called on the writer thread after each item is written (progress, provenance).

    Raises:
        Whatever a stage raised first; the other stages stop at their next hand-over.
    """
    if depth < 1:
        raise InvalidInput(f"pipeline depth must be at least 1, got {depth}", hint="use 2")
    state: _State[K] = _State()
    stats = PipelineStats()
    inbox: queue.Queue[Any] = queue.Queue(maxsize=depth)
    outbox: queue.Queue[Any] = queue.Queue(maxsize=depth)
    started = time.perf_counter()

    def reader() -> None:
        try:
            for item in items:
                if state.stop.is_set():
                    return
                t0 = time.perf_counter()
                data = read(item)
                stats.read += time.perf_counter() - t0
                if not _put(inbox, (item, data), state):
                    return
        except BaseException as exc:
            state.fail(exc)
        finally:
            _put(inbox, _END, state)

    def writer() -> None:
        try:
            while (entry := _get(outbox, state)) is not _END:
                item, result = entry
                t0 = time.perf_counter()
                write(item, result)
                stats.write += time.perf_counter() - t0
                stats.frames += 1
                if on_done is not None:
                    on_done(item)
        except BaseException as exc:
            state.fail(exc)

    threads = [threading.Thread(target=reader, name="rmtc-read", daemon=True)]
    threads.append(threading.Thread(target=writer, name="rmtc-write", daemon=True))
    for t in threads:
        t.start()
    try:
        while (entry := _get(inbox, state)) is not _END:
            item, data = entry
            t0 = time.perf_counter()
            result = compute(data)
            stats.compute += time.perf_counter() - t0
            if not _put(outbox, (item, result), state):
                break
    except BaseException as exc:
        state.fail(exc)
    finally:
        _put(outbox, _END, state)
        for t in threads:
            t.join()
    stats.wall = time.perf_counter() - started
    if state.errors:
        raise state.errors[0]
    return stats
