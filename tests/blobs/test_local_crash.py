"""Crash safety: writers SIGKILLed in the middle of an insert never leave a partial blob behind."""

from __future__ import annotations

import random
import signal
from pathlib import Path

import pytest

from rmtc.blobs.local import LocalBlobStore
from rmtc.core.hashing import hash_bytes

MIB = 1 << 20

#: Streams ``total`` seeded bytes into the store, stopping for good (on stdin) half way.
SLOW_WRITER = """
import io, random, sys
from rmtc.blobs.local import open_local

root, total, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = random.Random(seed).randbytes(total)

class Slow(io.RawIOBase):
    pos = 0
    def readable(self):
        return True
    def readinto(self, b):
        if self.pos >= total // 2:
            print("half", flush=True)
            sys.stdin.readline()  # the parent never answers: it kills us here
        n = min(len(b), 1 << 20, total - self.pos)
        b[:n] = data[self.pos:self.pos + n]
        self.pos += n
        return n

open_local(root).put_stream(Slow())
print("finished", flush=True)
"""

#: Stores seeded random blobs forever, printing each digest once its put has returned.
BUSY_WRITER = """
import random, sys
from rmtc.blobs.local import open_local

store, rng = open_local(sys.argv[1]), random.Random(int(sys.argv[2]))
while True:
    info = store.put_bytes(rng.randbytes(rng.choice([0, 1, 5000, 3 << 20, 9 << 20])))
    print(info.digest, flush=True)
"""


def _killed_after(proc, lines: int) -> list[str]:
    seen = [proc.stdout.readline().strip() for _ in range(lines)]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    return seen


def test_when_writer_killed_half_way_then_no_blob_exists_and_the_retry_succeeds(store: LocalBlobStore, child):
    total = 24 * MIB
    data = random.Random(7).randbytes(total)
    digest = hash_bytes(data)
    proc = child(SLOW_WRITER, str(store.root), str(total), "7")
    assert _killed_after(proc, 1) == ["half"]

    assert not store.exists(digest)
    assert not (store.root / digest[:2] / digest[2:4] / digest).exists()
    assert list(store.iter_digests()) == []
    leftovers = list((store.root / "tmp").glob("*.part"))
    assert len(leftovers) == 1 and 0 < leftovers[0].stat().st_size < total

    assert store.sweep_temp(older_than=0) == 1
    info = store.put_bytes(data)
    assert (info.digest, info.created) == (digest, True)
    assert store.verify(digest)
    assert list((store.root / "tmp").iterdir()) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_when_writer_killed_at_a_random_moment_then_every_acknowledged_blob_is_intact(
    store: LocalBlobStore, child, seed: int
):
    acknowledged: set[str] = set()
    rng = random.Random(seed)
    for _ in range(3):
        proc = child(BUSY_WRITER, str(store.root), str(rng.randrange(1 << 30)))
        acknowledged |= set(_killed_after(proc, rng.randint(1, 6)))
        stored = set(store.iter_digests())
        assert acknowledged <= stored
        assert [d for d in stored if not store.verify(d)] == []
    store.sweep_temp(older_than=0)
    assert list((store.root / "tmp").iterdir()) == []


def test_when_temp_files_of_killed_writers_remain_then_sweeping_leaves_blobs_alone(
    store: LocalBlobStore, child, tmp_path: Path
):
    kept = store.put_bytes(b"acknowledged earlier").digest
    for seed in (11, 12):
        _killed_after(child(SLOW_WRITER, str(store.root), str(8 * MIB + 1), str(seed)), 1)
    assert len(list((store.root / "tmp").glob("*.part"))) == 2
    assert store.sweep_temp(older_than=0) == 2
    assert list(store.iter_digests()) == [kept] and store.verify(kept)
