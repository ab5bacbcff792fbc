"""Verification: do the bytes the store vouches for still exist and still hash to their names?

Copies are re-hashed in the blob store; references are re-hashed where they live. Anything missing or
changed is reported by asset, so a facility knows exactly which frames it can no longer prove.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from rmtc.core.entities import Asset, Checkpoint, Entity, Weights
from rmtc.core.hashing import hash_file
from rmtc.core.kinds import Kind
from rmtc.errors import FileChanged, NotFound, RmtcError

if TYPE_CHECKING:
    from rmtc.api.tracker import Tracker

Problem = Literal["missing", "corrupt", "drifted", "unreadable"]
_BLOB_KINDS = (Kind.ASSET, Kind.WEIGHTS, Kind.CHECKPOINT)


@dataclass(frozen=True, slots=True)
class Finding:
    entity: Entity
    problem: Problem
    detail: str


@dataclass
class VerifyReport:
    checked: int = 0
    bytes: int = 0
    findings: list[Finding] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


class Verifier:
    def __init__(self, tracker: Tracker, *, workers: int | None = None):
        self.t = tracker
        self.workers = workers or min(8, (os.cpu_count() or 2) * 2)

    def verify(
        self, *, orphans: bool = False, on_progress: Callable[[int], None] | None = None
    ) -> VerifyReport:
        """Re-hash every stored copy and every reference of this project.

        ``orphans`` also lists blobs no entity names (harmless, reported for clean-up).
        """
        report = VerifyReport()
        with ThreadPoolExecutor(self.workers, thread_name_prefix="rmtc-verify") as pool:
            for finding, size in pool.map(self._check, self._live_entities()):
                report.checked += 1
                report.bytes += size
                if finding is not None:
                    report.findings.append(finding)
                if on_progress is not None:
                    on_progress(1)
        if orphans:
            named = {e.content_hash for e in self._entities() if e.content_hash}
            report.orphans = sorted(d for d in self.t.blobs.iter_digests() if d not in named)
        return report

    def _entities(self) -> Iterator[Entity]:
        for kind in _BLOB_KINDS:
            yield from self.t.iter(self.t.query(kind))

    def _live_entities(self, chunk: int = 1000) -> Iterator[Entity]:
        """Entities whose bytes should exist: purged ones (erased on purpose) are skipped."""
        batch: list[Entity] = []
        for entity in self._entities():
            batch.append(entity)
            if len(batch) >= chunk:
                yield from self._unpurged(batch)
                batch = []
        yield from self._unpurged(batch)

    def _unpurged(self, batch: list[Entity]) -> Iterator[Entity]:
        flags = self.t.store.get_flags([e.id for e in batch]) if batch else {}
        return (e for e in batch if "purged" not in flags.get(e.id, {}))

    def _check(self, entity: Entity) -> tuple[Finding | None, int]:
        digest = entity.content_hash
        if digest is None:
            return None, 0
        if isinstance(entity, Asset) and entity.storage == "reference":
            return self._check_reference(entity, digest)
        if isinstance(entity, Asset | Weights | Checkpoint):
            try:
                size = self.t.blobs.size(digest)
                ok = self.t.blobs.verify(digest)
            except NotFound:
                return Finding(entity, "missing", f"blob {digest[:12]}… is gone from {self.t.blobs.url}"), 0
            if not ok:
                return Finding(entity, "corrupt", f"blob {digest[:12]}… no longer matches its hash"), size
            return None, size
        return None, 0

    @staticmethod
    def _check_reference(asset: Asset, digest: str) -> tuple[Finding | None, int]:
        path = Path(asset.uri or "")
        try:
            actual, size = hash_file(path)
        except NotFound:
            return Finding(asset, "missing", f"{asset.uri} no longer exists"), 0
        except FileChanged as exc:
            return Finding(asset, "unreadable", exc.message), 0
        except RmtcError as exc:
            return Finding(asset, "unreadable", exc.message), 0
        if actual != digest:
            return Finding(asset, "drifted", f"{asset.uri} has changed since it was ingested"), size
        return None, size
