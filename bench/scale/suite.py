"""The scale benchmark end to end: build the graph into SQLite and PostgreSQL, build it again into
networkx, ask every backend the same questions, and compare times and answers.

Every step runs in a process of its own (:mod:`bench.scale.worker`), one after the other, so each
peak RSS is that step's alone and no step competes with another for the two cores. PostgreSQL is a
throwaway local server (:class:`rmtc.testing.postgres.PostgresServer`), configured as a facility's server
would be (:data:`PG_SETTINGS`: durable, unlike the tests' servers), started here and removed at the end.
"""

from __future__ import annotations

import filecmp
from pathlib import Path
from typing import Any

from bench import common
from bench.scale.graph import Shape
from bench.scale.queries import QUERIES, TARGETS_MS, summary

BACKENDS = ("sqlite", "postgresql")
#: A facility's server: durable as PostgreSQL ships (the tests' servers switch ``fsync``, synchronous
#: commits and full-page writes off for speed; a benchmark must not), a quarter of this 24 GB machine's
#: memory for shared buffers, the usual starting point (the tests' 64 MB would have PostgreSQL copy every
#: index page of a 3 GB graph in and out of the OS cache), checkpoints spaced for bulk loads, and
#: compressed full-page images in the WAL, as a production server would be tuned.
PG_SETTINGS = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "shared_buffers": "6GB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "15min",
    "wal_compression": "lz4",
}
#: How many samples of each question at full scale (the slow ones fewer: together about 15 minutes per
#: backend here).
FULL_COUNTS = {"contains": 200, "trace": 200, "revoke": 30, "rights": 80}
QUICK_SCALE = 0.005
BUILD_TARGET_SECONDS = 300.0
BATCH_ROWS = 100_000
WORKER = [str(common.RMTC_PYTHON), "-m", "bench.scale.worker"]


def counts_for(scale: float) -> dict[str, int]:
    if scale >= 0.5:
        return dict(FULL_COUNTS)
    return {"contains": 30, "trace": 30, "revoke": 6, "rights": 30}


def run(scratch: common.Scratch, quick: bool) -> dict[str, Any]:
    """The entry of ``python -m bench.run scale``: full scale, or a smoke run at 1/200 with ``quick``."""
    return measure(scratch, QUICK_SCALE if quick else 1.0)


def measure(
    scratch: common.Scratch,
    scale: float,
    *,
    backends: tuple[str, ...] = BACKENDS,
    batch: int = BATCH_ROWS,
    counts: dict[str, int] | None = None,
    loader: str = "public",
) -> dict[str, Any]:
    counts = counts or counts_for(scale)
    work = scratch.fresh("scale")
    server = None
    if "postgresql" in backends:
        from rmtc.testing.postgres import PostgresServer

        server = PostgresServer.start(settings=PG_SETTINGS)
    try:
        urls = {"sqlite": f"sqlite:///{work / 'store.db'}"}
        if server is not None:
            urls["postgresql"] = server.create_database("rmtc_scale")
        builds: dict[str, dict[str, Any]] = {}
        asked: dict[str, dict[str, Any]] = {}
        samples = work / f"samples-{backends[0]}.json"
        # Each backend is asked right after its own build, while its pages are still in the page
        # cache, as a store in use keeps them: asked after the next backend's build, SQLite found its
        # file partly evicted and its first question kind paid for reading it back (trace p50 84 ms,
        # 52 ms once the file had been read).
        for backend in backends:
            print(f"  building the graph into {backend} …", flush=True)
            common.settle()
            cmd = [*WORKER, "build", urls[backend], "--scale", str(scale), "--batch", str(batch)]
            cmd += ["--samples", str(work / f"samples-{backend}.json"), "--counts", _json(counts)]
            cmd += ["--loader", loader]
            builds[backend] = common.run_json(cmd)
            if not filecmp.cmp(samples, work / f"samples-{backend}.json", shallow=False):
                raise RuntimeError(f"{backend} was built from another graph than {backends[0]}")
            print(f"  asking {backend} …", flush=True)
            common.settle()
            cmd = [*WORKER, "query", urls[backend], "--samples", str(samples), "--blobs", str(work / "blobs")]
            asked[backend] = common.run_json(cmd)
        print("  building the graph into networkx and asking it …", flush=True)
        memory = common.run_json([*WORKER, "networkx", "--scale", str(scale), "--samples", str(samples)])
    finally:
        if server is not None:
            server.stop()
    result = summarise(Shape.at(scale), counts, batch, builds, memory, asked)
    result["loader"] = loader
    return result


def summarise(
    shape: Shape,
    counts: dict[str, int],
    batch: int,
    builds: dict[str, dict[str, Any]],
    memory: dict[str, Any],
    asked: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    first = next(iter(builds.values()))
    result: dict[str, Any] = {
        "shape": shape.describe(),
        "scale": shape.scale,
        "counts": counts,
        "batch_rows": batch,
        "graph": {"entities": first["entities"], "edges": first["edges"]},
        "build": {b: _build(r) for b, r in builds.items()},
        "networkx": {
            "load": memory["load"],
            "rss_after_load_mb": memory["rss_after_load_mb"],
            "maxrss_mb": memory["maxrss_mb"],
        },
        "queries": {"networkx": {q: summary(memory["results"][q]["ms"]) for q in QUERIES}},
        "query_process": {},
        "ratios": {},
        "same_answers": {},
        "mismatches": {},
        "targets": {},
    }
    for backend, run in asked.items():
        figures = {q: summary(run["results"][q]["ms"]) for q in QUERIES}
        result["queries"][backend] = figures
        result["query_process"][backend] = {
            "open_seconds": run["open_seconds"],
            "rss_after_open_mb": run["rss_after_open_mb"],
            "maxrss_mb": run["maxrss_mb"],
        }
        result["ratios"][backend] = {
            q: figures[q]["p50"] / result["queries"]["networkx"][q]["p50"] for q in QUERIES
        }
        same, examples = {}, {}
        for q in QUERIES:
            ours, theirs = run["results"][q]["answers"], memory["results"][q]["answers"]
            same[q] = ours == theirs
            if not same[q]:
                examples[q] = next([a, b] for a, b in zip(ours, theirs, strict=True) if a != b)
        result["same_answers"][backend] = same
        result["mismatches"][backend] = examples
        total = builds[backend]["total"]
        result["targets"][f"{backend}: graph built in < 5 min"] = total < BUILD_TARGET_SECONDS
        for q, limit in TARGETS_MS.items():
            result["targets"][f"{backend}: {q} p50 <= {limit:.0f} ms"] = figures[q]["p50"] <= limit
    result["answers"] = {q: memory["results"][q]["answers"][:3] for q in QUERIES}
    return result


def _build(r: dict[str, Any]) -> dict[str, Any]:
    keys = ("generate", "write", "total", "batches", "largest_batch_seconds", "analyze", "database_bytes")
    out = {k: r[k] for k in keys}
    out["maxrss_mb"] = r["maxrss_mb"]
    out["wall_seconds"] = r["wall_seconds"]
    return out


def _json(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))


def default_json(scale: float, loader: str = "public") -> Path:
    """Where a run's JSON goes: only a full-scale run through the public write path is *the* result."""
    out = common.BENCH / "out"
    if scale >= 1 and loader == "public":
        return out / "scale.json"
    return out / "quick" / f"scale-{scale:g}{'' if loader == 'public' else '-' + loader}.json"
