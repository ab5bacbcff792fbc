"""BLAKE3 content hashing: the name of every blob and the identity of every immutable artefact.

BLAKE3 (docs/decisions/DR001) hashes at memory speed and in parallel for large files, so hashing is
never the bottleneck of ingesting footage. Digests are 64 lowercase hex characters.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import blake3

from rmtc.errors import FileChanged, InvalidInput, NotFound

CHUNK = 1 << 20
HEX_LEN = 64
#: Files at least this large are hashed with BLAKE3's own threads.
PARALLEL_THRESHOLD = 8 << 20


def hasher(size_hint: int = 0) -> blake3.blake3:
    """A fresh BLAKE3 hasher, multi-threaded when the input is large enough to profit."""
    if size_hint >= PARALLEL_THRESHOLD:
        return blake3.blake3(max_threads=blake3.blake3.AUTO)
    return blake3.blake3()


def hash_bytes(data: bytes | bytearray | memoryview) -> str:
    return blake3.blake3(data).hexdigest()


def hash_stream(stream: BinaryIO, size_hint: int = 0) -> tuple[str, int]:
    """Hash a binary stream to its end; returns (digest, byte count)."""
    h = hasher(size_hint)
    size = 0
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while n := stream.readinto(view):  # type: ignore[attr-defined]
        h.update(view[:n])
        size += n
    return h.hexdigest(), size


def hash_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """Hash a file, refusing one that changes while it is read.

    A frame being rendered while it is ingested would otherwise get a hash of bytes that never existed
    on disk at one moment, so size and mtime are compared before and after.

    Raises:
        NotFound: the file does not exist. InvalidInput: it is not a regular file or cannot be read.
        FileChanged: it changed during hashing.
    """
    p = Path(path)
    try:
        before = p.stat()
        with p.open("rb") as f:
            digest, size = hash_stream(f, before.st_size)
        after = p.stat()
    except FileNotFoundError:
        raise NotFound(f"file {str(p)!r} does not exist", hint="check the path") from None
    except IsADirectoryError:
        raise InvalidInput(f"{str(p)!r} is a directory", hint="pass files or frame sequences") from None
    except PermissionError:
        raise InvalidInput(f"cannot read {str(p)!r}: permission denied", hint="fix its permissions") from None
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or size != after.st_size:
        raise FileChanged(
            f"{str(p)!r} changed while it was being hashed",
            hint="wait until it is fully written, then ingest again",
        )
    return digest, size


def combine(digests: Iterable[str]) -> str:
    """A digest of digests, independent of order: the identity of a set (a dataset version)."""
    h = blake3.blake3()
    for d in sorted(digests):
        h.update(d.encode("ascii"))
        h.update(b"\n")
    return h.hexdigest()


def is_digest(text: str) -> bool:
    return len(text) == HEX_LEN and all(c in "0123456789abcdef" for c in text)
