"""One step of the scale benchmark in a fresh process; prints one JSON object as its last line.

``build URL --scale S --batch N --samples FILE [--loader public|bulk]``: generate the graph and write
it into the store at ``URL`` (created) through ``MetadataStore.write`` (or, as a yardstick, the
dialect's bulk append: :mod:`bench.scale.bulk`), then write the questions to ask to ``FILE``.
``query URL --samples FILE --blobs DIR [--profile Q]``: open the store as a tracker and time every
question (or cProfile one of them). ``networkx --scale S --samples FILE``: generate the same graph into
networkx and time the same questions there. Each process's peak RSS is measured by the parent
(:func:`bench.common.run_json`), so each figure is the whole cost of that one step.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench.scale import queries
from bench.scale.graph import TODAY, Facility, Shape


def _open_store(url: str, *, create: bool) -> Any:
    from rmtc.plugins.registry import Registry

    scheme = url.split("://", 1)[0].split("+", 1)[0] if "://" in url else "sqlite"
    return Registry("rmtc.stores").get(scheme)(url, create=create)


def build(
    url: str, scale: float, batch: int, samples: Path, counts: dict[str, int], loader: str
) -> dict[str, Any]:
    from bench.scale.bulk import load_bulk
    from bench.scale.load import load_store

    store = _open_store(url, create=True)
    try:
        facility = Facility(Shape.at(scale))
        stats = (load_store if loader == "public" else load_bulk)(store, facility, batch)
        stats["analyze"] = _analyze(store)
        stats["database_bytes"] = _size(store)
    finally:
        store.close()
    samples.write_text(json.dumps(queries.draw(facility.built, counts)))
    return stats


def _analyze(store: Any) -> float | None:
    """PostgreSQL: ``VACUUM ANALYZE`` after the bulk load (what autovacuum does within a minute of so
    many inserts anyway), so the planner sees the real table sizes and the visibility map lets walks
    answer from the covering edge indexes alone; timed apart. SQLite: nothing (rmtc never runs
    ``ANALYZE``)."""
    engine = store.database.engine
    if engine.dialect.name != "postgresql":
        return None
    start = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    return time.perf_counter() - start


def _size(store: Any) -> int:
    engine = store.database.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one())
    path = Path(engine.url.database or "")
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def query(
    url: str, samples: Path, blobs: Path, profile: str | None, profile_out: Path | None
) -> dict[str, Any]:
    import rmtc
    from rmtc.core.clock import ManualClock

    asked = json.loads(samples.read_text())
    start = time.perf_counter()
    clock = ManualClock(datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC))
    with rmtc.open(url, blobs=str(blobs), create=True, clock=clock, user="bench") as t:
        opened = time.perf_counter() - start
        askers = queries.rmtc_askers(t)
        if profile is not None:
            return _profile(askers, asked, profile, profile_out)
        rss_open = psutil.Process().memory_info().rss
        results = queries.measure(askers, asked)
    return {"open_seconds": opened, "rss_after_open_mb": rss_open / 1e6, "results": results}


def _profile(askers: dict[str, Any], asked: dict[str, Any], name: str, out: Path | None) -> dict[str, Any]:
    """cProfile one question over its samples (after the warm-up), for the findings."""
    ask, items = askers[name], asked[name]
    for sample in items[:3]:
        ask(sample)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for sample in items:
        ask(sample)
    profiler.disable()
    seconds = time.perf_counter() - start
    if out is not None:
        profiler.dump_stats(str(out))
    return {"profiled": name, "samples": len(items), "seconds": seconds}


def networkx(scale: float, samples: Path) -> dict[str, Any]:
    from bench.scale.inmemory import InMemory
    from bench.scale.load import load_networkx

    facility = Facility(Shape.at(scale))
    graph, stats = load_networkx(facility)
    asked = json.loads(samples.read_text())
    missing = [s for s in asked["trace"] if _uuid(s) not in graph]
    if missing:
        raise RuntimeError(
            f"{len(missing)} sampled inferences are not in the generated graph: not the same graph"
        )
    rss_loaded = psutil.Process().memory_info().rss
    memory = InMemory(graph, facility.built.licenses, ("face-swap", "de-age", "upscale"))
    results = queries.measure(queries.memory_askers(memory), asked)
    return {"load": stats, "rss_after_load_mb": rss_loaded / 1e6, "results": results}


def _uuid(text: str) -> Any:
    import uuid

    return uuid.UUID(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale.worker")
    sub = parser.add_subparsers(dest="step", required=True)
    b = sub.add_parser("build")
    b.add_argument("url")
    b.add_argument("--scale", type=float, required=True)
    b.add_argument("--batch", type=int, required=True)
    b.add_argument("--samples", type=Path, required=True)
    b.add_argument("--counts", type=json.loads, required=True)
    b.add_argument("--loader", choices=("public", "bulk"), default="public")
    q = sub.add_parser("query")
    q.add_argument("url")
    q.add_argument("--samples", type=Path, required=True)
    q.add_argument("--blobs", type=Path, required=True)
    q.add_argument("--profile", choices=queries.QUERIES)
    q.add_argument("--profile-out", type=Path)
    n = sub.add_parser("networkx")
    n.add_argument("--scale", type=float, required=True)
    n.add_argument("--samples", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.step == "build":
        result = build(args.url, args.scale, args.batch, args.samples, args.counts, args.loader)
    elif args.step == "query":
        result = query(args.url, args.samples, args.blobs, args.profile, args.profile_out)
    else:
        result = networkx(args.scale, args.samples)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
