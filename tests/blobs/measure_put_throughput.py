"""Ad-hoc measurement, not a test: put_file on 40 x 16 MiB files against reading + BLAKE3-hashing them.

Run: ``.venv/bin/python tests/blobs/measure_put_throughput.py [DIR]`` (DIR: where to put the files and
the store, default a temp dir; it should be the disk the store will live on). Prints per-file times
and the ratio (read+hash time / put_file time; 1.0 = inserting costs no more than hashing). The
"no fsync" line disables durability for information only: it shows what the disk flush costs.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rmtc.blobs.local import open_local
from rmtc.core.hashing import hash_file

FILES, SIZE, ROUNDS = 40, 16 << 20, 3


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(base: Path) -> None:
    sources = base / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    paths = [sources / f"plate.{1001 + i}.exr" for i in range(FILES)]
    for p in paths:
        p.write_bytes(os.urandom(SIZE))
    os.sync()
    for p in paths:
        hash_file(p)  # both sides read from the page cache

    def put_all(fsync: bool = True) -> float:
        root = base / "store"
        shutil.rmtree(root, ignore_errors=True)
        os.sync()
        store = open_local(root, create=True)
        real = os.fsync
        if not fsync:
            os.fsync = lambda fd: None
        try:
            return _time(lambda: [store.put_file(p) for p in paths])
        finally:
            os.fsync = real

    hashing, putting, unsynced = [], [], []
    for _ in range(ROUNDS):
        hashing.append(_time(lambda: [hash_file(p) for p in paths]))
        putting.append(put_all())
        unsynced.append(put_all(fsync=False))
    h, p, u = (statistics.median(x) / FILES * 1000 for x in (hashing, putting, unsynced))
    print(f"{FILES} x {SIZE >> 20} MiB, median of {ROUNDS} rounds, {os.cpu_count()} CPUs")
    print(f"read + BLAKE3 hash     {h:7.2f} ms/file  {SIZE / h / 1e6:6.2f} GB/s")
    print(f"put_file (durable)     {p:7.2f} ms/file  {SIZE / p / 1e6:6.2f} GB/s  ratio {h / p:.2f}")
    print(f"put_file (no fsync)    {u:7.2f} ms/file  {SIZE / u / 1e6:6.2f} GB/s  ratio {h / u:.2f}")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="rmtc-measure-"))
    try:
        main(target)
    finally:
        if len(sys.argv) <= 1:
            shutil.rmtree(target, ignore_errors=True)
