"""Tracking benchmark: log runs with params and metric series, then search them; rmtc against MLflow.

One workload (fixed seed) is written to a JSON file both sides read, so they log the very same values
and run the very same searches: runs x params (strings, so equality means the same in both) x metrics
x steps, then searches by one param's value AND one metric's latest value below a threshold (rounded
to 4 decimals so both parse the same float). Both sides use SQLite in a fresh file on the same
filesystem; each side times itself in a fresh process. rmtc runs twice: with its defaults (WAL,
``synchronous=NORMAL``: a commit survives a crash of the process, the last ones may not survive a
power loss), which is what the targets compare, and with ``synchronous=FULL``, the durability MLflow
gets from SQLite's defaults (rollback journal, ``FULL``), so the price of equal durability is shown.
The answers of every search are compared with each other and with the answer computed from the
workload itself: a speed-up that returns other runs would count for nothing.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from typing import Any

from bench import common, peers

METRIC_KEYS = ("loss", "val_loss", "psnr", "ssim", "grad_norm")


@dataclass(frozen=True)
class Shape:
    runs: int
    params: int
    metrics: int
    steps: int
    searches: int

    def describe(self) -> str:
        return (
            f"{self.runs} runs x {self.params} params x {self.metrics} metrics x {self.steps} steps "
            f"({self.runs * self.metrics * self.steps:,} points), then {self.searches} searches"
        )


def shape(quick: bool) -> Shape:
    return Shape(10, 20, 5, 20, 5) if quick else Shape(200, 20, 5, 200, 50)


def workload(s: Shape, seed: int = 7) -> dict[str, Any]:
    """The runs (params and metric series) and the searches, as plain JSON data."""
    rng = random.Random(seed)
    keys = list(METRIC_KEYS[: s.metrics])
    domains = {f"p{j:02d}": [f"v{i}" for i in range(2 + j % 5)] for j in range(s.params)}
    runs = []
    for r in range(s.runs):
        params = {k: rng.choice(values) for k, values in domains.items()}
        metrics = {k: _series(rng, k, s.steps) for k in keys}
        runs.append({"name": f"run-{r:04d}", "params": params, "metrics": metrics})
    searches = []
    for _ in range(s.searches):
        pkey = rng.choice(sorted(domains))
        mkey = rng.choice(keys)
        finals = sorted(run["metrics"][mkey][-1] for run in runs)
        threshold = round(finals[int(rng.uniform(0.2, 0.9) * len(finals))] + 1e-5, 4)
        searches.append({"param": [pkey, rng.choice(domains[pkey])], "metric": [mkey, "<", threshold]})
    return {"metric_keys": keys, "steps": s.steps, "runs": runs, "searches": searches, "search_repeats": 3}


def expected(data: dict[str, Any]) -> list[list[str]]:
    """The answer of every search, computed from the workload itself (the latest value of a metric is
    its value at the last step)."""
    ops = {"<": float.__lt__}
    answers = []
    for s in data["searches"]:
        (pkey, pvalue), (mkey, op, threshold) = s["param"], s["metric"]
        answers.append(
            sorted(
                run["name"]
                for run in data["runs"]
                if run["params"][pkey] == pvalue and ops[op](run["metrics"][mkey][-1], threshold)
            )
        )
    return answers


def _series(rng: random.Random, key: str, steps: int) -> list[float]:
    start, rate = rng.uniform(0.5, 2.0), rng.uniform(1.0, 4.0)
    out = []
    for step in range(steps):
        decay = start * math.exp(-rate * step / steps) + rng.gauss(0, 0.01)
        value = {"psnr": 40 - 10 * decay, "ssim": 1 - decay / 4}.get(key, abs(decay) + 0.01)
        out.append(value)
    return out


def run(scratch: common.Scratch, quick: bool) -> dict[str, Any]:
    s = shape(quick)
    path = scratch.work / "workload.json"
    data = workload(s)
    path.write_text(json.dumps(data))
    peer_python = peers.ensure()

    common.settle()
    worker = [common.RMTC_PYTHON, "-m", "bench.rmtc_worker", "tracking"]
    rmtc_side = common.run_json([*worker, scratch.fresh("rmtc-track"), path])
    common.settle()
    rmtc_full = common.run_json([*worker, scratch.fresh("rmtc-track-full"), path, "--synchronous", "FULL"])
    common.settle()
    db = scratch.fresh("mlflow-track") / "mlflow.db"
    mlflow_side = common.run_json([peer_python, common.BENCH / "peers" / "mlflow_tracking.py", db, path])

    truth = expected(data)
    agree = rmtc_side["found"] == rmtc_full["found"] == mlflow_side["found"] == truth
    rows = zip(truth, rmtc_side["found"], mlflow_side["found"], strict=True)
    mismatches = [i for i, (t, a, b) in enumerate(rows) if not t == a == b]
    hits = [len(x) for x in truth]
    log_ratio = mlflow_side["log_seconds"] / rmtc_side["log_seconds"]
    search_ratio = mlflow_side["search_seconds"] / rmtc_side["search_seconds"]
    points = s.runs * s.metrics * s.steps
    return {
        "shape": s.describe(),
        "points": points,
        "mlflow_version": mlflow_side.pop("mlflow"),
        "rmtc": {k: v for k, v in rmtc_side.items() if k != "found"},
        "rmtc_full": {k: v for k, v in rmtc_full.items() if k != "found"},
        "mlflow": {k: v for k, v in mlflow_side.items() if k != "found"},
        "log_ratio_full": mlflow_side["log_seconds"] / rmtc_full["log_seconds"],
        "same_answers": agree,
        "mismatched_searches": mismatches,
        "hits_per_search": {"min": min(hits), "max": max(hits), "total": sum(hits)},
        "log_ratio": log_ratio,
        "search_ratio": search_ratio,
        "targets": {
            "logging >= 10x MLflow": log_ratio >= 10 and agree,
            "searching >= 10x MLflow": search_ratio >= 10 and agree,
        },
    }
