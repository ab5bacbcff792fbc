"""Ingest benchmark: rmtc against the limit of the machine (measured in the same run) and DVC.

For each data set (small files, large files) and each repetition, every contender gets a fresh
destination, a flushed page cache of dirty pages (``sync``) and a warm-up read of its input files, then
is timed. The order of the contenders rotates between repetitions; the median is reported. After each
contender the time ``sync`` takes is measured too: it is the write-back a contender left undone (rmtc
and the copy limit make every file durable before they finish, DVC does not).

Contenders: the limit (hash; hash + durable copy), rmtc through the Python API (copy; by reference),
rmtc's CLI (copy, timed around the whole process), ``dvc add`` (CLI, whole process) and DVC in-process
(``Repo.add``). The API rows time the ingest call alone, as the limit is timed: rmtc's project is
opened and its ingest service loaded before the clock starts (both timed apart and reported), and
DVC adds a one-file folder first, untimed. The CLI rows show what a user waits for. DVC needs the
files inside its repository, so each DVC measurement gets its own untimed copy of the folder on the
same filesystem.

No contender's files are deleted right before another contender runs. The store here is ext4 without
a journal, whose inode allocator steps over every inode freed in the last minute (five if its inode
table block is still dirty) before it hands one out: deleting one contender's 5,000 files made the
next one's file creations several times slower (150-450 us each instead of about 15), a cost set
by the order of the contenders and paid twice by a store that also creates a shard folder per new
file. So the outputs of the many-small-files set are kept until the whole benchmark ends (about
12 GB); those of the large set, a few dozen files each, are removed as it goes.

Both sides start from compiled bytecode, as an installed package does: pip compiled DVC's modules when
it installed them, while rmtc is installed editable here (and a shell may set
``PYTHONDONTWRITEBYTECODE``, so Python would compile rmtc's sources again at every start), so rmtc's
package is compiled once, untimed, before the first measurement (:func:`_compile_rmtc`).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import common, datagen, peers

Measure = Callable[[Path], dict[str, Any]]
#: A set of at least this many files keeps every contender's output until the benchmark ends...
KEEP_FROM_FILES = 1000
#: ...as long as this much disk stays free.
KEEP_FREE_BYTES = 8 << 30
CONTENDERS = (
    "limit_hash",
    "limit_copy",
    "rmtc_copy",
    "rmtc_reference",
    "rmtc_cli_copy",
    "dvc_cli",
    "dvc_api",
)
LABELS = {
    "limit_hash": "limit: read + BLAKE3",
    "limit_copy": "limit: read + BLAKE3 + durable write",
    "rmtc_copy": "rmtc API, copy",
    "rmtc_reference": "rmtc API, by reference",
    "rmtc_cli_copy": "rmtc CLI, copy (whole process)",
    "dvc_cli": "`dvc add` (whole process)",
    "dvc_api": "DVC `Repo.add` (in-process)",
}


def run(scratch: common.Scratch, quick: bool) -> dict[str, Any]:
    peer_python = peers.ensure()
    _compile_rmtc()
    #: The large set is cheap to repeat and its targets are ratios to the limit: more repetitions
    #: steady its medians on a shared machine.
    reps = {"small": 1, "large": 1} if quick else {"small": 5, "large": 9}
    sets = {}
    kept: list[Path] = []
    try:
        for spec in datagen.ingest_specs(quick):
            src = datagen.generate(spec, scratch.data)
            sets[spec.name] = _measure_set(scratch, spec, src, reps[spec.name], peer_python, kept)
    finally:
        for dest in kept:
            shutil.rmtree(dest, ignore_errors=True)
    small, large = sets["small"]["median"], sets["large"]["median"]
    ratios = {
        "large_copy_vs_limit": large["rmtc_copy"]["mb_s"] / large["limit_copy"]["mb_s"],
        "large_reference_vs_limit": large["rmtc_reference"]["mb_s"] / large["limit_hash"]["mb_s"],
        "small_dvc_cli_over_rmtc_cli": small["dvc_cli"]["seconds"] / small["rmtc_cli_copy"]["seconds"],
        "small_dvc_api_over_rmtc_api": small["dvc_api"]["seconds"] / small["rmtc_copy"]["seconds"],
        "large_dvc_cli_over_rmtc_cli": large["dvc_cli"]["seconds"] / large["rmtc_cli_copy"]["seconds"],
    }
    from rmtc.services.ingest.service import GROUP_BYTES, GROUP_FILES, SMALL

    return {
        "repetitions": reps,
        "durability": {"small_below": SMALL, "group_files": GROUP_FILES, "group_bytes": GROUP_BYTES},
        "same_filesystem": scratch.same_filesystem,
        "filesystem": common.filesystem(scratch.work),
        "sets": sets,
        "ratios": ratios,
        "targets": {
            "large, copy: rmtc >= 0.8x limit": ratios["large_copy_vs_limit"] >= 0.8,
            "large, by reference: rmtc >= 0.8x limit": ratios["large_reference_vs_limit"] >= 0.8,
            "small: rmtc >= 3x faster than dvc add (CLI vs CLI)": ratios["small_dvc_cli_over_rmtc_cli"] >= 3,
        },
    }


def _compile_rmtc() -> None:
    """Write the bytecode of rmtc's modules (what ``pip install`` does for a package it installs)."""
    import rmtc

    common.call([common.RMTC_PYTHON, "-m", "compileall", "-q", Path(rmtc.__file__).parent])


