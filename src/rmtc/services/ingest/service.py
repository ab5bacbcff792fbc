"""Ingest files as assets: hash (and copy) in parallel, probe image headers, record in batches.

Ordering makes an interrupted ingest safe to re-run: a file's bytes are durable in the blob store
before its asset row is written, and each batch of rows (assets, their talent and licence edges) is
one transaction. Re-ingesting the same bytes finds the same asset (assets are keyed by content hash),
so a re-run after a crash completes the work without duplicates or orphans.

Files are taken in windows of input order. A window's small files go to the blob store in one
``put_files`` call, so they share its two flushes (one for their bytes, one for their names: a few
flushes for thousands of frames, where one per file would cost more than the bytes); its large files
go one per worker, where copying dominates. While one window is recorded the next ones are already
being copied: copying runs ahead of recording by up to ``LOOKAHEAD`` windows.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rmtc.blobs._common import read_whole
from rmtc.core.entities import Asset, Entity
from rmtc.core.hashing import hash_bytes, hash_file
from rmtc.core.ids import EntityId, new_ids
from rmtc.core.kinds import Relation
from rmtc.errors import RmtcError
from rmtc.services.ingest.scan import SourceFile, scan

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker

#: Asset rows per transaction.
BATCH = 500
#: Files from this size on are copied one per worker with a flush of their own; smaller ones in groups.
SMALL = 4 << 20
#: A window closes at this many files or this many bytes of small files: its small files share one
#: group of flushes, so the fixed cost of a flush is paid a few times per ingest, not per file.
GROUP_FILES = 2048
GROUP_BYTES = 256 << 20
#: The first window is this many times smaller than the limits (then each doubles).
RAMP = 8
#: Windows whose small files are being copied at once (each by ``put_files``' own threads).
IN_FLIGHT = 2
#: Windows handed to the pools ahead of the one being recorded. Copying a window never waits for the
#: recording of an earlier one (which would leave the disk idle while rows are written), but results
#: waiting to be recorded stay bounded.
LOOKAHEAD = 8
#: By reference, small files are hashed this many per task.
HASH_SHARE = 64
IMAGE_EXTENSIONS = frozenset({".exr", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".dpx", ".hdr", ".tx"})
MediaProbe = Callable[[Sequence[Path]], list[dict[str, Any]]]


class Progress(Protocol):
    """What ingest reports as it goes (the CLI draws a bar; the API can pass nothing)."""

    def start(self, files: int, total_bytes: int) -> None: ...

    def advance(self, files: int, nbytes: int) -> None: ...

    def finish(self) -> None: ...


@dataclass(frozen=True, slots=True)
class IngestedFile:
    path: Path
    asset: EntityId
    frame: int | None
    sequence: str | None
    created: bool


@dataclass
class IngestReport:
    """What an ingest did. ``files`` lists every ingested file in input order; ``failed`` the files that
    could not be ingested (path, one-line reason); the others were recorded."""

    files: list[IngestedFile] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    created: int = 0
    bytes: int = 0
    by_reference: bool = False

    @property
    def existing(self) -> int:
        return len(self.files) - self.created

    @property
    def sequences(self) -> list[str]:
        return sorted({f.sequence for f in self.files if f.sequence})


@dataclass(frozen=True, slots=True)
class _Hashed:
    src: SourceFile
    digest: str
    size: int


#: A file's outcome: hashed (and stored), or (path, one-line reason) when it failed.
_Outcome = _Hashed | tuple[str, str]
#: Positions in its window of the files a pool task handles, and the task (their outcomes, in order).
_Task = tuple[list[int], "Future[list[_Outcome]]"]


class Ingestor:
    def __init__(self, tracker: Tracker, *, workers: int | None = None, probe: MediaProbe | None = None):
        self.t = tracker
        self.workers = workers or min(8, (os.cpu_count() or 2) * 2)
        self._probe = probe

    def ingest(
        self,
        inputs: Sequence[str | os.PathLike[str]],
        *,
        frames: str | None = None,
        by_reference: bool = False,
        talent: Sequence[RefLike] = (),
        licenses: Sequence[RefLike] = (),
        dataset: str | None = None,
        progress: Progress | None = None,
        probe_media: bool = True,
    ) -> IngestReport:
        """Ingest files, folders and sequences; see the module docstring for the guarantees.

        Talent and licences must exist already (a typo must not invent a talent): they are resolved
        before any file is read. ``dataset`` is created when missing and the assets are staged into its
        working set.

        Raises:
            NotFound / InvalidInput: a named path, talent or licence does not exist, or a range is bad.
        """
        parties = [self.t.parties.talent(x) for x in talent]
        lics = [self.t.parties.license(x) for x in licenses]
        ds = self.t.datasets.get_or_create(dataset) if dataset else None
        sources = scan(inputs, frames=frames)
        sizes = [_size(s.path) for s in sources]
        report = IngestReport(by_reference=by_reference)
        if progress is not None:
            progress.start(len(sources), sum(sizes))
        with contextlib.ExitStack() as stack:
            probe = self._media_probe(stack) if probe_media else None
            self._hash_and_record(sources, sizes, report, parties, lics, probe, progress)
        if ds is not None and report.files:
            for start in range(0, len(report.files), BATCH * 10):
                chunk_ids = [f.asset for f in report.files[start : start + BATCH * 10]]
                self.t.store.stage_members(ds.id, [{"asset": str(i)} for i in chunk_ids])
        self.t.record(
            action="ingest",
            target=ds,
            detail={
                "files": len(report.files),
                "created": report.created,
                "bytes": report.bytes,
                "failed": len(report.failed),
                "by_reference": by_reference,
                "sequences": report.sequences[:50],
            },
        )
        if progress is not None:
            progress.finish()
        return report

    def _hash_and_record(
        self,
        sources: Sequence[SourceFile],
        sizes: Sequence[int],
        report: IngestReport,
        parties: Sequence[Entity],
        lics: Sequence[Entity],
        probe: MediaProbe | None,
        progress: Progress | None,
    ) -> None:
        """Hand up to ``LOOKAHEAD`` windows to the pools while the oldest is recorded: the small files
        of a window go to ``groups`` (``IN_FLIGHT`` windows copied at once, in input order), the rest to
        ``pool``. On an error the work not started yet is cancelled, so nothing more is copied for
        rows that will not be written."""
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="rmtc-ingest")
        groups = ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="rmtc-ingest-group")
        try:
            pending: deque[list[_Task]] = deque()
            for start, end in windows(sizes):
                window, window_sizes = sources[start:end], sizes[start:end]
                pending.append(self._submit(pool, groups, window, window_sizes, report.by_reference))
                if len(pending) >= LOOKAHEAD:
                    self._record(pending.popleft(), report, parties, lics, probe, progress)
            while pending:
                self._record(pending.popleft(), report, parties, lics, probe, progress)
        except BaseException:
            for executor in (groups, pool):
                executor.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            for executor in (groups, pool):
                executor.shutdown(wait=True)

    def _submit(
        self,
        pool: ThreadPoolExecutor,
        groups: ThreadPoolExecutor,
        window: Sequence[SourceFile],
        sizes: Sequence[int],
        by_reference: bool,
    ) -> list[_Task]:
        """The window's small files in one task of ``groups`` (one group of flushes; by reference, a few
        tasks of ``pool``), each large file in a task of its own; each task with the window positions
        of its files."""
        small = [i for i, size in enumerate(sizes) if size < SMALL]
        tasks: list[_Task] = []
        if by_reference:
            for at in range(0, len(small), HASH_SHARE):
                share = small[at : at + HASH_SHARE]
                tasks.append((share, pool.submit(self._hash_many, [window[i] for i in share])))
        elif small:
            tasks.append((small, groups.submit(self._store_many, [window[i] for i in small])))
        for i, size in enumerate(sizes):
            if size >= SMALL:
                tasks.append(([i], pool.submit(self._store_one, window[i], by_reference)))
        return tasks

    def _store_many(self, srcs: Sequence[SourceFile]) -> list[_Outcome]:
        """Store small files in one group (shared flushes); per-file outcomes in order, failures
        returned, not raised."""
        try:
            results = self.t.blobs.put_files([s.path for s in srcs])
        except RmtcError as exc:  # the group's flush failed (disk full): every file of the group fails
            return [(str(s.path), exc.one_line()) for s in srcs]
        return [
            _Hashed(s, r.digest, r.size) if not isinstance(r, RmtcError) else (str(s.path), r.one_line())
            for s, r in zip(srcs, results, strict=True)
        ]

    def _hash_many(self, srcs: Sequence[SourceFile]) -> list[_Outcome]:
        """Hash small files by reference, each read whole with one open and one read (the blob store's
        own reader, with its checks: a regular file that did not change while read)."""
        view = memoryview(bytearray(SMALL))
        out: list[_Outcome] = []
        for src in srcs:
            try:
                size = read_whole(src.path, view)
            except RmtcError as exc:
                out.append((str(src.path), exc.one_line()))
                continue
            if size is None:  # it grew past SMALL since it was listed
                out += self._store_one(src, True)
            else:
                out.append(_Hashed(src, hash_bytes(view[:size]), size))
        return out

    def _store_one(self, src: SourceFile, by_reference: bool) -> list[_Outcome]:
        """Hash (reference) or hash-and-copy (copy) one file; a failure is returned, not raised, so one
        bad file never aborts the others."""
        try:
            if by_reference:
                digest, size = hash_file(src.path)
            else:
                info = self.t.blobs.put_file(src.path)
                digest, size = info.digest, info.size
        except RmtcError as exc:
            return [(str(src.path), exc.one_line())]
        except OSError as exc:
            return [(str(src.path), f"cannot read it: {exc.strerror or exc}")]
        return [_Hashed(src, digest, size)]

    def _record(
        self,
        tasks: list[_Task],
        report: IngestReport,
        parties: Sequence[Entity],
        lics: Sequence[Entity],
        probe: MediaProbe | None,
        progress: Progress | None,
    ) -> None:
        """Record one window in input order, ``BATCH`` assets per transaction, once all of its bytes are
        durable."""
        outcomes: list[_Outcome | None] = [None] * sum(len(positions) for positions, _ in tasks)
        for positions, future in tasks:
            for i, done in zip(positions, future.result(), strict=True):
                outcomes[i] = done
        hashed: list[_Hashed] = []
        for outcome in outcomes:
            if isinstance(outcome, _Hashed):
                hashed.append(outcome)
            elif outcome is not None:
                report.failed.append(outcome)
        for start in range(0, len(hashed), BATCH):
            self._record_batch(hashed[start : start + BATCH], report, parties, lics, probe)
        if progress is not None:
            progress.advance(len(outcomes), sum(h.size for h in hashed))

    def _record_batch(
        self,
        hashed: list[_Hashed],
        report: IngestReport,
        parties: Sequence[Entity],
        lics: Sequence[Entity],
        probe: MediaProbe | None,
    ) -> None:
        media = self._probe_batch(probe, hashed)
        storage = "reference" if report.by_reference else "copy"
        tags = [(Relation.DEPICTS, p) for p in parties] + [(Relation.GOVERNED_BY, lic) for lic in lics]
        new, edge = self.t.new, self.t.edge
        assets: list[Asset] = []
        edges = []
        for item, info, asset_id in zip(hashed, media, new_ids(len(hashed)), strict=True):
            src = item.src
            asset = new(
                Asset,
                src.path.name,
                entity_id=asset_id,
                content_hash=item.digest,
                size=item.size,
                storage=storage,
                uri=str(src.path),
                sequence=src.sequence,
                frame=src.frame,
                media=info or None,
            )
            assets.append(asset)
            if tags:
                edges += [edge(asset, relation, other) for relation, other in tags]
        result = self.t.record(assets, edges)
        files = report.files
        for item, requested, stored in zip(hashed, assets, result.entities, strict=True):
            created = stored.id == requested.id
            report.created += created
            src = item.src
            files.append(IngestedFile(src.path, stored.id, src.frame, src.sequence, created))
        report.bytes += sum(item.size for item in hashed)

    def _media_probe(self, stack: contextlib.ExitStack) -> MediaProbe | None:
        """The injected probe, else a pool of sandboxed probe workers kept for the whole ingest, started
        (and OpenImageIO imported) only when a batch first holds an image."""
        if self._probe is not None:
            return self._probe
        if importlib.util.find_spec("OpenImageIO") is None:
            return None  # the vfx extra is not installed: assets are recorded without media info
        pool: list[MediaProbe] = []

        def probe(paths: Sequence[Path]) -> list[dict[str, Any]]:
            if not pool:
                from rmtc.vfx.media import ProbePool

                pool.append(stack.enter_context(ProbePool()).probe)
            return pool[0](paths)

        return probe

    @staticmethod
    def _probe_batch(probe: MediaProbe | None, hashed: list[_Hashed]) -> list[dict[str, Any]]:
        media: list[dict[str, Any]] = [{} for _ in hashed]
        if probe is None:
            return media
        images = [i for i, h in enumerate(hashed) if h.src.path.suffix.lower() in IMAGE_EXTENSIONS]
        if images:
            for i, info in zip(images, probe([hashed[i].src.path for i in images]), strict=True):
                media[i] = info
        return media


def windows(sizes: Sequence[int]) -> list[tuple[int, int]]:
    """How ingest cuts its input (file sizes, in input order) into windows: ranges ``[start, end)`` of at
    most ``GROUP_FILES`` files holding at most ``GROUP_BYTES`` of small files. Each window's small
    files share one group of flushes. The first window is ``RAMP`` times smaller and each next one
    twice as large up to the limits, so recording starts early and overlaps the copying that follows."""
    out: list[tuple[int, int]] = []
    max_files, max_bytes = max(1, GROUP_FILES // RAMP), max(1, GROUP_BYTES // RAMP)
    start = nbytes = 0
    for i, size in enumerate(sizes):
        if i > start and (i - start >= max_files or (size < SMALL and nbytes + size > max_bytes)):
            out.append((start, i))
            start, nbytes = i, 0
            max_files, max_bytes = min(GROUP_FILES, max_files * 2), min(GROUP_BYTES, max_bytes * 2)
        if size < SMALL:
            nbytes += size
    if start < len(sizes):
        out.append((start, len(sizes)))
    return out


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
