"""The local blob store: a content-addressed directory, sharded by hash (``ab/cd/abcd…``).

An insert streams the bytes into ``tmp/`` inside the store (same filesystem, so the final step is
atomic) while hashing them, fsyncs the file, makes it read-only, hard-links it under its name (a name
that already exists is checked, and replaced only when corrupt) and fsyncs the directory. A writer
killed at any moment leaves at most a ``tmp/*.part`` file, never a partial blob; :meth:`sweep_temp`
removes those once no live writer can own them.
"""

from __future__ import annotations

import builtins
import ctypes
import errno
import functools
import io
import os
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO

from rmtc.blobs._common import (
    LAYOUT,
    MARKER,
    TEMP_DIR,
    TEMP_MAX_AGE,
    TEMP_SUFFIX,
    ReadInto,
    check_digest,
    check_layout,
    copy_hashing,
    corrupt,
    mismatch,
    open_source,
    shard,
    stream_reader,
    verifying,
    write_failed,
)
from rmtc.blobs.protocol import BlobInfo
from rmtc.core.hashing import hash_bytes, hash_stream, is_digest
from rmtc.errors import InvalidInput, NotFound, RmtcError

_HEX2 = frozenset(f"{i:02x}" for i in range(256))
#: errno values meaning "this filesystem has no hard links": publish by rename instead.
_NO_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS})


