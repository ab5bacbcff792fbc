"""The blob store contract: immutable bytes named by their BLAKE3 hash.

A blob is written once, atomically: streamed to a temporary file in the store's own directory while
hashed, fsynced, renamed into place under its hash (an existing blob of that name counts as success
once its hash is checked), then the directory fsynced. Acknowledged means durable; an unacknowledged
write may vanish but never half-exists. Readers never see a partial blob.

Names are always hashes computed by rmtc: no user string ever becomes a path. A name that is not a
64-hex digest is refused with ``InvalidInput`` before anything touches the filesystem.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol, runtime_checkable

from rmtc.errors import RmtcError


@dataclass(frozen=True, slots=True)
class BlobInfo:
    digest: str
    size: int
    #: True when this call stored the bytes, False when a blob of that hash was already there.
    created: bool = True


@runtime_checkable
class BlobStore(Protocol):
    #: Where the blobs live, safe to print.
    url: str

    def put_file(self, path: str | os.PathLike[str], *, expected_digest: str | None = None) -> BlobInfo:
        """Copy a file in, hashing while copying. With ``expected_digest``, a mismatch raises
        ``IntegrityError`` and nothing is stored. A file that changes while copied raises
        ``FileChanged``."""
        ...

    def put_files(self, paths: Sequence[str | os.PathLike[str]]) -> list[BlobInfo | RmtcError]:
        """Store many files, one result per file in order (a ``BlobInfo``, or the error that file met:
        one bad file never aborts the batch). Same durability as :meth:`put_file` for every file
        acknowledged; an implementation may amortise its flushes over the batch."""
        ...

    def put_stream(self, stream: BinaryIO, *, expected_digest: str | None = None) -> BlobInfo:
        """Store a stream's bytes to its end (uploads, generated files)."""
        ...

    def put_bytes(self, data: bytes) -> BlobInfo: ...

    def open(self, digest: str, *, verify: bool = False) -> BinaryIO:
        """Read a blob. Raises ``NotFound``. With ``verify``, the stream raises ``IntegrityError`` at
        its end if the bytes read did not hash to ``digest`` (downloads re-check before serving)."""
        ...

    def read_bytes(self, digest: str, *, verify: bool = True) -> bytes: ...

    def exists(self, digest: str) -> bool: ...

    def size(self, digest: str) -> int:
        """Raises ``NotFound``."""
        ...

    def verify(self, digest: str) -> bool:
        """Re-hash a blob: True when its bytes still hash to its name. Raises ``NotFound``."""
        ...

    def delete(self, digest: str) -> bool:
        """Erase a blob's bytes (purge, the right to be forgotten); True if it existed."""
        ...

    def iter_digests(self) -> Iterator[str]:
        """Every stored blob's name (for ``rmtc verify`` and garbage reports)."""
        ...

    def local_path(self, digest: str) -> str | None:
        """A filesystem path to the blob's bytes when the store is local (for zero-copy readers such as
        OpenImageIO), else ``None``. Never write to it."""
        ...
