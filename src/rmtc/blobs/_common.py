"""What every blob store shares: name checks, copying while hashing, verifying reads, error wording.

Private to :mod:`rmtc.blobs` (except :func:`read_whole`, which ingest also uses to hash small files by
reference with the same checks); stores built elsewhere implement
:class:`~rmtc.blobs.protocol.BlobStore` on their own and prove it with
:mod:`rmtc.testing.conformance.blobs`.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from typing import BinaryIO, cast

from rmtc.core.hashing import PARALLEL_THRESHOLD, hasher, is_digest
from rmtc.errors import FileChanged, IntegrityError, InvalidInput, NotFound, SchemaTooNew, StoreError

#: Bytes moved per read and write. Large buffers keep syscalls few and let BLAKE3 use its threads.
BUFFER = 4 << 20
#: Temporary files older than this (seconds since their last write) belong to a dead writer.
TEMP_MAX_AGE = 24 * 3600.0
TEMP_DIR = "tmp"
TEMP_SUFFIX = ".part"
#: The layout marker a store writes when created, so a later, different layout can be refused.
MARKER = ".rmtc-blobs"
LAYOUT = "rmtc.BlobStore/1"

ReadInto = Callable[[memoryview], int]
Write = Callable[[memoryview], object]


def check_digest(digest: object, what: str = "blob name") -> str:
    """Refuse anything but 64 lowercase hex characters, before any path is built from it.

    Raises:
        InvalidInput: naming the (shortened) value.
    """
    if isinstance(digest, str) and is_digest(digest):
        return digest
    shown = repr(digest)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    raise InvalidInput(
        f"{shown} is not a valid {what}",
        hint="blob names are BLAKE3 digests: 64 lowercase hexadecimal characters",
    )


def check_layout(text: str, where: str) -> None:
    """Refuse a store whose layout marker names another layout (an empty marker, from a crash
    while creating the store, is this layout)."""
    layout = text.strip()
    if layout and layout != LAYOUT:
        raise SchemaTooNew(
            f"the blob store {where} uses layout {layout[:40]!r}; this rmtc knows {LAYOUT!r}",
            hint="upgrade rmtc to a version that knows this layout",
        )


def shard(digest: str) -> tuple[str, str, str]:
    """``ab/cd/abcd…``: two levels of 256 directories keep every directory small."""
    return digest[:2], digest[2:4], digest


def copy_hashing(readinto: ReadInto, write: Write, size_hint: int = 0) -> tuple[str, int]:
    """Move bytes from ``readinto`` to ``write`` to the end, hashing exactly the bytes written.

    Each byte is read once. While one buffer is hashed on a helper thread (BLAKE3 releases the GIL),
    the calling thread writes it and reads the next into a second buffer, so copying costs little
    more than reading and hashing alone. Exceptions from either side propagate unchanged.

    Returns:
        (digest, byte count).
    """
    h = hasher(size_hint)
    with _buffers() as (first, spare):
        n = _fill(readinto, first)
        if n < BUFFER:
            h.update(first[:n])
            if n:
                write(first[:n])
            return h.hexdigest(), n
        total = 0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rmtc-blob-hash") as pool:
            current, pending = first, n
            hashing: Future[object] | None = None
            try:
                while pending:
                    chunk = current[:pending]
                    if hashing is not None:
                        hashing.result()
                    hashing = pool.submit(h.update, chunk)
                    write(chunk)
                    total += pending
                    current, spare = spare, current
                    pending = _fill(readinto, current)
            finally:
                if hashing is not None:
                    hashing.result()
        return h.hexdigest(), total


_FREE: list[bytearray] = []
_FREE_LOCK = threading.Lock()
#: Buffers kept for reuse: fresh multi-MiB buffers cost page faults on every insert.
_KEEP = 4


@contextmanager
def _buffers() -> Iterator[tuple[memoryview, memoryview]]:
    with _FREE_LOCK:
        pair = [_FREE.pop() if _FREE else bytearray(BUFFER) for _ in range(2)]
    try:
        yield memoryview(pair[0]), memoryview(pair[1])
    finally:
        with _FREE_LOCK:
            _FREE.extend(pair[: max(0, _KEEP - len(_FREE))])


def _fill(readinto: ReadInto, view: memoryview) -> int:
    """Read until ``view`` is full or the source ends (pipes and sockets return short reads)."""
    got = 0
    while got < len(view):
        n = readinto(view[got:])
        if not n:
            break
        got += n
    return got


def open_source(path: str | os.PathLike[str]) -> tuple[io.FileIO, Callable[[int], None], ReadInto]:
    """Open a file to copy in: the file, a check that it did not change, and its reader.

    The check compares size and modification time before and after the copy (and the byte count), so
    a frame still being rendered is refused rather than stored as bytes that never existed at once.
    The reader stops at the size the file had when opened, so a file that keeps growing cannot keep
    the copy going.

    Raises:
        NotFound: no such file. InvalidInput: not a readable regular file.
    """
    src = os.fspath(path)
    try:
        f = io.FileIO(src, "rb")
    except FileNotFoundError:
        raise NotFound(f"file {src!r} does not exist", hint="check the path") from None
    except IsADirectoryError:
        raise InvalidInput(f"{src!r} is a directory", hint="pass files or frame sequences") from None
    except PermissionError:
        raise InvalidInput(f"cannot read {src!r}: permission denied", hint="fix its mode") from None
    before = os.fstat(f.fileno())
    if not stat.S_ISREG(before.st_mode):
        f.close()
        raise InvalidInput(f"{src!r} is not a regular file", hint="pass files or frame sequences")
    with suppress(AttributeError, OSError):
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)

    def unchanged(size: int) -> None:
        after = os.fstat(f.fileno())
        if (before.st_size, before.st_mtime_ns, before.st_size) != (after.st_size, after.st_mtime_ns, size):
            raise FileChanged(
                f"{src!r} changed while it was being copied into the blob store",
                hint="wait until it is fully written, then ingest again",
            )

    left = before.st_size

    def read(view: memoryview) -> int:
        nonlocal left
        if left <= 0:
            return 0
        try:
            n = f.readinto(view[:left]) or 0
        except OSError as exc:
            raise InvalidInput(
                f"cannot read {src!r}: {exc.strerror or exc}", hint="check the file and its disk"
            ) from exc
        left -= n
        return n

    return f, unchanged, read


def read_whole(path: str | os.PathLike[str], view: memoryview) -> int | None:
    """Read a whole file into ``view`` with one open and (usually) one read: the fast path for the
    many small frames of an ingest, where per-file set-up costs more than the bytes.

    The guarantees are :func:`open_source`'s: only a regular file is read, and one whose size or
    modification time changed while it was read is refused rather than stored as bytes that never
    existed at once.

    Returns:
        The byte count, or ``None`` (nothing read) when the file is larger than ``view``: stream it.

    Raises:
        NotFound: no such file. InvalidInput: not a readable regular file. FileChanged: it changed.
    """
    src = os.fspath(path)
    try:
        # O_NONBLOCK: a FIFO named by mistake is refused below instead of blocking the open.
        fd = os.open(src, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        raise NotFound(f"file {src!r} does not exist", hint="check the path") from None
    except PermissionError:
        raise InvalidInput(f"cannot read {src!r}: permission denied", hint="fix its mode") from None
    except OSError as exc:
        raise InvalidInput(f"cannot open {src!r}: {exc.strerror or exc}", hint="check the file") from None
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            if stat.S_ISDIR(before.st_mode):
                raise InvalidInput(f"{src!r} is a directory", hint="pass files or frame sequences")
            raise InvalidInput(f"{src!r} is not a regular file", hint="pass files or frame sequences")
        size = before.st_size
        if size > len(view):
            return None
        got = 0
        try:
            while got < size:
                n = os.readv(fd, [view[got:size]])
                if not n:
                    break
                got += n
        except OSError as exc:
            raise InvalidInput(
                f"cannot read {src!r}: {exc.strerror or exc}", hint="check the file and its disk"
            ) from exc
        after = os.fstat(fd)
    finally:
        os.close(fd)
    if (size, before.st_mtime_ns, size) != (after.st_size, after.st_mtime_ns, got):
        raise FileChanged(
            f"{src!r} changed while it was being read",
            hint="wait until it is fully written, then ingest again",
        )
    return got


def stream_reader(stream: BinaryIO) -> ReadInto:
    """``readinto`` for any binary stream, including ones that only offer ``read``."""
    readinto = getattr(stream, "readinto", None)
    if callable(readinto):
        return cast(ReadInto, readinto)

    def read_into(view: memoryview) -> int:
        data = stream.read(len(view))
        if not data:
            return 0
        view[: len(data)] = data
        return len(data)

    return read_into


class VerifyingReader(io.RawIOBase):
    """A read-only stream that refuses to hand over the end of a blob whose bytes miss its name.

    The check runs when the expected size has been read (or the source ends early), before the last
    bytes are returned, so a reader that stops at the expected size is protected too. A blob longer
    than its recorded size fails as well.
    """

    def __init__(self, raw: BinaryIO, digest: str, size: int, name: str):
        super().__init__()
        self._raw = raw
        self._readinto = stream_reader(raw)
        self._digest = digest
        self._size = size
        self._name = name
        self._h = hasher(size if size >= PARALLEL_THRESHOLD else 0)
        self._count = 0
        self._checked = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if self._checked:
            return 0
        want = min(len(view), self._size - self._count)
        n = self._readinto(view[:want]) if want else 0
        if n:
            self._h.update(view[:n])
            self._count += n
        if n == 0 or self._count >= self._size:
            self._check()
        return n

    def _check(self) -> None:
        self._checked = True
        longer = bool(self._readinto(memoryview(bytearray(1))))
        if longer or self._count != self._size or self._h.hexdigest() != self._digest:
            raise corrupt(self._digest, self._name)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def verifying(raw: BinaryIO, digest: str, size: int, name: str) -> BinaryIO:
    """Wrap a raw blob stream so that it raises ``IntegrityError`` at its end when corrupt."""
    return cast(BinaryIO, io.BufferedReader(VerifyingReader(raw, digest, size, name), buffer_size=BUFFER))


def corrupt(digest: str, where: str) -> IntegrityError:
    return IntegrityError(
        f"blob {digest} in {where} is corrupt: its bytes no longer hash to its name",
        hint="run `rmtc verify`, then restore the blob from its source or a backup",
        details={"digest": digest},
    )


def mismatch(expected: str, actual: str) -> IntegrityError:
    return IntegrityError(
        f"the bytes hash to {actual}, not the expected {expected}; nothing was stored",
        hint="the source is not the file you meant, or it was damaged in transit: fetch it again",
        details={"expected": expected, "actual": actual},
    )


def write_failed(exc: OSError, where: str) -> StoreError:
    """A write-side ``OSError`` as the ``StoreError`` the CLI and the service report."""
    code = errno.errorcode.get(exc.errno or 0, "EIO")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = f"free space on the disk holding {where} (or raise the quota), then retry"
    elif exc.errno == errno.EFBIG:
        hint = "the file is larger than this filesystem or process may write; raise the limit"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = f"make {where} writable by this user, then retry"
    else:
        hint = f"check the disk holding {where} (system log), then retry"
    return StoreError(
        f"cannot write a blob to {where}: {exc.strerror or exc}",
        hint=hint,
        details={"errno": code},
    )