def _measure_set(
    scratch: common.Scratch,
    spec: datagen.DataSpec,
    src: Path,
    reps: int,
    peer_python: Path,
    kept: list[Path],
) -> dict[str, Any]:
    """Every contender ``reps`` times in rotating order; the outputs of a set of many files go to
    ``kept`` (removed by the caller at the very end: see the module docstring) while the disk has room
    for them, the others are removed at once."""
    template = _dvc_template(scratch)
    keep = spec.count >= KEEP_FROM_FILES
    measures: dict[str, Measure] = {
        "limit_hash": lambda _: _limit(src, "hash"),
        "limit_copy": lambda dest: _limit(src, "copy", dest / "blobs"),
        "rmtc_copy": lambda dest: _rmtc_api(dest, src, by_reference=False),
        "rmtc_reference": lambda dest: _rmtc_api(dest, src, by_reference=True),
        "rmtc_cli_copy": lambda dest: _rmtc_cli(dest, src),
        "dvc_cli": lambda dest: _dvc(
            dest, src, template, lambda repo: common.run_timed([peers.DVC, "add", "data"], cwd=repo)
        ),
        "dvc_api": lambda dest: _dvc(
            dest,
            src,
            template,
            lambda repo: common.run_json(
                [peer_python, common.BENCH / "peers" / "dvc_add.py", repo, "data", "warmup"], cwd=repo
            ),
        ),
    }
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CONTENDERS}
    for rep in range(reps):
        order = CONTENDERS[rep % len(CONTENDERS) :] + CONTENDERS[: rep % len(CONTENDERS)]
        for name in order:
            dest = scratch.fresh(f"{spec.name}-{name}")
            result = measures[name](dest)
            start = time.perf_counter()
            common.settle()
            result["sync_after_seconds"] = time.perf_counter() - start
            runs[name].append(result)
            if keep and shutil.disk_usage(dest).free > KEEP_FREE_BYTES:
                kept.append(dest)
            else:
                shutil.rmtree(dest, ignore_errors=True)
                common.settle()
    median: dict[str, dict[str, Any]] = {}
    for name, results in runs.items():
        seconds = common.median([r["seconds"] for r in results])
        median[name] = {
            "seconds": seconds,
            "mb_s": spec.total_bytes / 1e6 / seconds,
            "files_s": spec.count / seconds,
            "sync_after_seconds": common.median([r["sync_after_seconds"] for r in results]),
            "maxrss_mb": max(r["maxrss_mb"] for r in results),
        }
        for extra in ("open_seconds", "import_seconds"):
            if extra in results[0]:
                median[name][extra] = common.median([r[extra] for r in results])
    _check_complete(spec, runs)
    return {
        "repetitions": reps,
        "spec": spec.describe(),
        "files": spec.count,
        "bytes": spec.total_bytes,
        "median": median,
        "runs": runs,
    }


def _limit(src: Path, mode: str, *dest: Path) -> dict[str, Any]:
    datagen.warm(src)
    return common.run_json([common.RMTC_PYTHON, "-m", "bench.limits", mode, src, *dest])


def _rmtc_api(dest: Path, src: Path, *, by_reference: bool) -> dict[str, Any]:
    datagen.warm(src)
    flags = ["--by-reference"] if by_reference else []
    return common.run_json(
        [common.RMTC_PYTHON, "-m", "bench.rmtc_worker", "ingest", dest / "project", src, *flags]
    )


def _rmtc_cli(dest: Path, src: Path) -> dict[str, Any]:
    project = dest / "project"
    common.call([common.RMTC_CLI, "init", project])
    common.settle()
    datagen.warm(src)
    return common.run_timed([common.RMTC_CLI, "--store", project, "ingest", src, "--no-progress"])


def _dvc_template(scratch: common.Scratch) -> Path:
    """One repository made by ``dvc init --no-scm``, copied for every DVC measurement (the same files a
    fresh ``dvc init`` writes, without paying DVC's start-up for each)."""
    template = scratch.work / "dvc-template"
    if not (template / ".dvc").is_dir():
        template.mkdir(exist_ok=True)
        common.call([peers.DVC, "init", "--no-scm", "-q"], cwd=template)
    return template


def _dvc(dest: Path, src: Path, template: Path, measure: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    repo = dest / "repo"
    shutil.copytree(template, repo)
    shutil.copytree(src, repo / "data")
    (repo / "warmup").mkdir()
    (repo / "warmup" / "one.bin").write_bytes(b"warm-up")
    common.settle()
    datagen.warm(repo / "data")
    return measure(repo)


def _check_complete(spec: datagen.DataSpec, runs: dict[str, list[dict[str, Any]]]) -> None:
    """A contender that skipped files would look fast: refuse such a result."""
    for name in ("limit_hash", "limit_copy", "rmtc_copy", "rmtc_reference"):
        for r in runs[name]:
            if r["files"] != spec.count or r.get("failed", 0):
                raise RuntimeError(
                    f"{name} handled {r['files']} of {spec.count} files ({r.get('failed')} failed)"
                )
