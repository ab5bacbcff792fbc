"""Several real processes writing one store at once: nothing lost, nothing duplicated, no "locked"."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rmtc.core.entities import DatasetVersion
from rmtc.core.ids import new_id
from rmtc.core.kinds import Kind, Relation
from rmtc.store.sql.migrate import known_revisions
from rmtc.store.types import EntityQuery, WriteBatch
from rmtc.testing.fixtures import open_store

WORKERS = Path(__file__).with_name("_workers.py")
sys.path.insert(0, str(WORKERS.parent))
from _workers import NOW, batches  # noqa: E402


def run_together(args: list[list[str]]) -> list[dict[str, object]]:
    """Start one process per argument list, release them at once, and return their JSON results."""
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKERS), *a],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for a in args
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "ready", p.communicate(timeout=60)[1]
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
            assert "locked" not in err.lower(), err
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.communicate()


@pytest.mark.timeout(300)
def test_when_four_processes_write_overlapping_assets_then_none_is_lost_or_duplicated(
    store, store_url
) -> None:
    version = DatasetVersion(
        id=new_id(), name="plates", version=1, created_at=NOW, created_by="t", content_hash="v" * 64
    )
    store.write(WriteBatch(entities=[version]))
    seeds = [1, 2, 3, 4]
    results = run_together([["ingest", store_url, str(s), str(version.id)] for s in seeds])

    expected = {h for s in seeds for chunk in batches(s, 300, 8, 60) for h in chunk}
    assert sum(int(r["created"]) for r in results) == len(expected)  # type: ignore[call-overload]
    assert store.count_entities(EntityQuery(kind=Kind.ASSET)) == len(expected)
    stored = {e.content_hash for e in store.find_entities(EntityQuery(kind=Kind.ASSET), limit=1000).items}
    assert stored == expected
    members = store.find_edges(dst=[version.id], relations=[Relation.MEMBER_OF])
    assert len(members) == len({e.src for e in members}) == len(expected)


@pytest.mark.timeout(300)
def test_when_four_processes_create_the_same_fresh_store_then_all_succeed(store_url: str, request) -> None:
    url = store_url
    if store_url.startswith("postgresql"):
        url = request.getfixturevalue("empty_postgres_url")
    else:
        url = store_url.replace("store.db", "fresh.db")
    results = run_together([["create", url, str(seed)] for seed in range(4)])
    head = int(known_revisions()[0])
    assert [r["schema"] for r in results] == [head] * 4
    reopened = open_store(url)
    try:
        assert reopened.count_entities(EntityQuery(kind=Kind.ASSET)) == 4
    finally:
        reopened.close()
