"""What every benchmark shares: the machine it ran on, subprocess measurements, medians, scratch space.

Every contender runs in a process of its own (rmtc in rmtc's environment, the peers in theirs) and
times itself with :func:`time.perf_counter` around exactly the work compared; commands measured from
outside (CLIs) are timed around the whole process. Before each measurement the page cache is flushed
of dirty pages (``sync``) so no contender pays for the previous one's writes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RMTC_PYTHON = Path(sys.executable)
RMTC_CLI = RMTC_PYTHON.parent / "rmtc"
#: Peers must not phone home or look for updates during a measurement.
QUIET_ENV = {"DVC_NO_ANALYTICS": "1", "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}


@dataclass
class Scratch:
    """A benchmark's disk space: ``data`` (generated inputs, kept between runs) and ``work`` (fresh
    stores and copies, removed at the end), both under one folder so they share a filesystem."""

    base: Path
    data: Path = field(init=False)
    work: Path = field(init=False)

    def __post_init__(self) -> None:
        self.data = self.base / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix="work-", dir=self.base))

    def fresh(self, name: str) -> Path:
        """A new, empty folder under ``work``."""
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.work))

    def close(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)

    @property
    def same_filesystem(self) -> bool:
        return os.stat(self.data).st_dev == os.stat(self.work).st_dev


def default_base() -> Path:
    return Path(tempfile.gettempdir()) / "rmtc-bench"


def settle() -> None:
    """Write back every dirty page now, outside any timing."""
    os.sync()


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, **QUIET_ENV, "PYTHONPATH": str(ROOT), **extra}


def run_json(cmd: Sequence[str | os.PathLike[str]], *, cwd: Path | None = None) -> dict[str, Any]:
    """Run a worker that prints one JSON object as its last output line and return that object, with
    the process's wall time (``wall_seconds``) and peak RSS (``maxrss_mb``: the kernel's accounting
    of that one child through ``wait4``, covering its whole life, imports included)."""
    text, wall, maxrss = _run(cmd, cwd)
    lines = [line for line in text.splitlines() if line.strip()]
    result: dict[str, Any] = json.loads(lines[-1])
    result["wall_seconds"] = wall
    result["maxrss_mb"] = maxrss
    return result


def call(cmd: Sequence[str | os.PathLike[str]], *, cwd: Path | None = None) -> None:
    """Run an untimed set-up command; its output is shown if it fails."""
    _run(cmd, cwd)


def run_timed(cmd: Sequence[str | os.PathLike[str]], *, cwd: Path | None = None) -> dict[str, Any]:
    """Run a command and time the whole process, start-up included; with its peak RSS."""
    _, wall, maxrss = _run(cmd, cwd)
    return {"seconds": wall, "maxrss_mb": maxrss}


def _run(cmd: Sequence[str | os.PathLike[str]], cwd: Path | None) -> tuple[str, float, float]:
    """Run to the end; returns (stdout, wall seconds, peak RSS in MB). stderr is kept apart (peers
    log to it) and shown when the command fails."""
    args = [str(c) for c in cmd]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd or ROOT, env=env(), stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errors = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{errors[-4000:]}\n{text[-1000:]}")
    return text, wall, usage.ru_maxrss * 1024 / 1e6


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "rmtc": _rmtc_version(),
        "git_commit": _git_commit(),
    }


def filesystem(path: Path) -> str:
    """The type and device of the filesystem holding ``path`` (from /proc/mounts)."""
    best, kind = "", "?"
    target = str(path.resolve())
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            dev, mount, fstype, *_ = line.split()
            if (target == mount or target.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best):
                best, kind = mount, f"{fstype} ({dev} on {mount})"
    except OSError:
        pass
    return kind


def _rmtc_version() -> str:
    try:
        from importlib.metadata import version

        return version("rmtc")
    except Exception:
        return "?"


def _git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    commit = done.stdout.strip() or "?"
    return f"{commit}{' (dirty)' if dirty.stdout.strip() else ''}"
