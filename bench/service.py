"""Service load benchmark: 50 concurrent clients on loopback, mixed reads and writes, rmtc's service
against MLflow's tracking server on comparable requests.

Each side is a real server in a child process over a fresh SQLite file (rmtc: ``rmtc serve``'s app
under uvicorn with an admin token; MLflow: ``mlflow server`` from ``bench/.venv-peers``, which needs
``flask`` there besides ``mlflow-skinny``). Both get the same runs (one per client, with the same
params) before the clock starts; then every client loops for the duration over the same mix:

- ``log``: 10 metric points in one request (rmtc ``POST …/runs/{id}/metrics``; MLflow ``log-batch``);
- ``get``: one run (rmtc ``GET …/entities/{id}``; MLflow ``runs/get``);
- ``search``: runs by a param value AND a metric's latest value (rmtc ``runs/find``; MLflow
  ``runs/search`` with the equivalent filter).

Reported: requests, errors (any status >= 400 or transport failure), throughput, and p50/p99 latency
per operation and overall. The load generator is one asyncio process (httpx), so on a small machine
client and server share the cores: compare the two sides with each other, not with other machines.

    python -m bench.service [--clients 50] [--seconds 60] [--only rmtc|mlflow] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from bench import peers

MIX = (("log", 0.4), ("get", 0.3), ("search", 0.3))
POINTS = 10


class Side:
    """One server under test: how to start it, prepare runs, and send each operation."""

    name = ""

    def __init__(self, root: Path):
        self.root = root
        self.url = ""
        self.headers: dict[str, str] = {}
        self.proc: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Rmtc(Side):
    name = "rmtc"

    def start(self) -> None:
        from rmtc.server.settings import ServerSettings
        from rmtc.testing.server import LiveServer, prepare_store

        url = f"sqlite:///{self.root / 'rmtc.db'}"
        prepare_store(url, self.root / "blobs")
        self.live = LiveServer.spawn(
            ServerSettings(store=url, blobs=str(self.root / "blobs")),
            log=self.root / "server.log",
            log_level="warning",
        )
        self.proc = self.live.process
        self.url = self.live.url
        self.headers = {"Authorization": f"Bearer {self.live.admin_token}"}

    def stop(self) -> None:
        self.live.stop()

    async def prepare(self, client: httpx.AsyncClient, n: int) -> list[str]:
        from rmtc.core.clock import SystemClock
        from rmtc.core.entities import Run
        from rmtc.core.ids import new_id
        from rmtc.store.remote import wire
        from rmtc.store.types import WriteBatch

        now = SystemClock().now()
        runs = [
            Run(id=new_id(), name=f"run{i}", created_at=now, created_by="bench", params=_params(i))
            for i in range(n)
        ]
        answer = await client.post("/api/v1/store/write", json=wire.batch(WriteBatch(runs)))
        answer.raise_for_status()
        return [str(r.id) for r in runs]

    async def op(self, client: httpx.AsyncClient, kind: str, run: str, step: int) -> httpx.Response:
        if kind == "log":
            points = [{"key": "loss", "step": step + i, "value": 1.0 / (step + i + 1)} for i in range(POINTS)]
            return await client.post(f"/api/v1/store/runs/{run}/metrics", json={"points": points})
        if kind == "get":
            return await client.get(f"/api/v1/store/entities/{run}")
        query = {"params": {"lr": "0.001"}, "metrics": [["loss", "<", 0.5]]}
        return await client.post("/api/v1/store/runs/find", json={"query": query, "limit": 100})


class Mlflow(Side):
    name = "mlflow"

    def start(self) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        mlflow = peers.VENV / "bin" / "mlflow"
        log = (self.root / "server.log").open("wb")
        self.proc = subprocess.Popen(
            [str(mlflow), "server", "--backend-store-uri", f"sqlite:///{self.root / 'mlflow.db'}",
             "--default-artifact-root", str(self.root / "artifacts"), "--host", "127.0.0.1",
             "--port", str(port), "--workers", "1"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:  # MLflow has no pre-bound socket option: wait until it answers
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server did not start; see {self.root / 'server.log'}")
            time.sleep(0.5)

    async def prepare(self, client: httpx.AsyncClient, n: int) -> list[str]:
        api = "/api/2.0/mlflow"
        answer = await client.post(f"{api}/experiments/create", json={"name": "bench"})
        self.experiment = answer.json()["experiment_id"]
        runs = []
        for i in range(n):
            created = await client.post(f"{api}/runs/create", json={"experiment_id": self.experiment})
            run = created.json()["run"]["info"]["run_id"]
            params = [{"key": k, "value": str(v)} for k, v in _params(i).items()]
            (
                await client.post(f"{api}/runs/log-batch", json={"run_id": run, "params": params})
            ).raise_for_status()
            runs.append(run)
        return runs

    async def op(self, client: httpx.AsyncClient, kind: str, run: str, step: int) -> httpx.Response:
        api = "/api/2.0/mlflow"
        if kind == "log":
            ts = int(time.time() * 1000)
            metrics = [
                {"key": "loss", "value": 1.0 / (step + i + 1), "timestamp": ts, "step": step + i}
                for i in range(POINTS)
            ]
            return await client.post(f"{api}/runs/log-batch", json={"run_id": run, "metrics": metrics})
        if kind == "get":
            return await client.get(f"{api}/runs/get", params={"run_id": run})
        body = {
            "experiment_ids": [self.experiment],
            "filter": "params.lr = '0.001' and metrics.loss < 0.5",
            "max_results": 100,
        }
        return await client.post(f"{api}/runs/search", json=body)


def _params(i: int) -> dict[str, str]:
    return {"lr": "0.001" if i % 2 else "0.01", "arch": "unet", "seed": str(i)}


async def load(side: Side, clients: int, seconds: float) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=side.url, headers=side.headers, limits=limits, timeout=60
    ) as client:
        runs = await side.prepare(client, clients)
        latencies: dict[str, list[float]] = defaultdict(list)
        errors: dict[str, int] = defaultdict(int)
        end = time.perf_counter() + seconds

        async def one(index: int) -> None:
            rng = random.Random(index)
            step = 0
            kinds, weights = zip(*MIX, strict=True)
            while time.perf_counter() < end:
                kind = rng.choices(kinds, weights)[0]
                t0 = time.perf_counter()
                try:
                    answer = await side.op(client, kind, runs[index], step)
                    failed = answer.status_code >= 400
                except httpx.HTTPError:
                    failed = True
                latencies[kind].append(time.perf_counter() - t0)
                errors[kind] += failed
                step += POINTS

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(clients)))
        elapsed = time.perf_counter() - started
    return summarise(latencies, errors, elapsed)


def summarise(latencies: dict[str, list[float]], errors: dict[str, int], elapsed: float) -> dict[str, Any]:
    def stats(values: list[float], errs: int) -> dict[str, Any]:
        ordered = sorted(values)
        return {
            "requests": len(values),
            "errors": errs,
            "per_s": round(len(values) / elapsed, 1),
            "p50_ms": round(statistics.median(ordered) * 1000, 2) if ordered else None,
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2)
            if ordered
            else None,
        }

    out = {kind: stats(values, errors[kind]) for kind, values in latencies.items()}
    out["all"] = stats([v for values in latencies.values() for v in values], sum(errors.values()))
    out["seconds"] = round(elapsed, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.service")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--only", choices=("rmtc", "mlflow"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"clients": args.clients, "seconds": args.seconds, "mix": dict(MIX)}
    for cls in (Rmtc, Mlflow):
        if args.only and cls.name != args.only:
            continue
        with tempfile.TemporaryDirectory(prefix=f"bench-service-{cls.name}-") as tmp:
            side = cls(Path(tmp))
            side.start()
            try:
                results[cls.name] = asyncio.run(load(side, args.clients, args.seconds))
            finally:
                side.stop()
        print(cls.name, json.dumps(results[cls.name]["all"]), flush=True)
    text = json.dumps(results, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
