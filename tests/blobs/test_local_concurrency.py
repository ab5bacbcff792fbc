"""Several processes storing the same bytes at once end with one correct blob."""

from __future__ import annotations

import json
import random

from rmtc.blobs.local import LocalBlobStore
from rmtc.core.hashing import hash_bytes

#: Waits for "go", then stores the shared bytes three times and a few blobs of its own.
WRITER = """
import json, random, sys
from rmtc.blobs.local import open_local

store = open_local(sys.argv[1])
shared = random.Random(99).randbytes(9 << 20)
own = random.Random(int(sys.argv[2])).randbytes(3 << 20)
sys.stdin.readline()
results = [store.put_bytes(shared) for _ in range(3)]
mine = [store.put_bytes(own[i:]).digest for i in range(0, 3 << 20, 1 << 20)]
print(json.dumps({"shared": [[r.digest, r.created] for r in results], "own": mine}))
"""


def test_when_processes_store_the_same_bytes_at_once_then_one_correct_blob_remains(
    store: LocalBlobStore, child
):
    writers = [child(WRITER, str(store.root), str(seed)) for seed in range(4)]
    for proc in writers:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = []
    for proc in writers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outputs.append(json.loads(out))

    shared = hash_bytes(random.Random(99).randbytes(9 << 20))
    results = [tuple(r) for o in outputs for r in o["shared"]]
    assert {digest for digest, _ in results} == {shared}
    assert sum(created for _, created in results) == 1
    own = {d for o in outputs for d in o["own"]}
    assert len(own) == 12
    assert sorted(store.iter_digests()) == sorted(own | {shared})
    assert all(store.verify(d) for d in store.iter_digests())
    assert list((store.root / "tmp").iterdir()) == []
