"""The blob store conformance suite: every :class:`~rmtc.blobs.protocol.BlobStore` runs these tests.

Subclass :class:`BlobStoreConformance` in a test module (its name starting with ``Test``) and give it
a ``blobs`` fixture that yields a fresh, empty store::

    class TestMyBlobStore(BlobStoreConformance):
        @pytest.fixture
        def blobs(self, tmp_path):
            return open_my_store(tmp_path, create=True)

The corruption tests damage a blob through :meth:`BlobStoreConformance.overwrite_raw`, which writes
to :meth:`~rmtc.blobs.protocol.BlobStore.local_path`; a store without local paths overrides it (to
write the object directly) or the corruption tests skip, saying why.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rmtc.blobs.protocol import BlobInfo, BlobStore
from rmtc.core.hashing import hash_bytes
from rmtc.errors import IntegrityError, InvalidInput, NotFound

#: Names that must never reach a filesystem: traversal, encodings, look-alike digits, wrong types.
BAD_DIGESTS: list[Any] = [
    "",
    "a",
    "0" * 63,
    "0" * 65,
    "A" * 64,
    "g" * 64,
    "0" * 63 + "G",
    " " + "0" * 63,
    "0" * 63 + "\n",
    "0" * 63 + "\x00",
    "\x00" * 64,
    "..",
    ".",
    "../" + "0" * 61,
    "../../../../../../etc/passwd",
    "/etc/passwd",
    "/" + "0" * 63,
    "ab/cd/" + "0" * 58,
    "0" * 62 + "/.",
    "..\\..\\..\\windows\\win.ini",
    "%2e%2e%2f" + "0" * 55,
    "%252e%252e%252f" + "0" * 49,
    "\xc0\xae\xc0\xae/" + "0" * 59,
    "file:///etc/passwd",
    "\\\\server\\share\\" + "0" * 49,
    "0" * 63 + "#",
    "0" * 63 + ";",
    "0x" + "0" * 62,
    "\uff10" * 64,  # fullwidth digit zero
    "\u0660" * 64,  # Arabic-Indic digit zero
    "\u0430" * 64,  # Cyrillic a
    "0" * 32 + "\u200b" + "0" * 31,
    None,
    123,
    b"0" * 64,
]

MIB = 1 << 20


def _ids(value: Any) -> str:
    return ascii(value)[:40]


class BlobStoreConformance:
    """The tests every blob store passes. Subclasses provide the ``blobs`` fixture."""

    def overwrite_raw(self, blobs: BlobStore, digest: str, data: bytes) -> None:
        """Replace a stored blob's bytes behind the store's back (to test that damage is found)."""
        path = blobs.local_path(digest)
        if path is None:
            pytest.skip(f"{type(blobs).__name__} has no local paths; override overwrite_raw to damage blobs")
        target = Path(path)
        target.chmod(0o644)
        target.write_bytes(data)

    def test_store_implements_the_protocol_and_has_a_printable_url(self, blobs: BlobStore) -> None:
        assert isinstance(blobs, BlobStore)
        assert isinstance(blobs.url, str) and blobs.url and blobs.url.isprintable()

    def test_when_bytes_put_then_named_by_their_blake3_hash(self, blobs: BlobStore) -> None:
        info = blobs.put_bytes(b"plate sh010 frame 1001")
        assert info == BlobInfo(hash_bytes(b"plate sh010 frame 1001"), 22, True)
        assert blobs.read_bytes(info.digest) == b"plate sh010 frame 1001"

    def test_when_many_files_put_then_each_gets_its_own_result_in_order(
        self, blobs: BlobStore, tmp_path: Path
    ) -> None:
        paths = []
        for i in range(5):
            p = tmp_path / f"f{i}.bin"
            p.write_bytes(os.urandom(1000 + i))
            paths.append(p)
        paths.insert(2, tmp_path / "missing.bin")
        paths.append(paths[0])  # the same file twice in one batch
        results = blobs.put_files(paths)
        assert len(results) == len(paths)
        assert isinstance(results[2], NotFound)
        for p, r in zip(paths, results, strict=True):
            if p.name == "missing.bin":
                continue
            assert isinstance(r, BlobInfo)
            assert r.digest == hash_bytes(p.read_bytes()) and blobs.read_bytes(r.digest) == p.read_bytes()
        assert results[0].created and not results[-1].created  # type: ignore[union-attr]

    def test_when_file_put_then_same_blob_as_its_bytes(self, blobs: BlobStore, tmp_path: Path) -> None:
        data = os.urandom(100_000)
        path = tmp_path / "frame.1001.exr"
        path.write_bytes(data)
        info = blobs.put_file(path)
        assert (info.digest, info.size, info.created) == (hash_bytes(data), len(data), True)
        assert blobs.read_bytes(info.digest) == data

    def test_when_stream_put_then_its_bytes_to_the_end_are_stored(self, blobs: BlobStore) -> None:
        data = os.urandom(300_000)
        info = blobs.put_stream(io.BufferedReader(io.BytesIO(data), buffer_size=4096))
        assert (info.digest, info.size) == (hash_bytes(data), len(data))
        assert blobs.read_bytes(info.digest) == data

    def test_when_stream_offers_only_read_then_it_is_stored(self, blobs: BlobStore) -> None:
        data = os.urandom(5 * MIB + 7)
        info = blobs.put_stream(_ReadOnlyStream(data))  # type: ignore[arg-type]
        assert (info.digest, info.size) == (hash_bytes(data), len(data))
        assert blobs.verify(info.digest)

    @pytest.mark.parametrize("size", [1, 4 * MIB - 1, 4 * MIB, 4 * MIB + 1, 8 * MIB + 3])
    def test_when_size_is_near_a_buffer_boundary_then_every_byte_is_kept(
        self, blobs: BlobStore, size: int
    ) -> None:
        data = os.urandom(size)
        info = blobs.put_stream(io.BytesIO(data))
        assert (info.digest, info.size) == (hash_bytes(data), size)
        assert blobs.read_bytes(info.digest) == data

    def test_when_same_bytes_put_again_then_not_created_and_still_one_blob(
        self, blobs: BlobStore, tmp_path: Path
    ) -> None:
        first = blobs.put_bytes(b"reference still")
        path = tmp_path / "again.bin"
        path.write_bytes(b"reference still")
        assert blobs.put_bytes(b"reference still") == BlobInfo(first.digest, first.size, False)
        assert blobs.put_file(path).created is False
        assert blobs.put_stream(io.BytesIO(b"reference still")).created is False
        assert list(blobs.iter_digests()) == [first.digest]

    def test_when_blob_stored_then_exists_size_open_and_read_bytes_agree(self, blobs: BlobStore) -> None:
        data = os.urandom(70_000)
        digest = blobs.put_bytes(data).digest
        assert blobs.exists(digest)
        assert blobs.size(digest) == len(data)
        with blobs.open(digest) as f:
            assert f.read() == data
        assert blobs.read_bytes(digest, verify=False) == data
        assert blobs.verify(digest) is True

    def test_when_blob_missing_then_exists_false_and_reads_raise_not_found(self, blobs: BlobStore) -> None:
        digest = hash_bytes(b"never stored")
        assert blobs.exists(digest) is False
        for call in (blobs.size, blobs.open, blobs.read_bytes, blobs.verify):
            with pytest.raises(NotFound):
                call(digest)
        assert blobs.delete(digest) is False

    def test_when_opened_with_verify_then_an_intact_blob_reads_in_small_pieces(
        self, blobs: BlobStore
    ) -> None:
        data = os.urandom(1 * MIB + 13)
        digest = blobs.put_bytes(data).digest
        got = bytearray()
        with blobs.open(digest, verify=True) as f:
            while piece := f.read(65_537):
                got += piece
        assert bytes(got) == data

    @pytest.mark.parametrize("damage", ["flip", "truncate", "extend", "empty"])
    def test_when_blob_damaged_then_verify_finds_it_and_nothing_corrupt_is_served(
        self, blobs: BlobStore, damage: str
    ) -> None:
        data = os.urandom(200_000)
        digest = blobs.put_bytes(data).digest
        self.overwrite_raw(blobs, digest, _damaged(data, damage))
        assert blobs.verify(digest) is False
        with pytest.raises(IntegrityError):
            blobs.read_bytes(digest)
        with pytest.raises(IntegrityError), blobs.open(digest, verify=True) as f:
            f.read()
        with pytest.raises(IntegrityError), blobs.open(digest, verify=True) as f:
            while f.read(4096):
                pass

    def test_when_damaged_blob_put_again_then_it_is_repaired(self, blobs: BlobStore) -> None:
        data = os.urandom(50_000)
        digest = blobs.put_bytes(data).digest
        self.overwrite_raw(blobs, digest, _damaged(data, "flip"))
        assert blobs.put_bytes(data) == BlobInfo(digest, len(data), True)
        assert blobs.verify(digest) is True
        assert blobs.read_bytes(digest) == data

    def test_when_deleted_then_gone_and_a_second_delete_is_false(self, blobs: BlobStore) -> None:
        keep = blobs.put_bytes(b"keep").digest
        gone = blobs.put_bytes(b"forget me").digest
        assert blobs.delete(gone) is True
        assert not blobs.exists(gone)
        assert blobs.delete(gone) is False
        assert list(blobs.iter_digests()) == [keep]
        with pytest.raises(NotFound):
            blobs.read_bytes(gone)

    def test_iter_digests_lists_exactly_the_stored_blobs(self, blobs: BlobStore) -> None:
        assert list(blobs.iter_digests()) == []
        digests = {blobs.put_bytes(os.urandom(100 + i)).digest for i in range(25)}
        listed = list(blobs.iter_digests())
        assert len(listed) == len(digests) and set(listed) == digests

    @pytest.mark.parametrize("bad", BAD_DIGESTS, ids=_ids)
    def test_when_digest_malformed_then_every_method_refuses_it(
        self, blobs: BlobStore, bad: Any, tmp_path: Path
    ) -> None:
        stored = blobs.put_bytes(b"untouched").digest
        source = tmp_path / "source.bin"
        source.write_bytes(b"x")
        calls: list[Callable[[Any], object]] = [
            blobs.open,
            blobs.read_bytes,
            blobs.exists,
            blobs.size,
            blobs.verify,
            blobs.delete,
            blobs.local_path,
            lambda d: blobs.open(d, verify=True),
        ]
        if bad is not None:  # None is "no expectation" for the put methods
            calls.append(lambda d: blobs.put_file(source, expected_digest=d))
            calls.append(lambda d: blobs.put_stream(io.BytesIO(b"x"), expected_digest=d))
        for call in calls:
            with pytest.raises(InvalidInput):
                call(bad)
        assert list(blobs.iter_digests()) == [stored]
        assert blobs.verify(stored)

    def test_when_expected_digest_differs_then_integrity_error_and_nothing_stored(
        self, blobs: BlobStore, tmp_path: Path
    ) -> None:
        path = tmp_path / "weights.safetensors"
        path.write_bytes(os.urandom(3 * MIB))
        wrong = hash_bytes(b"something else")
        with pytest.raises(IntegrityError):
            blobs.put_file(path, expected_digest=wrong)
        with pytest.raises(IntegrityError):
            blobs.put_stream(io.BytesIO(b"abc"), expected_digest=wrong)
        assert list(blobs.iter_digests()) == []
        assert not blobs.exists(wrong)

    def test_when_expected_digest_matches_then_stored(self, blobs: BlobStore, tmp_path: Path) -> None:
        data = os.urandom(10_000)
        path = tmp_path / "a.bin"
        path.write_bytes(data)
        assert blobs.put_file(path, expected_digest=hash_bytes(data)).created
        assert blobs.put_stream(io.BytesIO(data), expected_digest=hash_bytes(data)).created is False

    def test_empty_blob_round_trips(self, blobs: BlobStore, tmp_path: Path) -> None:
        empty = tmp_path / "empty"
        empty.write_bytes(b"")
        info = blobs.put_file(empty)
        assert (info.digest, info.size) == (hash_bytes(b""), 0)
        assert blobs.put_bytes(b"").created is False
        assert blobs.size(info.digest) == 0
        assert blobs.read_bytes(info.digest) == b""
        with blobs.open(info.digest, verify=True) as f:
            assert f.read() == b""
        assert blobs.verify(info.digest)

    def test_20_mib_blob_round_trips_by_file_and_stream(self, blobs: BlobStore, tmp_path: Path) -> None:
        data = os.urandom(20 * MIB)
        path = tmp_path / "plate.1001.exr"
        path.write_bytes(data)
        info = blobs.put_file(path)
        assert (info.digest, info.size, info.created) == (hash_bytes(data), 20 * MIB, True)
        with path.open("rb") as f:
            assert blobs.put_stream(f).created is False
        assert blobs.verify(info.digest)
        with blobs.open(info.digest, verify=True) as f:
            assert hash_bytes(f.read()) == info.digest

    def test_when_source_file_missing_or_a_directory_then_refused(
        self, blobs: BlobStore, tmp_path: Path
    ) -> None:
        with pytest.raises(NotFound):
            blobs.put_file(tmp_path / "no-such-frame.exr")
        with pytest.raises(InvalidInput):
            blobs.put_file(tmp_path)
        assert list(blobs.iter_digests()) == []

    def test_when_stream_fails_midway_then_error_propagates_and_nothing_is_stored(
        self, blobs: BlobStore
    ) -> None:
        with pytest.raises(ConnectionResetError):
            blobs.put_stream(_FailingStream(9 * MIB))  # type: ignore[arg-type]
        assert list(blobs.iter_digests()) == []

    def test_local_path_is_none_or_a_file_holding_the_bytes(self, blobs: BlobStore) -> None:
        data = os.urandom(1000)
        digest = blobs.put_bytes(data).digest
        path = blobs.local_path(digest)
        assert path is None or Path(path).read_bytes() == data


class _ReadOnlyStream:
    """A stream with ``read`` but no ``readinto`` (some upload and socket wrappers)."""

    def __init__(self, data: bytes):
        self._f = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._f.read(min(n, 100_003) if n > 0 else n)


class _FailingStream(io.RawIOBase):
    """Yields ``fail_at`` bytes, then the connection drops."""

    def __init__(self, fail_at: int):
        super().__init__()
        self._left = fail_at

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            raise ConnectionResetError("client went away")
        n = min(len(buffer), self._left)
        buffer[:n] = b"\x5a" * n
        self._left -= n
        return n


def _damaged(data: bytes, how: str) -> bytes:
    if how == "flip":
        i = len(data) // 2
        return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]
    if how == "truncate":
        return data[: len(data) - 1]
    if how == "extend":
        return data + b"\x00"
    if how == "empty":
        return b""
    raise ValueError(how)
