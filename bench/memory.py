"""Memory benchmark: ingest many small files (copy mode) in a fresh process and read its peak RSS.

The peak is the kernel's own accounting of that one process (``ru_maxrss`` from ``wait4``): it covers
the whole life of the process, interpreter and imports included, so it is what a facility's machine
must have free. The RSS right after opening the project is reported beside it, to tell the cost of
rmtc itself from the cost of the ingest.
"""

from __future__ import annotations

from typing import Any

from bench import common, datagen

TARGET_MB = 300


def run(scratch: common.Scratch, quick: bool) -> dict[str, Any]:
    spec = datagen.memory_spec(quick)
    src = datagen.generate(spec, scratch.data)
    common.settle()
    datagen.warm(src)
    project = scratch.fresh("memory") / "project"
    result = common.run_json([common.RMTC_PYTHON, "-m", "bench.rmtc_worker", "ingest", project, src])
    if result["files"] != spec.count or result["failed"]:
        raise RuntimeError(
            f"rmtc ingested {result['files']} of {spec.count} files ({result['failed']} failed)"
        )
    peak = result["maxrss_mb"]
    return {
        "spec": spec.describe(),
        "files": spec.count,
        "bytes": spec.total_bytes,
        "seconds": result["seconds"],
        "files_s": spec.count / result["seconds"],
        "peak_rss_mb": peak,
        "rss_after_open_mb": result["rss_after_open_mb"],
        "target_mb": TARGET_MB,
        "targets": {f"peak RSS < {TARGET_MB} MB": peak < TARGET_MB},
    }