class LocalBlobStore:
    """Blobs in a directory of this machine (or a mounted filesystem with POSIX semantics).

    Args:
        root: the store's directory.
        create: make the directory (and its parents) when missing, else a missing one is ``NotFound``.
    """

    def __init__(self, root: str | os.PathLike[str], *, create: bool = False) -> None:
        self.root = Path(root).expanduser().resolve()
        self.url = self.root.as_uri()
        self._tmp = self.root / TEMP_DIR
        self._ready: set[Path] = set()
        if create:
            self._create()
        self._check_root()

    def __repr__(self) -> str:
        return f"LocalBlobStore({self.url!r})"

    def put_file(self, path: str | os.PathLike[str], *, expected_digest: str | None = None) -> BlobInfo:
        f, unchanged, read = open_source(path)
        with f:
            return self._ingest(read, os.fstat(f.fileno()).st_size, expected_digest, unchanged)

    def put_stream(self, stream: BinaryIO, *, expected_digest: str | None = None) -> BlobInfo:
        return self._ingest(stream_reader(stream), 0, expected_digest)

    def put_bytes(self, data: bytes) -> BlobInfo:
        return self._ingest(io.BytesIO(data).readinto, len(data), None)

    def open(self, digest: str, *, verify: bool = False) -> BinaryIO:
        path = self._path(digest)
        try:
            f = builtins.open(path, "rb", buffering=0 if verify else -1)  # noqa: SIM115 - returned
        except FileNotFoundError:
            raise self._missing(digest) from None
        if not verify:
            return f
        return verifying(f, digest, os.fstat(f.fileno()).st_size, self.url)

    def read_bytes(self, digest: str, *, verify: bool = True) -> bytes:
        with self.open(digest) as f:
            data = f.read()
        if verify and hash_bytes(data) != digest:
            raise corrupt(digest, self.url)
        return data

    def exists(self, digest: str) -> bool:
        return self._path(digest).is_file()

    def size(self, digest: str) -> int:
        try:
            return self._path(digest).stat().st_size
        except FileNotFoundError:
            raise self._missing(digest) from None

    def verify(self, digest: str) -> bool:
        path = self._path(digest)
        try:
            with builtins.open(path, "rb", buffering=0) as f:
                actual, _ = hash_stream(f, os.fstat(f.fileno()).st_size)
        except FileNotFoundError:
            raise self._missing(digest) from None
        return actual == digest

    def delete(self, digest: str) -> bool:
        path = self._path(digest)
        try:
            path.unlink()
            _fsync_dir(path.parent)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise write_failed(exc, str(self.root)) from exc
        return True

    def iter_digests(self) -> Iterator[str]:
        for first in _subdirs(self.root):
            for second in _subdirs(self.root / first):
                with os.scandir(self.root / first / second) as it:
                    names = sorted(e.name for e in it if e.is_file(follow_symlinks=False))
                for name in names:
                    if name[:2] == first and name[2:4] == second and is_digest(name):
                        yield name

    def local_path(self, digest: str) -> str | None:
        """The blob's real path; ``NotFound`` when it is missing."""
        path = self._path(digest)
        if not path.is_file():
            raise self._missing(digest)
        return os.path.realpath(path)

    def sweep_temp(self, older_than: float = TEMP_MAX_AGE) -> int:
        """Remove temporary files not written to for ``older_than`` seconds (left by killed writers).

        A live writer touches its file with every buffer it writes, so only dead writers' files age.

        Returns:
            How many files were removed.
        """
        limit = time.time() - older_than
        removed = 0
        try:
            entries = list(os.scandir(self._tmp))
        except FileNotFoundError:
            return 0
        for entry in entries:
            if not entry.name.endswith(TEMP_SUFFIX):
                continue
            with suppress(FileNotFoundError):
                if entry.stat(follow_symlinks=False).st_mtime <= limit:
                    Path(entry.path).unlink()
                    removed += 1
        return removed

    def put_files(self, paths: Sequence[str | os.PathLike[str]]) -> list[BlobInfo | RmtcError]:
        """Store many files with two filesystem syncs in all, instead of two fsyncs per file.

        Every file is copied into a sealed temp file; one ``syncfs`` makes all their bytes durable; each
        is then published under its name; a second ``syncfs`` makes every new name durable; only then
        are the results returned. So the guarantee is :meth:`put_file`'s (acknowledged means durable,
        never a partial blob) at a fraction of the flushes for thousands of small frames. Results are
        per file, in order: one unreadable or changing file never aborts the others.
        """
        results: list[BlobInfo | RmtcError | None] = [None] * len(paths)
        staged: list[tuple[int, Path, str, int]] = []
        try:
            for i, path in enumerate(paths):
                try:
                    f, unchanged, read = open_source(path)
                    with f:
                        tmp, digest, size = self._seal(
                            read, os.fstat(f.fileno()).st_size, None, unchanged, False
                        )
                    staged.append((i, tmp, digest, size))
                except RmtcError as exc:
                    results[i] = exc
            if staged:
                self._sync_all()
            for i, tmp, digest, size in staged:
                try:
                    results[i] = BlobInfo(digest, size, self._publish(tmp, digest, size, sync_dir=False))
                except RmtcError as exc:
                    results[i] = exc
            if staged:
                self._sync_all()
                self._ready.update(self._path(d).parent for _, _, d, _ in staged)
        finally:
            for _, tmp, _, _ in staged:
                with suppress(OSError):
                    tmp.unlink()
        return [r for r in results if r is not None]

    def _sync_all(self) -> None:
        try:
            _syncfs(self.root)
        except OSError as exc:
            raise write_failed(exc, str(self.root)) from exc

    def _ingest(
        self,
        readinto: ReadInto,
        size_hint: int,
        expected: str | None,
        check_source: Callable[[int], None] | None = None,
    ) -> BlobInfo:
        tmp, digest, size = self._seal(readinto, size_hint, expected, check_source, True)
        try:
            created = self._publish(tmp, digest, size)
        except BaseException:
            with suppress(OSError):
                tmp.unlink()
            raise
        return BlobInfo(digest, size, created)

    def _seal(
        self,
        readinto: ReadInto,
        size_hint: int,
        expected: str | None,
        check_source: Callable[[int], None] | None,
        durable: bool,
    ) -> tuple[Path, str, int]:
        """Copy into a new temp file while hashing and make it read-only (and fsync it if ``durable``);
        on any failure nothing is left behind."""
        if expected is not None:
            check_digest(expected, "expected digest")
        tmp, fd = self._new_temp()
        try:
            digest, size = copy_hashing(readinto, self._sink(fd, writeback=durable), size_hint)
            if check_source is not None:
                check_source(size)
            if expected is not None and digest != expected:
                raise mismatch(expected, digest)
            try:
                os.fchmod(fd, 0o444)
                if durable:
                    os.fsync(fd)
                fd, closing = -1, fd
                os.close(closing)
            except OSError as exc:
                raise write_failed(exc, str(self.root)) from exc
        except BaseException:
            if fd >= 0:
                with suppress(OSError):
                    os.close(fd)
            with suppress(OSError):
                tmp.unlink()
            raise
        return tmp, digest, size

    def _new_temp(self) -> tuple[Path, int]:
        tmp = self._tmp / f"{uuid.uuid4().hex}{TEMP_SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
        try:
            try:
                return tmp, os.open(tmp, flags, 0o600)
            except FileNotFoundError:
                self._check_root()
                self._tmp.mkdir(exist_ok=True)
                return tmp, os.open(tmp, flags, 0o600)
        except OSError as exc:
            raise write_failed(exc, str(self.root)) from exc

    def _sink(self, fd: int, *, writeback: bool = True) -> Callable[[memoryview], None]:
        start_writeback = _writeback() if writeback else None
        offset = 0

        def write(view: memoryview) -> None:
            nonlocal offset
            start = offset
            try:
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                    offset += n
            except OSError as exc:
                raise write_failed(exc, str(self.root)) from exc
            if start_writeback is not None:
                start_writeback(fd, start, offset - start)

        return write

    def _publish(self, tmp: Path, digest: str, size: int, *, sync_dir: bool = True) -> bool:
        """Give the sealed temp file its name; False when an intact blob already had it."""
        final = self._path(digest)
        try:
            self._ensure_shard(final.parent, sync=sync_dir)
            try:
                os.link(tmp, final)
                created = True
            except FileExistsError:
                created = self._replace_unless_intact(tmp, final, digest, size)
            except OSError as exc:
                if exc.errno not in _NO_LINKS:
                    raise
                created = self._replace_unless_intact(tmp, final, digest, size)
            if sync_dir:
                _fsync_dir(final.parent)
        except OSError as exc:
            raise write_failed(exc, str(self.root)) from exc
        with suppress(OSError):
            tmp.unlink()
        return created

    def _replace_unless_intact(self, tmp: Path, final: Path, digest: str, size: int) -> bool:
        if self._intact(final, digest, size):
            return False
        tmp.replace(final)
        return True

    def _intact(self, path: Path, digest: str, size: int) -> bool:
        try:
            with builtins.open(path, "rb", buffering=0) as f:
                if os.fstat(f.fileno()).st_size != size:
                    return False
                return hash_stream(f, size)[0] == digest
        except OSError:
            return False

    def _ensure_shard(self, directory: Path, *, sync: bool = True) -> None:
        """Make a shard directory; fsync its parents unless the caller syncs the filesystem after."""
        if directory in self._ready:
            return
        directory.parent.mkdir(exist_ok=True)
        directory.mkdir(exist_ok=True)
        if sync:  # else the caller syncs the filesystem and marks the shard ready only then
            _fsync_dir(self.root)
            _fsync_dir(directory.parent)
            self._ready.add(directory)

    def _path(self, digest: str) -> Path:
        first, second, name = shard(check_digest(digest))
        return self.root / first / second / name

    def _missing(self, digest: str) -> NotFound:
        return NotFound(
            f"blob {digest} is not in {self.url}",
            hint="ingest the file again, or run `rmtc verify` to list what is missing",
        )

    def _create(self) -> None:
        try:
            self._tmp.mkdir(parents=True, exist_ok=True)
            marker = self.root / MARKER
            if not marker.exists():
                draft = self._tmp / f"{uuid.uuid4().hex}.marker"
                draft.write_text(LAYOUT + "\n", encoding="utf-8")
                draft.replace(marker)
        except OSError as exc:
            raise write_failed(exc, str(self.root)) from exc

    def _check_root(self) -> None:
        if not self.root.exists():
            raise NotFound(
                f"no blob store at {self.root}",
                hint="run `rmtc init` to create the project, or pass create=True",
            )
        if not self.root.is_dir():
            raise InvalidInput(f"{self.root} is not a directory", hint="point the blob store at a directory")
        marker = self.root / MARKER
        if marker.is_file():
            check_layout(marker.read_text(encoding="utf-8", errors="replace"), str(self.root))


