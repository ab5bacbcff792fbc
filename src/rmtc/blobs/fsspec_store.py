"""Blobs on any fsspec filesystem: object stores (``s3://``, ``gs://``), ``memory://``, ``file://``.

The layout is the local store's (``root/ab/cd/abcd…``, temporary files in ``root/tmp/``). An insert
writes to a temporary name while hashing, then moves it under its hash, so readers never see a partial
blob; on object stores the move is a server-side copy, and a name that already exists is checked before
it counts as stored. Durability is the filesystem's: an object store acknowledges a completed upload;
on a local filesystem the file and its directory are fsynced as in :mod:`rmtc.blobs.local`.
"""

from __future__ import annotations

import io
import os
import posixpath
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

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


class FsspecBlobStore:
    """The blob store contract over an fsspec filesystem.

    Args:
        fs: the filesystem (an ``fsspec.AbstractFileSystem``).
        root: the store's directory on it, without protocol.
        url: where the blobs live, safe to print (no credentials).
        create: make the root (and write the layout marker) when missing.
    """

    def __init__(self, fs: Any, root: str, *, url: str, create: bool = False) -> None:
        self.fs = fs
        self.root = root.rstrip("/") or "/"
        self.url = url
        self._tmp = f"{self.root}/{TEMP_DIR}"
        self._local = _is_local(fs)
        if create:
            self._create()
        self._check_root()

    def __repr__(self) -> str:
        return f"FsspecBlobStore({self.url!r})"

    def put_file(self, path: str | os.PathLike[str], *, expected_digest: str | None = None) -> BlobInfo:
        f, unchanged, read = open_source(path)
        with f:
            return self._ingest(read, os.fstat(f.fileno()).st_size, expected_digest, unchanged)

    def put_files(self, paths: Sequence[str | os.PathLike[str]]) -> list[BlobInfo | RmtcError]:
        """One :meth:`put_file` per path: object stores have no batch flush to amortise."""
        results: list[BlobInfo | RmtcError] = []
        for path in paths:
            try:
                results.append(self.put_file(path))
            except RmtcError as exc:
                results.append(exc)
        return results

    def put_stream(self, stream: BinaryIO, *, expected_digest: str | None = None) -> BlobInfo:
        return self._ingest(stream_reader(stream), 0, expected_digest)

    def put_bytes(self, data: bytes) -> BlobInfo:
        return self._ingest(io.BytesIO(data).readinto, len(data), None)

    def open(self, digest: str, *, verify: bool = False) -> BinaryIO:
        path = self._path(digest)
        try:
            f = self.fs.open(path, "rb")
            size = int(self.fs.size(path)) if verify else 0
        except FileNotFoundError:
            raise self._missing(digest) from None
        return verifying(f, digest, size, self.url) if verify else cast(BinaryIO, f)

    def read_bytes(self, digest: str, *, verify: bool = True) -> bytes:
        try:
            data = bytes(self.fs.cat_file(self._path(digest)))
        except FileNotFoundError:
            raise self._missing(digest) from None
        if verify and hash_bytes(data) != digest:
            raise corrupt(digest, self.url)
        return data

    def exists(self, digest: str) -> bool:
        return bool(self.fs.isfile(self._path(digest)))

    def size(self, digest: str) -> int:
        try:
            return int(self.fs.size(self._path(digest)))
        except FileNotFoundError:
            raise self._missing(digest) from None

    def verify(self, digest: str) -> bool:
        path = self._path(digest)
        try:
            with self.fs.open(path, "rb") as f:
                actual, _ = hash_stream(f, int(self.fs.size(path)))
        except FileNotFoundError:
            raise self._missing(digest) from None
        return actual == digest

    def delete(self, digest: str) -> bool:
        path = self._path(digest)
        if not self.fs.isfile(path):
            return False
        try:
            self.fs.rm_file(path)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise write_failed(exc, self.url) from exc
        self._sync_dir(posixpath.dirname(path))
        return True

    def iter_digests(self) -> Iterator[str]:
        prefix = self.root.rstrip("/") + "/"
        for path in sorted(self.fs.find(self.root)):
            parts = str(path)[len(prefix) :].split("/") if str(path).startswith(prefix) else []
            if len(parts) == 3 and is_digest(parts[2]) and shard(parts[2])[:2] == (parts[0], parts[1]):
                yield parts[2]

    def local_path(self, digest: str) -> str | None:
        """A path on this machine when the filesystem is local (``NotFound`` if missing), else None."""
        path = self._path(digest)
        if not self._local:
            return None
        if not Path(path).is_file():
            raise self._missing(digest)
        return os.path.realpath(path)

    def sweep_temp(self, older_than: float = TEMP_MAX_AGE) -> int:
        """Remove temporary objects last modified ``older_than`` seconds ago or earlier.

        Filesystems that cannot tell when an object was modified are left alone.

        Returns:
            How many were removed.
        """
        try:
            names = [str(p) for p in self.fs.ls(self._tmp, detail=False)]
        except FileNotFoundError:
            return 0
        now = datetime.now(UTC)
        removed = 0
        for name in names:
            if not name.endswith(TEMP_SUFFIX):
                continue
            try:
                modified = self.fs.modified(name)
            except (NotImplementedError, FileNotFoundError):
                continue
            if modified.tzinfo is None:
                modified = modified.replace(tzinfo=UTC)
            if (now - modified).total_seconds() >= older_than:
                with suppress(FileNotFoundError):
                    self.fs.rm_file(name)
                    removed += 1
        return removed

    def _ingest(
        self,
        readinto: ReadInto,
        size_hint: int,
        expected: str | None,
        check_source: Callable[[int], None] | None = None,
    ) -> BlobInfo:
        if expected is not None:
            check_digest(expected, "expected digest")
        tmp = f"{self._tmp}/{uuid.uuid4().hex}{TEMP_SUFFIX}"
        try:
            f = self._open_temp(tmp)
            try:
                digest, size = copy_hashing(readinto, self._sink(f), size_hint)
            except BaseException:
                discard = getattr(f, "discard", None)  # aborts an object store's upload
                with suppress(Exception):
                    if callable(discard):
                        discard()
                    else:
                        f.close()
                raise
            self._seal(f)
            if check_source is not None:
                check_source(size)
            if expected is not None and digest != expected:
                raise mismatch(expected, digest)
            created = self._publish(tmp, digest, size)
        except BaseException:
            with suppress(Exception):
                self.fs.rm_file(tmp)
            raise
        return BlobInfo(digest, size, created)

    def _open_temp(self, tmp: str) -> Any:
        try:
            try:
                return self.fs.open(tmp, "wb")
            except FileNotFoundError:
                self.fs.makedirs(self._tmp, exist_ok=True)
                return self.fs.open(tmp, "wb")
        except OSError as exc:
            raise write_failed(exc, self.url) from exc

    def _seal(self, f: Any) -> None:
        """Finish the temporary file: fsynced on a local disk, the upload completed on an object store."""
        try:
            if self._local:
                f.flush()
                os.fsync(f.fileno())
            f.close()
        except OSError as exc:
            with suppress(Exception):
                f.close()
            raise write_failed(exc, self.url) from exc

    def _sink(self, f: Any) -> Callable[[memoryview], None]:
        def write(view: memoryview) -> None:
            try:
                f.write(view)
            except OSError as exc:
                raise write_failed(exc, self.url) from exc

        return write

    def _publish(self, tmp: str, digest: str, size: int) -> bool:
        final = self._path(digest)
        if self.fs.isfile(final) and self._intact(final, digest, size):
            with suppress(OSError):
                self.fs.rm_file(tmp)
            return False
        try:
            parent = posixpath.dirname(final)
            self.fs.makedirs(parent, exist_ok=True)
            if self._local:
                Path(tmp).chmod(0o444)
            self.fs.mv(tmp, final)
            self._sync_dir(parent)
        except OSError as exc:
            raise write_failed(exc, self.url) from exc
        return True

    def _intact(self, path: str, digest: str, size: int) -> bool:
        try:
            if int(self.fs.size(path)) != size:
                return False
            with self.fs.open(path, "rb") as f:
                return hash_stream(f, size)[0] == digest
        except OSError:
            return False

    def _sync_dir(self, directory: str) -> None:
        if not self._local:
            return
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _path(self, digest: str) -> str:
        first, second, name = shard(check_digest(digest))
        return f"{self.root}/{first}/{second}/{name}"

    def _missing(self, digest: str) -> NotFound:
        return NotFound(
            f"blob {digest} is not in {self.url}",
            hint="ingest the file again, or run `rmtc verify` to list what is missing",
        )

    def _create(self) -> None:
        try:
            self.fs.makedirs(self._tmp, exist_ok=True)
            marker = f"{self.root}/{MARKER}"
            if not self.fs.exists(marker):
                self.fs.pipe_file(marker, (LAYOUT + "\n").encode())
        except OSError as exc:
            raise write_failed(exc, self.url) from exc

    def _check_root(self) -> None:
        marker = f"{self.root}/{MARKER}"
        if self.fs.isfile(marker):
            check_layout(bytes(self.fs.cat_file(marker)).decode("utf-8", "replace"), self.url)
        elif not self.fs.isdir(self.root):
            raise NotFound(
                f"no blob store at {self.url}",
                hint="run `rmtc init` to create the project, or pass create=True",
            )


def open_fsspec(url: str, *, create: bool = False, **storage_options: Any) -> FsspecBlobStore:
    """Open (or with ``create``, make) the blob store at an fsspec URL.

    ``storage_options`` go to the filesystem (credentials, endpoints) and never appear in ``url``.
    Temporary objects that killed writers left more than a day ago are removed on the way.

    Raises:
        NotFound: no store there and ``create`` is false. InvalidInput: not a URL fsspec knows.
    """
    import fsspec  # heavy: imported only when a store is opened (plug-in scans stay light)

    if "\x00" in url:
        raise InvalidInput("the blob store URL contains a NUL byte", hint="pass a plain URL")
    try:
        fs, root = fsspec.core.url_to_fs(url, **storage_options)
    except (ValueError, ImportError) as exc:
        raise InvalidInput(
            f"cannot open a blob store at {_safe(url)!r}: {exc}",
            hint="use memory://, file://, s3:// or gs:// (install s3fs or gcsfs for those)",
        ) from exc
    store = FsspecBlobStore(fs, str(root), url=_safe(url), create=create)
    store.sweep_temp()
    return store


def _safe(url: str) -> str:
    """The URL without user name, password, query or fragment."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _is_local(fs: Any) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)
