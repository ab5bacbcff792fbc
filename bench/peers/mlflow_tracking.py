"""MLflow's side of the tracking benchmark, on its SQLite backend, through its fastest fair API.

Run with the peers' interpreter: ``bench/.venv-peers/bin/python bench/peers/mlflow_tracking.py DB
WORKLOAD``. Creating the database (MLflow runs its migrations) and the experiment is not timed. Logging
is timed per run as: ``create_run``; ``log_batch`` with the params and then every metric point of the
run (MLflow caps one batch at 1,000 entities, so a run of 1,000 points takes two calls); and
``set_terminated``. Searching is timed (the median of a few passes) around ``search_runs`` with a
filter string such as ``params.p03 = 'v1' and metrics.loss < 0.42`` (``metrics.X`` is the latest
value, as in rmtc).
Prints one JSON object.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import mlflow
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

#: MLflow's limits for one log_batch call (mlflow.utils.validation).
MAX_ENTITIES = 1000


def main() -> None:
    db, workload_path = Path(sys.argv[1]), Path(sys.argv[2])
    workload = json.loads(workload_path.read_text())
    keys, steps = workload["metric_keys"], workload["steps"]
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    client = MlflowClient()
    experiment = client.create_experiment("bench")

    start = time.perf_counter()
    for spec in workload["runs"]:
        run_id = client.create_run(experiment, run_name=spec["name"]).info.run_id
        params = [Param(k, v) for k, v in spec["params"].items()]
        series = spec["metrics"]
        metrics = []
        for step in range(steps):
            now = int(time.time() * 1000)
            metrics += [Metric(k, series[k][step], now, step) for k in keys]
        first = MAX_ENTITIES - len(params)
        client.log_batch(run_id, metrics=metrics[:first], params=params)
        for i in range(first, len(metrics), MAX_ENTITIES):
            client.log_batch(run_id, metrics=metrics[i : i + MAX_ENTITIES])
        client.set_terminated(run_id)
    log_seconds = time.perf_counter() - start

    passes: list[float] = []
    for _ in range(workload["search_repeats"]):
        found: list[list[str]] = []
        start = time.perf_counter()
        for s in workload["searches"]:
            (pkey, pvalue), (mkey, op, threshold) = s["param"], s["metric"]
            runs = client.search_runs(
                [experiment],
                filter_string=f"params.{pkey} = '{pvalue}' and metrics.{mkey} {op} {threshold!r}",
                max_results=1000,
            )
            found.append([r.info.run_name for r in runs])
        passes.append(time.perf_counter() - start)
    print(
        json.dumps(
            {
                "log_seconds": log_seconds,
                "search_seconds": statistics.median(passes),
                "search_passes": passes,
                "found": [sorted(names) for names in found],
                "mlflow": mlflow.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
