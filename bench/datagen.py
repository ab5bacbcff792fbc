"""Benchmark inputs made here, from a fixed seed, so every run and every machine hashes the same bytes.

Files are random bytes (incompressible, all distinct: no contender can profit from deduplication) named
as a VFX frame sequence (``small.00001.bin``), the way footage arrives. A generated folder carries a
``NAME.spec.json`` beside it, written last (never inside it: it is not an input); a folder whose spec
matches is reused, so a rerun does not pay for generation again.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

SEED = 20240601
KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class DataSpec:
    """``count`` files of ``size`` bytes, ``per_dir`` to a subfolder (0: all in one folder)."""

    name: str
    count: int
    size: int
    per_dir: int = 0
    seed: int = SEED

    @property
    def total_bytes(self) -> int:
        return self.count * self.size

    def describe(self) -> str:
        size = f"{self.size // MIB} MiB" if self.size >= MIB else f"{self.size // KIB} KiB"
        return f"{self.count:,} files of {size}"


def ingest_specs(quick: bool) -> tuple[DataSpec, DataSpec]:
    """The small and the large files of the ingest benchmark."""
    if quick:
        return DataSpec("small", 200, 64 * KIB), DataSpec("large", 2, 16 * MIB)
    return DataSpec("small", 5000, 64 * KIB), DataSpec("large", 40, 16 * MIB)


def memory_spec(quick: bool) -> DataSpec:
    """The many small files of the memory benchmark, 1,000 to a folder as a render farm writes them."""
    return DataSpec("many", 2000 if quick else 100_000, 4 * KIB, per_dir=1000)


def generate(spec: DataSpec, parent: Path) -> Path:
    """The folder holding ``spec``'s files under ``parent``, generated when missing or different."""
    root = parent / f"{spec.name}-{spec.count}x{spec.size}"
    marker = parent / f"{root.name}.spec.json"
    if marker.is_file() and json.loads(marker.read_text()) == asdict(spec):
        return root
    marker.unlink(missing_ok=True)
    if root.exists():
        shutil.rmtree(root)
    rng = random.Random(spec.seed ^ spec.count ^ spec.size)
    for i in range(spec.count):
        folder = root / f"d{i // spec.per_dir:03d}" if spec.per_dir else root
        if spec.per_dir == 0 or i % spec.per_dir == 0:
            folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{spec.name}.{i:06d}.bin", "wb") as f:
            f.write(rng.randbytes(spec.size))
    os.sync()
    marker.write_text(json.dumps(asdict(spec)))
    return root


def files_of(root: Path) -> list[Path]:
    """Every data file under ``root`` in a stable order."""
    found = [Path(d) / n for d, _, names in os.walk(root) for n in names]
    return sorted(found)


def warm(root: Path) -> int:
    """Read every file once so every contender starts from the same warm page cache; returns bytes."""
    total = 0
    buf = bytearray(MIB)
    for path in files_of(root):
        with open(path, "rb", buffering=0) as f:
            while n := f.readinto(buf):
                total += n
    return total
