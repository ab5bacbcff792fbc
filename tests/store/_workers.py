"""Worker processes for the multi-process store tests (run as scripts, one real process each).

Each worker opens the store, prints ``ready`` and waits for a line on stdin, so that the test starts
all of them at the same moment without sleeping; then it does its part and prints one JSON line.
"""

from __future__ import annotations

import json
import random
import sys
import traceback
from datetime import UTC, datetime

from rmtc.core.entities import Asset
from rmtc.core.ids import new_id, parse_id
from rmtc.core.kinds import Relation
from rmtc.store.types import Edge, WriteBatch
from rmtc.testing.fixtures import open_store

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def batches(seed: int, pool: int, count: int, size: int) -> list[list[str]]:
    """The content hashes each batch of worker ``seed`` writes (the test recomputes them)."""
    rng = random.Random(seed)
    hashes = [f"{i:064x}" for i in range(pool)]
    return [rng.sample(hashes, size) for _ in range(count)]


def ingest(url: str, seed: int, version: str) -> dict[str, object]:
    store = open_store(url)
    print("ready", flush=True)
    sys.stdin.readline()
    created = 0
    for chunk in batches(seed, 300, 8, 60):
        assets = [
            Asset(id=new_id(), name=h[-6:], created_at=NOW, created_by=f"w{seed}", content_hash=h)
            for h in chunk
        ]
        edges = [Edge(a.id, Relation.MEMBER_OF, parse_id(version)) for a in assets]
        result = store.write(WriteBatch(entities=assets, edges=edges))
        if [e.content_hash for e in result.entities] != chunk:
            raise AssertionError("write returned other entities than it was given")
        created += result.created
    store.close()
    return {"created": created}


def create(url: str, seed: int) -> dict[str, object]:
    print("ready", flush=True)
    sys.stdin.readline()
    store = open_store(url, create=True)
    asset = Asset(id=new_id(), name=f"a{seed}", created_at=NOW, created_by="w", content_hash=f"{seed:064x}")
    store.write(WriteBatch(entities=[asset]))
    version = store.schema_version()
    store.close()
    return {"schema": version}


if __name__ == "__main__":
    job, url, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    try:
        out = ingest(url, seed, sys.argv[4]) if job == "ingest" else create(url, seed)
    except BaseException:
        traceback.print_exc()
        sys.exit(1)
    print(json.dumps(out), flush=True)
