"""The local blob store: a content-addressed directory, sharded by hash (``ab/cd/abcd…``).

An insert streams the bytes into ``tmp/`` inside the store (same filesystem, so the final step is
atomic) while hashing them, fsyncs the file, makes it read-only, hard-links it under its name (a name
that already exists is checked, and replaced only when corrupt) and fsyncs the directory. A writer
killed at any moment leaves at most a ``tmp/*.part`` file, never a partial blob; :meth:`sweep_temp`
removes those once no live writer can own them. Many files at once (:meth:`LocalBlobStore.put_files`)
are copied in parallel and share two filesystem syncs: one before any of them is named, one after.
"""

from __future__ import annotations

import builtins
import ctypes
import errno
import functools
import io
import itertools
import os
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from rmtc.blobs._common import (
    BUFFER,
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
    read_whole,
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
#: Threads copying the files of one :meth:`LocalBlobStore.put_files` call, and the files each must
#: have to be worth starting (small files cost system calls, which run in parallel outside the GIL).
STAGE_THREADS = 4
STAGE_SHARE = 64
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1


#: The names of the temp folders :meth:`LocalBlobStore.put_files` stages in end with this.
_STAGE_SUFFIX = ".stage"


@dataclass(slots=True)
class _Folder:
    """One staging thread's temp folder inside ``tmp/``, made when its first file is written."""

    path: str
    made: bool = False
    seq: Iterator[int] = field(default_factory=itertools.count)


@dataclass(slots=True)
class _Staged:
    """A sealed temp file waiting for its name; ``done`` once it has one (or was not needed)."""

    tmp: str
    digest: str
    size: int
    done: bool = False


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
        self._root_text = str(self.root)
        #: Temp folders of :meth:`put_files`: unique to this store object, then a counter.
        self._tmp_prefix = f"{self._tmp}/{uuid.uuid4().hex[:16]}-"
        self._tmp_seq = itertools.count()
        self._noreplace = True
        #: Shard folders (``abcd`` for ``ab/cd``) known to exist durably.
        self._ready: set[str] = set()
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
        """Remove temporary files not written to for ``older_than`` seconds (left by killed writers),
        in ``tmp/`` and in the folders of its own that a :meth:`put_files` call stages in (removed too
        once empty and as old).

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
            if entry.is_dir(follow_symlinks=False) and entry.name.endswith(_STAGE_SUFFIX):
                with suppress(OSError):
                    aged = entry.stat(follow_symlinks=False).st_mtime <= limit  # before sweeping it
                    removed += _sweep_folder(Path(entry.path), limit)
                    if aged:
                        Path(entry.path).rmdir()  # only when empty
                continue
            if not entry.name.endswith(TEMP_SUFFIX):
                continue
            with suppress(FileNotFoundError):
                if entry.stat(follow_symlinks=False).st_mtime <= limit:
                    Path(entry.path).unlink()
                    removed += 1
        return removed

    def put_files(self, paths: Sequence[str | os.PathLike[str]]) -> list[BlobInfo | RmtcError]:
        """Store many files with two filesystem syncs in all, instead of two fsyncs per file.

        Every file is copied into a sealed temp file (several files at once: small files cost system
        calls, not bytes, and system calls run in parallel); one ``syncfs`` makes all their bytes
        durable; each is then given its name by one rename that never replaces a name (an existing
        blob of that name is checked, and replaced only when corrupt); a second ``syncfs`` makes every
        new name durable; only then are the results returned. So the guarantee is :meth:`put_file`'s
        (acknowledged means durable, never a partial blob) at a fraction of the flushes for thousands
        of small frames. Results are per file, in order: one unreadable or changing file never aborts
        the others; a failed sync fails them all (``StoreError``), with nothing left in ``tmp/``.
        """
        staged, made, folders = self._stage_all(paths)
        try:
            return self._commit(staged, made)
        finally:
            for item in staged:
                if isinstance(item, _Staged) and not item.done:
                    with suppress(OSError):
                        Path(item.tmp).unlink()
            _remove(folders)

    def _stage_all(
        self, paths: Sequence[str | os.PathLike[str]]
    ) -> tuple[list[_Staged | RmtcError], set[str], list[_Folder]]:
        """Copy every file into a sealed (not yet durable) temp file, ``STAGE_THREADS`` at a time, and
        make the shard folders their names will need; per-file errors are returned in order.

        Each thread writes into a temp folder of its own inside ``tmp/``: creating a file locks its
        folder, so threads sharing one (or the renames of the previous call, taking files out of it)
        would wait for each other."""
        total = len(paths)
        out: list[_Staged | RmtcError | None] = [None] * total
        made: set[str] = set()
        folders: list[_Folder] = []
        claim = itertools.count().__next__
        stop = threading.Event()

        def work() -> None:
            view = memoryview(bytearray(BUFFER))
            folder = _Folder(f"{self._tmp_prefix}{next(self._tmp_seq):x}{_STAGE_SUFFIX}")
            folders.append(folder)
            try:
                while not stop.is_set() and (i := claim()) < total:
                    try:
                        out[i] = self._stage(paths[i], view, made, folder)
                    except RmtcError as exc:
                        out[i] = exc
            except BaseException:
                stop.set()  # the other threads stop too; the caller cleans up
                raise

        helpers = min(STAGE_THREADS, total // STAGE_SHARE + 1) - 1
        try:
            if helpers <= 0:
                work()
            else:
                with ThreadPoolExecutor(helpers, thread_name_prefix="rmtc-blob-stage") as pool:
                    futures = [pool.submit(work) for _ in range(helpers)]
                    work()
                for future in futures:
                    future.result()  # a helper's unexpected error, after every helper has stopped
        except BaseException:
            stop.set()
            for item in out:
                if isinstance(item, _Staged):
                    with suppress(OSError):
                        Path(item.tmp).unlink()
            _remove(folders)
            raise
        staged = [item for item in out if item is not None]
        assert len(staged) == total, "every file has an outcome"
        return staged, made, folders

    def _stage(
        self, path: str | os.PathLike[str], view: memoryview, made: set[str], folder: _Folder
    ) -> _Staged:
        size = read_whole(path, view)
        if size is None:  # larger than one buffer: stream it
            f, unchanged, read = open_source(path)
            with f:
                sealed, digest, size = self._seal(read, os.fstat(f.fileno()).st_size, None, unchanged, False)
            tmp = str(sealed)
        else:
            data = view[:size]
            digest = hash_bytes(data)
            tmp = self._write_temp(data, folder)
        try:
            self._make_shard(digest, made)
        except BaseException:
            with suppress(OSError):
                Path(tmp).unlink()
            raise
        return _Staged(tmp, digest, size)

    def _write_temp(self, data: memoryview, folder: _Folder) -> str:
        """A new read-only temp file in ``folder`` holding ``data`` (not fsynced); nothing is left on
        failure."""
        try:
            if not folder.made:
                try:
                    os.mkdir(folder.path, 0o700)  # noqa: PTH102 - once per staging thread
                except FileNotFoundError:
                    self._check_root()
                    self._tmp.mkdir(exist_ok=True)
                    os.mkdir(folder.path, 0o700)  # noqa: PTH102
                folder.made = True
            tmp = f"{folder.path}/{next(folder.seq):x}{TEMP_SUFFIX}"
            fd = os.open(tmp, _TEMP_FLAGS, 0o444)
        except OSError as exc:
            raise write_failed(exc, str(self.root)) from exc
        try:
            try:
                written = 0
                while written < len(data):
                    written += os.write(fd, data[written:])
            finally:
                os.close(fd)
        except BaseException as exc:
            with suppress(OSError):
                Path(tmp).unlink()
            if isinstance(exc, OSError):
                raise write_failed(exc, str(self.root)) from exc
            raise
        return tmp

    def _make_shard(self, digest: str, made: set[str]) -> None:
        """Make the shard folders of ``digest`` (durable only with the caller's next ``syncfs``)."""
        key = digest[:4]
        if key in made or key in self._ready:
            return
        first = f"{self._root_text}/{digest[:2]}"
        try:
            if digest[:2] not in made:
                with suppress(FileExistsError):
                    os.mkdir(first)  # noqa: PTH102 - str paths: this runs once per new blob
                made.add(digest[:2])
            with suppress(FileExistsError):
                os.mkdir(f"{first}/{digest[2:4]}")  # noqa: PTH102
        except OSError as exc:
            raise write_failed(exc, str(self.root)) from exc
        made.add(key)

    def _commit(self, staged: list[_Staged | RmtcError], made: set[str]) -> list[BlobInfo | RmtcError]:
        """Bytes durable, then names, then names durable; see :meth:`put_files`."""
        if not any(isinstance(item, _Staged) for item in staged):
            return list(staged)  # type: ignore[arg-type]
        self._sync_all()
        results: list[BlobInfo | RmtcError] = []
        for item in staged:
            if isinstance(item, _Staged):
                try:
                    results.append(BlobInfo(item.digest, item.size, self._place(item)))
                except RmtcError as exc:
                    results.append(exc)
            else:
                results.append(item)
        self._sync_all()
        self._ready.update(k for k in made if len(k) == 4)
        return results

    def _place(self, item: _Staged) -> bool:
        """Give a staged file its name; False when an intact blob already had it."""
        d = item.digest
        final = f"{self._root_text}/{d[:2]}/{d[2:4]}/{d}"
        try:
            if self._rename_new(item.tmp, final):
                item.done = True
                return True
            if self._intact(Path(final), d, item.size):
                Path(item.tmp).unlink()
                item.done = True
                return False
            Path(item.tmp).replace(final)
        except OSError as exc:
            raise write_failed(exc, str(self.root)) from exc
        item.done = True
        return True

    def _rename_new(self, tmp: str, final: str) -> bool:
        """Rename ``tmp`` to ``final`` unless ``final`` exists (then False, nothing changed)."""
        if self._noreplace:
            fn = _renameat2()
            if fn is not None:
                if fn(_AT_FDCWD, os.fsencode(tmp), _AT_FDCWD, os.fsencode(final), _RENAME_NOREPLACE) == 0:
                    return True
                err = ctypes.get_errno()
                if err == errno.EEXIST:
                    return False
                if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
                    raise OSError(err, os.strerror(err), final)
            self._noreplace = False  # this kernel or filesystem cannot: a hard link never replaces either
        try:
            os.link(tmp, final)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in _NO_LINKS:
                raise
            if os.path.lexists(final):
                return False
            Path(tmp).replace(final)  # racing a writer of the very same bytes at worst
            return True
        with suppress(OSError):
            Path(tmp).unlink()
        return True

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
        key = directory.parent.name + directory.name
        if key in self._ready:
            return
        directory.parent.mkdir(exist_ok=True)
        directory.mkdir(exist_ok=True)
        if sync:  # else the caller syncs the filesystem and marks the shard ready only then
            _fsync_dir(self.root)
            _fsync_dir(directory.parent)
            self._ready.add(key)

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


def _remove(folders: list[_Folder]) -> None:
    """Remove staging folders once their files are named or removed (one still holding a file that
    could not be removed is left for :meth:`LocalBlobStore.sweep_temp`)."""
    for folder in folders:
        if folder.made:
            with suppress(OSError):
                Path(folder.path).rmdir()


def _sweep_folder(folder: Path, limit: float) -> int:
    removed = 0
    with suppress(OSError), os.scandir(folder) as it:
        for entry in it:
            if entry.name.endswith(TEMP_SUFFIX):
                with suppress(FileNotFoundError):
                    if entry.stat(follow_symlinks=False).st_mtime <= limit:
                        Path(entry.path).unlink()
                        removed += 1
    return removed


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
def _renameat2() -> Callable[[int, bytes, int, bytes, int], int] | None:
    """Linux ``renameat2``, whose ``RENAME_NOREPLACE`` names a file in one step without ever replacing
    an existing name (a hard link and an unlink otherwise)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    rename: Callable[[int, bytes, int, bytes, int], int] = fn
    return rename


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
    sync: Callable[[int], int] = fn
    return sync


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
