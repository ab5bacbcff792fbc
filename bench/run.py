"""Run rmtc's benchmarks and write ``bench/RESULTS.md`` (Markdown) and ``bench/out/NAME.json``.

Usage, from the repository root::

    .venv/bin/python -m bench.run                      # every benchmark (what `make bench` runs)
    .venv/bin/python -m bench.run ingest tracking      # some of them: ingest, tracking, memory, scale, ml
    .venv/bin/python -m bench.run --quick              # a smoke version in under a minute
    .venv/bin/python -m bench.run --render             # rewrite RESULTS.md from bench/out/*.json

A ``--quick`` run writes to ``bench/out/quick/`` (its own ``RESULTS.md`` included), never over the real
figures. Inputs are generated from a fixed seed under ``--workdir`` (default: the system temporary
folder's ``rmtc-bench``) and kept for the next run; stores and copies made during a run are removed.
The peers (DVC, MLflow) are installed on first use into ``bench/.venv-peers`` (see :mod:`bench.peers`).
The exit code is 0 when every benchmark ran, whether or not its targets passed: a missed target is a
finding written in the results, not a crash.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import common, ingest, memory, ml, ml_report, peers, report, scale, tracking

BENCHMARKS: dict[str, Callable[[common.Scratch, bool], dict[str, Any]]] = {
    "ingest": ingest.run,
    "tracking": tracking.run,
    "memory": memory.run,
    "scale": scale.run,
    "ml": ml.run,
}
OUT = common.BENCH / "out"
#: A benchmark's own section of RESULTS.md, between ``<!-- bench.NAME: begin/end -->`` markers.
SECTION = re.compile(r"<!-- bench\.(\w+): begin -->.*?<!-- bench\.\1: end -->\n?", re.DOTALL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description="Run rmtc's benchmarks.")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"{'|'.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="a small smoke version")
    parser.add_argument(
        "--workdir", type=Path, default=common.default_base(), help="where inputs and stores go"
    )
    parser.add_argument("--render", action="store_true", help="only rewrite RESULTS.md from bench/out/*.json")
    args = parser.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(BENCHMARKS)}")
    out = OUT / "quick" if args.quick else OUT
    out.mkdir(parents=True, exist_ok=True)
    results_md = out / "RESULTS.md" if args.quick else common.BENCH / "RESULTS.md"
    if args.render:
        names = []
    if {"ingest", "tracking"} & set(names):
        print("checking the peers' environment (bench/.venv-peers) …", flush=True)
        peers.ensure()
    scratch = common.Scratch(args.workdir)
    try:
        for name in names:
            print(f"running {name}{' (quick)' if args.quick else ''} …", flush=True)
            machine = {**common.machine(), "load_before": round(os.getloadavg()[0], 2)}
            start = time.perf_counter()
            result = BENCHMARKS[name](scratch, args.quick)
            doc = {
                "benchmark": name,
                "quick": args.quick,
                "machine": machine,
                "peers": peers.versions() if name not in ("memory", "ml") else {},
                "elapsed_seconds": time.perf_counter() - start,
                "result": result,
            }
            (out / f"{name}.json").write_text(json.dumps(doc, indent=2))
            for target, passed in result["targets"].items():
                print(f"  {'PASS' if passed else 'FAIL'}  {target}")
            print(f"  ({doc['elapsed_seconds']:.0f} s)", flush=True)
    finally:
        scratch.close()
    previous = results_md.read_text() if results_md.is_file() else ""
    text = report.render(report.load(out), None if args.quick else common.BENCH / "NOTES.md")
    kept = "".join(m.group(0) for m in SECTION.finditer(previous))  # sections other benchmarks own
    results_md.write_text(text + ("\n" + kept if kept else ""))
    if (out / "ml.json").is_file():
        ml_report.write_section(results_md, ml_report.section(json.loads((out / "ml.json").read_text())))
    print(f"results: {results_md.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
