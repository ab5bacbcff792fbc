import io
import os

import blake3
import pytest

from rmtc.core import hashing
from rmtc.errors import FileChanged, InvalidInput, NotFound


def test_hash_file_equals_blake3_of_the_bytes(tmp_path):
    data = os.urandom(3 * hashing.CHUNK + 17)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert hashing.hash_file(path) == (blake3.blake3(data).hexdigest(), len(data))


def test_large_inputs_hash_the_same_with_threads():
    data = os.urandom(hashing.PARALLEL_THRESHOLD + 5)
    digest, size = hashing.hash_stream(io.BytesIO(data), size_hint=len(data))
    assert digest == blake3.blake3(data).hexdigest()
    assert size == len(data)


def test_when_the_file_is_missing_then_not_found_names_it(tmp_path):
    with pytest.raises(NotFound, match="nope.exr"):
        hashing.hash_file(tmp_path / "nope.exr")


def test_when_given_a_directory_then_the_error_says_so(tmp_path):
    with pytest.raises(InvalidInput, match="is a directory"):
        hashing.hash_file(tmp_path)


def test_when_a_file_changes_while_hashed_then_file_changed_is_raised(tmp_path, monkeypatch):
    path = tmp_path / "growing.exr"
    path.write_bytes(b"x" * (4 * hashing.CHUNK))
    real_stream = hashing.hash_stream

    def stream_then_append(stream, size_hint=0):
        result = real_stream(stream, size_hint)
        with path.open("ab") as f:  # a renderer appending while we read
            f.write(b"more")
        return result

    monkeypatch.setattr(hashing, "hash_stream", stream_then_append)
    with pytest.raises(FileChanged, match="changed while it was being hashed"):
        hashing.hash_file(path)


def test_combine_is_independent_of_order():
    a, b = hashing.hash_bytes(b"a"), hashing.hash_bytes(b"b")
    assert hashing.combine([a, b]) == hashing.combine([b, a]) != hashing.combine([a])


def test_is_digest_accepts_only_64_lowercase_hex():
    assert hashing.is_digest(hashing.hash_bytes(b"x"))
    assert not hashing.is_digest("../" + "a" * 61)
    assert not hashing.is_digest("A" * 64)
