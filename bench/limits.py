"""The limit rmtc's ingest is measured against: the least work any correct ingest must do, in one process.

``hash``: read each file once and BLAKE3-hash its bytes (the ``blake3`` package, as rmtc; files of
8 MiB or more with BLAKE3's own threads, as :mod:`rmtc.core.hashing` decides). ``copy``: the same, and
write the bytes once to a new file in a folder on the same filesystem, made durable the way rmtc makes
blobs durable: a file of at least ``SMALL`` bytes is fsynced, then its folder; smaller files are made
durable together by one ``syncfs`` per window of the input, cut exactly as rmtc's ingest cuts it
(:func:`rmtc.services.ingest.service.windows`: at most ``GROUP_FILES`` files and ``GROUP_BYTES`` of small
files). rmtc pays two per window (one for the bytes, then one for the names it gives them after); the
limit needs one, as it writes under final names from the start. Files are handled one after the other
in a plain loop with one reusable buffer: no temporary names, no metadata store, no progress.

Run as ``python -m bench.limits hash|copy SRC [DEST]``; prints one JSON object (seconds, files, bytes).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import blake3

from bench.datagen import files_of
from rmtc.core.hashing import PARALLEL_THRESHOLD
from rmtc.services.ingest.service import SMALL, windows


def measure(src: Path, dest: Path | None) -> dict[str, float]:
    """Hash (and with ``dest``, copy durably) every file under ``src``; timed from the first open."""
    paths = files_of(src)
    sizes = [p.stat().st_size for p in paths]
    view = memoryview(bytearray(max(sizes)))
    syncfs = _syncfs()
    window_ends = {end - 1 for _, end in windows(sizes)}
    total = 0
    unsynced = 0
    dest_fd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY) if dest is not None else -1
    start = time.perf_counter()
    for i, path in enumerate(paths):
        with open(path, "rb", buffering=0) as f:
            n = f.readinto(view)
        threads = blake3.blake3.AUTO if n >= PARALLEL_THRESHOLD else 1
        blake3.blake3(view[:n], max_threads=threads).hexdigest()
        if dest is not None:
            fd = os.open(dest / f"{i:08d}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
            try:
                written = 0
                while written < n:
                    written += os.write(fd, view[written:n])
                if n >= SMALL:
                    os.fsync(fd)
            finally:
                os.close(fd)
            if n >= SMALL:
                os.fsync(dest_fd)
            else:
                unsynced += 1
            if unsynced and i in window_ends:
                syncfs(dest_fd)
                unsynced = 0
        total += n
    if unsynced:
        syncfs(dest_fd)
    seconds = time.perf_counter() - start
    if dest_fd >= 0:
        os.close(dest_fd)
    return {"seconds": seconds, "files": len(paths), "bytes": total}


def _syncfs() -> Callable[[int], int]:
    fn = ctypes.CDLL(None, use_errno=True).syncfs
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["hash", "copy"])
    parser.add_argument("src", type=Path)
    parser.add_argument("dest", type=Path, nargs="?")
    args = parser.parse_args()
    if args.mode == "copy":
        if args.dest is None:
            parser.error("copy needs DEST")
        args.dest.mkdir(parents=True, exist_ok=True)
    print(json.dumps(measure(args.src, args.dest if args.mode == "copy" else None)))


if __name__ == "__main__":
    main()
