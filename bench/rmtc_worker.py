"""rmtc's side of each benchmark, run in a fresh process of rmtc's environment.

``ingest PROJECT SRC [--by-reference]``: create the project (untimed), then time
``tracker.ingestor.ingest([SRC])`` through the public API. ``tracking PROJECT WORKLOAD``: time logging
every run of the workload, then time its searches. Each prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path
from typing import Any

import psutil

import rmtc


def ingest(project: Path, src: Path, by_reference: bool) -> dict[str, Any]:
    """Time the ingest call alone, as the limit is timed: opening the project and loading the ingest
    service are done first and timed apart (``open_seconds``, ``import_seconds``). Nothing else is
    preloaded: the media probe (numpy, OpenImageIO) is imported by rmtc only for batches holding images,
    and these inputs hold none."""
    start = time.perf_counter()
    with rmtc.open(project, create=True) as t:
        opened = time.perf_counter()
        _ = t.ingestor
        imported = time.perf_counter()
        rss_open = psutil.Process().memory_info().rss
        report = t.ingestor.ingest([src], by_reference=by_reference)
        seconds = time.perf_counter() - imported
    return {
        "seconds": seconds,
        "open_seconds": opened - start,
        "import_seconds": imported - opened,
        "files": len(report.files),
        "created": report.created,
        "failed": len(report.failed),
        "bytes": report.bytes,
        "rss_after_open_mb": rss_open / 1e6,
        "self_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6,
    }


def tracking(project: Path, workload_path: Path, synchronous: str | None) -> dict[str, Any]:
    """Log the workload, then search it. ``synchronous`` opens the SQLite store with another
    ``PRAGMA synchronous`` (through the store registry an embedding application may pass), to compare
    at MLflow's durability (SQLite's default, FULL, with a rollback journal)."""
    workload = json.loads(workload_path.read_text())
    keys = workload["metric_keys"]
    steps = workload["steps"]
    stores = None
    if synchronous is not None:
        from rmtc.plugins.registry import Registry
        from rmtc.store.sql.factory import open_sqlite

        def sqlite_store(url: str, *, create: bool = False) -> Any:
            return open_sqlite(url, create=create, synchronous=synchronous)

        stores = Registry("rmtc.stores", {"sqlite": sqlite_store})
    with rmtc.open(project, create=True, stores=stores) as t:
        start = time.perf_counter()
        for spec in workload["runs"]:
            series = spec["metrics"]
            with t.runs.start(spec["name"], params=spec["params"]) as run:
                for step in range(steps):
                    run.log_metrics({k: series[k][step] for k in keys}, step=step)
        log_seconds = time.perf_counter() - start
        passes: list[float] = []
        for _ in range(workload["search_repeats"]):
            found: list[list[str]] = []
            start = time.perf_counter()
            for s in workload["searches"]:
                (pkey, pvalue), (mkey, op, threshold) = s["param"], s["metric"]
                runs = t.runs.search(params={pkey: pvalue}, metrics=[(mkey, op, threshold)], limit=1000)
                found.append([r.name for r in runs])
            passes.append(time.perf_counter() - start)
    return {
        "log_seconds": log_seconds,
        "search_seconds": statistics.median(passes),
        "search_passes": passes,
        "found": [sorted(names) for names in found],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("ingest")
    p.add_argument("project", type=Path)
    p.add_argument("src", type=Path)
    p.add_argument("--by-reference", action="store_true")
    p = sub.add_parser("tracking")
    p.add_argument("project", type=Path)
    p.add_argument("workload", type=Path)
    p.add_argument("--synchronous", choices=["OFF", "NORMAL", "FULL", "EXTRA"])
    args = parser.parse_args()
    if args.cmd == "ingest":
        result = ingest(args.project, args.src, args.by_reference)
    else:
        result = tracking(args.project, args.workload, args.synchronous)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