def open_local(location: str | os.PathLike[str], *, create: bool = False) -> LocalBlobStore:
    """Open (or with ``create``, make) the blob store at a path or ``file://`` URL.

    Temporary files that killed writers left behind more than a day ago are removed on the way.

    Raises:
        NotFound: no store there and ``create`` is false. InvalidInput: a URL that is not local.
    """
    store = LocalBlobStore(_root_from(location), create=create)
    store.sweep_temp()
    return store


def _root_from(location: str | os.PathLike[str]) -> Path:
    text = os.fspath(location)
    if "\x00" in text:
        raise InvalidInput("the blob store location contains a NUL byte", hint="pass a plain path")
    if "://" in text or text.startswith(("file:", "local:")):
        parts = urllib.parse.urlsplit(text)
        if parts.scheme not in ("file", "local"):
            raise InvalidInput(
                f"{text!r} is not a local blob store location", hint="pass a path or a file:/// URL"
            )
        if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
            raise InvalidInput(
                f"{text!r} names a remote host or has a query", hint="pass file:///absolute/path"
            )
        text = urllib.parse.unquote(parts.path)
        if not text or "\x00" in text:
            raise InvalidInput(f"{location!r} has no usable path", hint="pass file:///absolute/path")
    return Path(text)


def _subdirs(path: Path) -> list[str]:
    try:
        with os.scandir(path) as it:
            return sorted(e.name for e in it if e.name in _HEX2 and e.is_dir(follow_symlinks=False))
    except FileNotFoundError:
        return []


def _syncfs(path: Path) -> None:
    """Flush every dirty page and the journal of the filesystem holding ``path`` (Linux ``syncfs``);
    elsewhere, a full ``sync``."""
    fn = _syncfs_fn()
    if fn is None:
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if fn(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(path))
    finally:
        os.close(fd)


@functools.cache
def _syncfs_fn() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@functools.cache
def _writeback() -> Callable[[int, int, int], None] | None:
    """Linux ``sync_file_range(WRITE)``: start writing each buffer to disk at once, so the final
    fsync waits for the tail only. Purely an optimisation; the fsync still guarantees durability."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int

    def start(fd: int, offset: int, length: int) -> None:
        fn(fd, offset, length, 2)  # SYNC_FILE_RANGE_WRITE

    return start
