"""Ad-hoc timings of the SQL store (not a test; the benchmarks proper live in bench/).

.venv/bin/python tests/store/_bench_store.py sqlite      # a store in a temporary directory
.venv/bin/python tests/store/_bench_store.py postgresql  # a throwaway PostgreSQL server
"""

import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime

from rmtc.core.entities import Asset, Dataset, DatasetVersion, Run
from rmtc.core.ids import new_id
from rmtc.core.kinds import MATERIAL, Relation
from rmtc.store.types import Edge, EntityQuery, MetricPoint, RunQuery, WriteBatch
from rmtc.testing.fixtures import open_store


def main(url):
    s = open_store(url, create=True)
    now = datetime.now(UTC)
    print("==", s.url.split("@")[-1])
    dsv = [
        DatasetVersion(
            id=new_id(), name="plates", version=v, created_at=now, created_by="b", content_hash=f"v{v}"
        )
        for v in range(1, 51)
    ]
    ds = Dataset(id=new_id(), name="plates", created_at=now, created_by="b")
    s.write(WriteBatch(entities=[ds, *dsv], edges=[Edge(v.id, Relation.VERSION_OF, ds.id) for v in dsv]))
    times = []
    allassets = []
    for b in range(
        40
    ):  # 20,000 assets, each member of version b%50 and derived from a plate of the previous batch
        assets = [
            Asset(
                id=new_id(),
                name=f"p.{b:03d}.{i:04d}.exr",
                created_at=now,
                created_by="b",
                content_hash=f"{b:06d}{i:058d}",
                size=1000,
                sequence=f"/shots/sh{b:03d}/p.####.exr",
                frame=1001 + i,
                media={"width": 2048, "height": 1080, "channels": ["R", "G", "B"]},
            )
            for i in range(500)
        ]
        edges = [Edge(a.id, Relation.MEMBER_OF, dsv[b % 50].id) for a in assets]
        if allassets:
            edges += [Edge(a.id, Relation.DERIVED_FROM, allassets[-500 + i].id) for i, a in enumerate(assets)]
        t = time.perf_counter()
        s.write(WriteBatch(entities=assets, edges=edges))
        times.append(time.perf_counter() - t)
        allassets += assets
    print(
        f"write 500 assets + ~1000 edges: median {statistics.median(times) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms (40 batches)"
    )
    t = time.perf_counter()
    r = s.write(
        WriteBatch(
            entities=[
                Asset(id=new_id(), name=a.name, created_at=now, created_by="b", content_hash=a.content_hash)
                for a in allassets[:500]
            ]
        )
    )
    print(
        f"re-write 500 existing assets (idempotent): {(time.perf_counter() - t) * 1000:.0f} ms, "
        f"created={r.created}"
    )
    # diamond: 2000 assets members of 50 versions = 100,000 edges
    diamond = allassets[:2000]
    edges = [Edge(a.id, Relation.MEMBER_OF, v.id) for a in diamond for v in dsv]
    t = time.perf_counter()
    for i in range(0, len(edges), 5000):
        s.write(WriteBatch(edges=edges[i : i + 5000]))
    print(f"100,000 member_of edges in batches of 5000: {time.perf_counter() - t:.1f} s")

    def tw(label, *a, **k):
        ts = []
        for _ in range(7):
            t = time.perf_counter()
            out = s.walk(*a, **k)
            ts.append(time.perf_counter() - t)
        print(f"walk {label}: {len(out)} reached, median {statistics.median(ts) * 1000:.1f} ms")

    run0 = Run(id=new_id(), name="train", created_at=now, created_by="b")
    s.write(WriteBatch(entities=[run0], edges=[Edge(run0.id, Relation.USED, v.id) for v in dsv]))
    tw(
        "up from 1 version via member_of (~2,400 member edges)",
        [dsv[5].id],
        "up",
        relations=[Relation.MEMBER_OF],
    )
    tw(
        "up from 1 asset, derived_from chain of depth 39",
        [allassets[-1].id],
        "up",
        relations=[Relation.DERIVED_FROM],
    )
    tw("down from 1 asset, all relations", [allassets[0].id], "down", max_depth=3)
    tw(
        "up from a run that used 50 versions, max_depth=2 (2000 assets x 50 versions diamond)",
        [run0.id],
        "up",
        max_depth=2,
    )
    tw("up from that run, unbounded (~140k edges explored)", [run0.id], "up")
    tw(
        "up from that run, through=MATERIAL, project-scoped",
        [run0.id],
        "up",
        through=MATERIAL,
        project="default",
    )
    run = Run(id=new_id(), name="r", created_at=now, created_by="b")
    s.write(WriteBatch(entities=[run]))
    t = time.perf_counter()
    for b in range(200):
        s.log_metrics(
            run.id,
            [
                MetricPoint(["loss", "psnr", "lr", "ssim"][i % 4], b * 250 + i // 4, random.random())
                for i in range(1000)
            ],
        )
    print(f"200,000 metric points via log_metrics in batches of 1000: {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    s.get_metrics(run.id, ["loss"])
    print(f"get_metrics 50,000 points: {(time.perf_counter() - t) * 1000:.0f} ms")
    runs = [
        Run(
            id=new_id(),
            name=f"r{i}",
            created_at=now,
            created_by="b",
            params={f"p{j}": (j * i) % 7 for j in range(20)},
        )
        for i in range(200)
    ]
    t = time.perf_counter()
    for r in runs:
        s.write(WriteBatch(entities=[r]))
    print(f"200 runs x 20 params, one write each: {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    p = s.find_runs(RunQuery(params={"p3": 3, "p5": 5}))
    print(f"find_runs by 2 params: {len(p.items)} in {(time.perf_counter() - t) * 1000:.1f} ms")
    t = time.perf_counter()
    n = s.count_entities(EntityQuery(kind="asset", fields={"sequence": "/shots/sh007/p.####.exr"}))
    print(f"count by fields.sequence: {n} in {(time.perf_counter() - t) * 1000:.1f} ms")
    s.close()


if __name__ == "__main__":
    import tempfile

    from rmtc.testing.postgres import PostgresServer

    if sys.argv[1:] == ["postgresql"]:
        with PostgresServer.start() as server:
            main(server.create_database("bench"))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(f"sqlite:///{tmp}/bench.db")
