"""Ingest files as assets: hash (and copy) in parallel, probe image headers, record in batches.

Ordering makes an interrupted ingest safe to re-run: a file's bytes are durable in the blob store
before its asset row is written, and each batch of rows (assets, their talent and licence edges) is
one transaction. Re-ingesting the same bytes finds the same asset (assets are keyed by content hash),
so a re-run after a crash completes the work without duplicates or orphans.
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

from rmtc.core.entities import Asset, Entity
from rmtc.core.hashing import hash_file
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Relation
from rmtc.errors import RmtcError
from rmtc.services.ingest.scan import SourceFile, scan

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker

BATCH = 500
#: Small files are handed to the blob store this many at a time, sharing its flushes (two per
#: sub-batch instead of two per file); large files go one per worker, where copying dominates.
SUB_BATCH = 256
SMALL = 4 << 20
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
        report = IngestReport(by_reference=by_reference)
        if progress is not None:
            progress.start(len(sources), sum(_size(s.path) for s in sources))
        with contextlib.ExitStack() as stack:
            probe = self._media_probe(stack) if probe_media else None
            self._hash_and_record(sources, report, parties, lics, probe, progress)
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
        report: IngestReport,
        parties: Sequence[Entity],
        lics: Sequence[Entity],
        probe: MediaProbe | None,
        progress: Progress | None,
    ) -> None:
        """Hash (and copy) one batch in the pool while the previous batch is probed and recorded."""
        with ThreadPoolExecutor(self.workers, thread_name_prefix="rmtc-ingest") as pool:
            pending: deque[list[Future[list[_Hashed | tuple[str, str]]]]] = deque()
            for start in range(0, len(sources), BATCH):
                chunk = sources[start : start + BATCH]
                pending.append(self._submit(pool, chunk, report.by_reference))
                if len(pending) > 1:
                    self._record(pending.popleft(), report, parties, lics, probe, progress)
            while pending:
                self._record(pending.popleft(), report, parties, lics, probe, progress)

    def _submit(
        self, pool: ThreadPoolExecutor, chunk: Sequence[SourceFile], by_reference: bool
    ) -> list[Future[list[_Hashed | tuple[str, str]]]]:
        """Small files in sub-batches (shared flushes), large ones one per task (parallel copying)."""
        if by_reference:
            groups = [chunk[i : i + SUB_BATCH // 8] for i in range(0, len(chunk), SUB_BATCH // 8)]
        else:
            small = [s for s in chunk if _size(s.path) < SMALL]
            large = [s for s in chunk if _size(s.path) >= SMALL]
            groups = [small[i : i + SUB_BATCH] for i in range(0, len(small), SUB_BATCH)] + [
                [s] for s in large
            ]
        return [pool.submit(self._store_many, g, by_reference) for g in groups]

    def _store_many(self, srcs: Sequence[SourceFile], by_reference: bool) -> list[_Hashed | tuple[str, str]]:
        """Store (or hash) a sub-batch; per-file outcomes in order, failures returned, not raised."""
        if by_reference:
            return [self._store_bytes(s, True) for s in srcs]
        try:
            results = self.t.blobs.put_files([s.path for s in srcs])
        except RmtcError as exc:  # the store itself failed (disk full): every file of the sub-batch fails
            return [(str(s.path), exc.one_line()) for s in srcs]
        return [
            _Hashed(s, r.digest, r.size) if not isinstance(r, RmtcError) else (str(s.path), r.one_line())
            for s, r in zip(srcs, results, strict=True)
        ]

    def _store_bytes(self, src: SourceFile, by_reference: bool) -> _Hashed | tuple[str, str]:
        """Hash (reference) or hash-and-copy (copy) one file; a failure is returned, not raised, so one
        bad file never aborts the others."""
        try:
            if by_reference:
                digest, size = hash_file(src.path)
            else:
                info = self.t.blobs.put_file(src.path)
                digest, size = info.digest, info.size
        except RmtcError as exc:
            return (str(src.path), exc.one_line())
        except OSError as exc:
            return (str(src.path), f"cannot read it: {exc.strerror or exc}")
        return _Hashed(src, digest, size)

    def _record(
        self,
        futures: list[Future[list[_Hashed | tuple[str, str]]]],
        report: IngestReport,
        parties: Sequence[Entity],
        lics: Sequence[Entity],
        probe: MediaProbe | None,
        progress: Progress | None,
    ) -> None:
        hashed: list[_Hashed] = []
        outcomes = [outcome for fut in futures for outcome in fut.result()]
        for outcome in outcomes:
            if isinstance(outcome, _Hashed):
                hashed.append(outcome)
            else:
                report.failed.append(outcome)
        media = self._probe_batch(probe, hashed)
        assets: list[Asset] = []
        edges = []
        for item, info in zip(hashed, media, strict=True):
            asset = self.t.new(
                Asset,
                item.src.path.name,
                content_hash=item.digest,
                size=item.size,
                storage="reference" if report.by_reference else "copy",
                uri=str(item.src.path),
                sequence=item.src.sequence,
                frame=item.src.frame,
                media=info or None,
            )
            assets.append(asset)
            edges += [self.t.edge(asset, Relation.DEPICTS, p) for p in parties]
            edges += [self.t.edge(asset, Relation.GOVERNED_BY, lic) for lic in lics]
        if assets:
            result = self.t.record(assets, edges)
            for item, requested, stored in zip(hashed, assets, result.entities, strict=True):
                created = stored.id == requested.id
                report.created += created
                report.bytes += item.size
                report.files.append(
                    IngestedFile(item.src.path, stored.id, item.src.frame, item.src.sequence, created)
                )
        if progress is not None:
            progress.advance(len(outcomes), sum(h.size for h in hashed))

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


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
