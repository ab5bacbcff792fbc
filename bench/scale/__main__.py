"""``python -m bench.scale [--scale S] [--backends sqlite,postgresql] [--render]``.

Full scale through the public write path (the default) writes ``bench/out/scale.json`` and the scale
section of ``bench/RESULTS.md`` (only that section); a smaller ``--scale`` or ``--loader bulk`` writes
``bench/out/quick/scale-S[-bulk].json`` and ``.md`` instead.
Inputs and stores go under ``--workdir`` and are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from bench import common
from bench.scale import report, suite


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the facility (default 1)")
    parser.add_argument("--backends", default=",".join(suite.BACKENDS), help="sqlite,postgresql")
    parser.add_argument("--batch", type=int, default=suite.BATCH_ROWS, help="entities + edges per write")
    parser.add_argument(
        "--loader",
        choices=("public", "bulk"),
        default="public",
        help="public: MetadataStore.write (the measurement); bulk: the dialect's bulk append (a yardstick)",
    )
    parser.add_argument("--workdir", type=Path, default=common.default_base(), help="where stores go")
    parser.add_argument("--render", action="store_true", help="only rewrite the section from the JSON")
    args = parser.parse_args(argv)
    backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    unknown = sorted(set(backends) - set(suite.BACKENDS))
    if unknown:
        parser.error(f"unknown backend {', '.join(unknown)}: choose from {', '.join(suite.BACKENDS)}")
    out = suite.default_json(args.scale, args.loader)
    if not args.render:
        out.parent.mkdir(parents=True, exist_ok=True)
        load_before = round(os.getloadavg()[0], 2)
        start = time.perf_counter()
        scratch = common.Scratch(args.workdir)
        try:
            result = suite.measure(
                scratch, args.scale, backends=backends, batch=args.batch, loader=args.loader
            )
        finally:
            scratch.close()
        doc = {
            "benchmark": "scale",
            "quick": out != suite.default_json(1.0),
            "machine": {**common.machine(), "load_before": load_before},
            "elapsed_seconds": time.perf_counter() - start,
            "result": result,
        }
        out.write_text(json.dumps(doc, indent=2))
        for target, passed in result["targets"].items():
            print(f"  {'PASS' if passed else 'FAIL'}  {target}")
    doc = json.loads(out.read_text())
    text = report.section(doc)
    if out == suite.default_json(1.0):
        results = common.BENCH / "RESULTS.md"
        report.write_section(results, text)
    else:
        results = out.with_suffix(".md")
        results.write_text(text)
    print(f"results: {results.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
