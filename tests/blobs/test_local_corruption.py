"""Damage to k random blobs (a flipped byte, a truncation, two blobs swapped) is found, every time."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from rmtc.blobs.local import LocalBlobStore
from rmtc.errors import IntegrityError


def _path(store: LocalBlobStore, digest: str) -> Path:
    return Path(store.local_path(digest) or "")


def _flip(path: Path, rng: random.Random) -> None:
    data = bytearray(path.read_bytes())
    i = rng.randrange(len(data))
    data[i] ^= 1 << rng.randrange(8)
    path.chmod(0o644)
    path.write_bytes(bytes(data))


def _truncate(path: Path, rng: random.Random) -> None:
    path.chmod(0o644)
    with path.open("r+b") as f:
        f.truncate(rng.randrange(path.stat().st_size))


def _swap(a: Path, b: Path) -> None:
    parked = a.with_name("parked")
    a.rename(parked)
    b.rename(a)
    parked.rename(b)


@pytest.mark.parametrize("seed", [10, 20, 30])
def test_when_k_random_blobs_are_damaged_then_verify_finds_exactly_those(store: LocalBlobStore, seed: int):
    rng = random.Random(seed)
    digests = [store.put_bytes(rng.randbytes(rng.randint(1, 200_000))).digest for _ in range(40)]
    digests.append(store.put_bytes(rng.randbytes(6 << 20)).digest)
    victims = rng.sample(digests, 12)
    damaged: set[str] = set()
    for i, digest in enumerate(victims):
        if digest in damaged:
            continue
        kind = ("flip", "truncate", "swap")[i % 3]
        if kind == "swap":
            partner = rng.choice([d for d in digests if d not in damaged and d != digest])
            _swap(_path(store, digest), _path(store, partner))
            damaged |= {digest, partner}
        else:
            (_flip if kind == "flip" else _truncate)(_path(store, digest), rng)
            damaged.add(digest)

    found = {d for d in store.iter_digests() if not store.verify(d)}
    assert found == damaged
    for digest in digests:
        if digest in damaged:
            with pytest.raises(IntegrityError):
                store.read_bytes(digest)
            with pytest.raises(IntegrityError), store.open(digest, verify=True) as f:
                f.read()
        else:
            assert len(store.read_bytes(digest)) == store.size(digest)


def test_when_damaged_blob_is_ingested_again_then_the_good_bytes_replace_it(store: LocalBlobStore):
    data = random.Random(5).randbytes(300_000)
    digest = store.put_bytes(data).digest
    _truncate(_path(store, digest), random.Random(1))
    info = store.put_bytes(data)
    assert info.created and store.verify(digest)
    assert list(store.iter_digests()) == [digest]
    assert list((store.root / "tmp").iterdir()) == []
