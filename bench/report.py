"""Turn the JSON results of the benchmarks into ``RESULTS.md``: absolute figures, the ratios computed
within one run, each target and whether it passed, and the machine each benchmark ran on.

Each benchmark's JSON (``bench/out/NAME.json``) carries its own machine and date, so running one
benchmark again refreshes its section and keeps the others. ``bench/NOTES.md``, the hand-written
reading of the figures, is appended when present.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bench.ingest import LABELS

COMMAND = (
    "Reproduce: `make bench` (which runs `.venv/bin/python -m bench.run` from the repository root), or one "
    "benchmark with `.venv/bin/python -m bench.run ingest|tracking|memory`. `--quick` runs a small smoke "
    "version whose results go to `bench/out/quick/` and never here."
)
ORDER = ("ingest", "tracking", "memory")
#: Contenders that only hash (compared with the hash limit); every other one copies the bytes.
HASH_ONLY = frozenset({"limit_hash", "rmtc_reference"})


def load(out: Path) -> dict[str, dict[str, Any]]:
    return {
        name: json.loads((out / f"{name}.json").read_text())
        for name in ORDER
        if (out / f"{name}.json").is_file()
    }


def render(results: dict[str, dict[str, Any]], notes: Path | None = None) -> str:
    lines = ["# rmtc benchmarks", "", COMMAND, ""]
    if any(doc.get("quick") for doc in results.values()):
        lines += ["**Smoke run (`--quick`)**: the inputs are too small for the targets to mean anything.", ""]
    lines += _summary(results)
    for name in ORDER:
        if name in results:
            lines += {"ingest": _ingest, "tracking": _tracking, "memory": _memory}[name](results[name])
    if notes is not None and notes.is_file():
        lines += ["", notes.read_text().strip(), ""]
    return "\n".join(lines).rstrip() + "\n"


def _summary(results: dict[str, dict[str, Any]]) -> list[str]:
    rows = []
    for name in ORDER:
        if name not in results:
            continue
        r = results[name]
        for target, passed in r["result"]["targets"].items():
            rows.append(
                [name, target, _measured(name, target, r["result"]), "PASS" if passed else "**FAIL**"]
            )
    return ["## Targets", "", *_table(["benchmark", "target", "measured", ""], rows), ""]


def _measured(name: str, target: str, r: dict[str, Any]) -> str:
    if name == "ingest":
        ratios = r["ratios"]
        if "copy" in target and "large" in target:
            return f"{ratios['large_copy_vs_limit']:.2f}x the limit"
        if "reference" in target:
            return f"{ratios['large_reference_vs_limit']:.2f}x the limit"
        return f"{ratios['small_dvc_cli_over_rmtc_cli']:.2f}x faster than DVC"
    if name == "tracking":
        ratio = r["log_ratio"] if target.startswith("logging") else r["search_ratio"]
        same = "" if r["same_answers"] else " (answers differ!)"
        return f"{ratio:.1f}x faster than MLflow{same}"
    return f"{r['peak_rss_mb']:.0f} MB peak"


def _machine(m: dict[str, Any], extra: Iterable[str] = ()) -> list[str]:
    return [
        f"Started {m['date']} on {m['cpus']} CPUs ({m['cpu_model']}), {m['ram_gib']} GiB RAM, "
        f"{m['os']}, Python {m['python']}, rmtc {m['rmtc']} at commit {m['git_commit']}"
        + (
            f"; 1-minute load average {m['load_before']} just before it started."
            if "load_before" in m
            else "."
        )
        + "".join(f" {e}" for e in extra),
        "",
    ]


def _ingest(doc: dict[str, Any]) -> list[str]:
    r = doc["result"]
    peers = doc.get("peers", {})
    durability = r.get("durability", {"small_below": 4 << 20, "group": 256})
    small = durability["small_below"]
    if "group_files" in durability:
        group = (
            f"(in windows of the input of at most {durability['group_files']:,} files and "
            f"{durability['group_bytes'] // 2**20} MiB of them: twice per window, bytes then names); the "
            "copy limit syncs once per window (it writes under final names from the start, so it has no "
            "names to flush apart)"
        )
    else:  # results written before ingest grouped its input in windows
        group = (
            f"({durability['group']} at a time, twice: bytes, then names); the copy limit does the same "
            f"(one `syncfs` per {durability['group']})"
        )
    lines = ["## Ingest", ""]
    lines += _machine(
        doc["machine"],
        [f"Filesystem: {r['filesystem']}; inputs and stores on the same one: {r['same_filesystem']}."],
    )
    lines += [
        f"Median of {_reps(r['repetitions'])}; MB = 10^6 bytes. Every contender starts from a warm page "
        "cache (a warm-up read of its input files right before it) with no dirty pages (`sync` before). "
        "*sync after* is how long a `sync` right after the contender took: write-back it left undone. "
        f"DVC {peers.get('dvc', '?')} hashes with MD5 and copies into its cache without any fsync (reflink "
        "is not available here). rmtc makes every blob durable before recording it: a file of "
        f"{small // 2**20} MiB or more is fsynced with its folder, smaller files are flushed together by "
        f"`syncfs` {group}. The CLI rows "
        "include process start-up; the API rows time the ingest call alone (rmtc's project opened and "
        "its ingest service loaded beforehand, timed apart below; DVC's first-call imports loaded by "
        "adding a one-file folder first). Other engineers' jobs share this 2-core machine and its disk, "
        "so single figures vary; the medians are what the ratios use.",
        "",
    ]
    for name, data in r["sets"].items():
        med = data["median"]
        rows = []
        for key, label in LABELS.items():
            m = med[key]
            base = med["limit_hash" if key in HASH_ONLY else "limit_copy"]
            rows.append(
                [
                    label,
                    f"{m['seconds']:.2f}",
                    f"{m['mb_s']:,.0f}",
                    f"{m['files_s']:,.0f}",
                    f"{m['mb_s'] / base['mb_s']:.2f}x",
                    f"{m['sync_after_seconds']:.2f}",
                    f"{m['maxrss_mb']:.0f}",
                ]
            )
        lines += [f"### {name}: {data['spec']} ({data['bytes'] / 1e6:,.0f} MB)", ""]
        lines += _table(
            ["contender", "seconds", "MB/s", "files/s", "vs its limit", "sync after (s)", "peak RSS (MB)"],
            rows,
        )
        api = med["rmtc_copy"]
        lines += [
            "",
            f"Not in the rmtc API rows: opening (creating) the project {api.get('open_seconds', 0):.2f} s; "
            f"loading the ingest service {api.get('import_seconds', 0):.2f} s.",
            "",
        ]
    ratios = r["ratios"]
    lines += [
        "Ratios (same run): large files, rmtc copy / limit copy "
        f"**{ratios['large_copy_vs_limit']:.2f}x**, rmtc by reference / limit hash "
        f"**{ratios['large_reference_vs_limit']:.2f}x**; small files, `dvc add` time / `rmtc ingest` time "
        f"(CLI, whole process) **{ratios['small_dvc_cli_over_rmtc_cli']:.2f}x**, DVC `Repo.add` / rmtc API "
        f"**{ratios['small_dvc_api_over_rmtc_api']:.2f}x**; large files, CLI vs CLI "
        f"{ratios['large_dvc_cli_over_rmtc_cli']:.2f}x. The *vs its limit* column compares the by-reference "
        "row with the hash limit and every row that copies (DVC included) with the copy limit.",
        "",
    ]
    return lines


def _reps(reps: int | dict[str, int]) -> str:
    if isinstance(reps, int):
        return f"{reps} repetitions"
    return ", ".join(f"{n} repetitions ({name} files)" for name, n in reps.items())


def _tracking(doc: dict[str, Any]) -> list[str]:
    r = doc["result"]
    lines = ["## Tracking", ""]
    lines += _machine(doc["machine"])
    rm, full, ml = r["rmtc"], r["rmtc_full"], r["mlflow"]
    hits = r["hits_per_search"]
    lines += [
        f"{r['shape']}. rmtc on its default SQLite project (`runs.start(name, params=…)`, "
        "`log_metrics` per step, finish; `runs.search(params=…, metrics=[(key, '<', x)])`) against "
        f"MLflow {r['mlflow_version']} (mlflow-skinny) on SQLite (`MlflowClient.create_run`, "
        "`log_batch` with all of a run's params and metrics in as few calls as its 1,000-entity cap allows, "
        "`set_terminated`; `search_runs` with `params.pNN = 'v' and metrics.KEY < x`). Each side in a fresh "
        "process and a fresh database; opening/creating the database is not timed. Searching: median of "
        f"{len(rm['search_passes'])} passes over all searches.",
        "",
        "Durability is not the same by default: rmtc's SQLite runs in WAL mode with `synchronous=NORMAL` (a "
        "commit survives a crash of the process; the last commits may be lost on power loss, the database "
        "is never corrupted), MLflow sets no pragma and gets SQLite's rollback journal with "
        "`synchronous=FULL` (every commit fsynced). The targets compare the defaults; the row *rmtc, FULL* "
        "runs rmtc with `synchronous=FULL` (through the store registry `rmtc.open(stores=…)` accepts) to "
        "show the price of equal durability. Run environment capture (library versions, git state) is "
        "rmtc's default for `runs.start` and is included.",
        "",
        f"Same answers: **{r['same_answers']}** (every search's runs compared between rmtc, MLflow and the "
        f"answer computed from the workload itself; {hits['min']}-{hits['max']} runs per search, "
        f"{hits['total']} in all).",
        "",
    ]
    rows = [
        [
            "log all runs",
            f"{rm['log_seconds']:.2f}",
            f"{ml['log_seconds']:.2f}",
            f"{r['points'] / rm['log_seconds']:,.0f} / {r['points'] / ml['log_seconds']:,.0f}",
            f"{r['log_ratio']:.1f}x",
        ],
        [
            "log all runs (rmtc, FULL)",
            f"{full['log_seconds']:.2f}",
            f"{ml['log_seconds']:.2f}",
            f"{r['points'] / full['log_seconds']:,.0f} / {r['points'] / ml['log_seconds']:,.0f}",
            f"{r['log_ratio_full']:.1f}x",
        ],
        [
            "all searches",
            f"{rm['search_seconds']:.3f}",
            f"{ml['search_seconds']:.3f}",
            "",
            f"{r['search_ratio']:.1f}x",
        ],
    ]
    lines += _table(["phase", "rmtc (s)", "MLflow (s)", "points/s (rmtc / MLflow)", "rmtc speed-up"], rows)
    lines += [
        "",
        f"Peak RSS: rmtc {rm['maxrss_mb']:.0f} MB, MLflow {ml['maxrss_mb']:.0f} MB (whole processes).",
        "",
    ]
    return lines


def _memory(doc: dict[str, Any]) -> list[str]:
    r = doc["result"]
    lines = ["## Memory", ""]
    lines += _machine(doc["machine"])
    lines += [
        f"`ingest` (copy mode, public API) of {r['spec']} ({r['bytes'] / 1e6:,.0f} MB) into a fresh project, "
        "in a process of its own; peak RSS is the kernel's `ru_maxrss` of that process (whole life, "
        "interpreter and imports included). *RSS before the ingest*: the same process with the project "
        "open and the modules an ingest imports loaded.",
        "",
    ]
    rows = [
        [
            f"{r['seconds']:.1f}",
            f"{r['files_s']:,.0f}",
            f"{r['rss_after_open_mb']:.0f}",
            f"{r['peak_rss_mb']:.0f}",
            f"< {r['target_mb']}",
            "PASS" if all(r["targets"].values()) else "**FAIL**",
        ]
    ]
    lines += _table(
        ["seconds", "files/s", "RSS before the ingest (MB)", "peak RSS (MB)", "target (MB)", ""], rows
    )
    lines += [""]
    return lines


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out
