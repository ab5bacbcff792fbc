"""The scale benchmark's section of ``bench/RESULTS.md``, rendered from ``bench/out/scale.json``.

The section sits between two markers and is replaced in place, so the sections the other benchmarks
write are never touched; ``bench/scale/FINDINGS.md`` (the hand-written reading of the figures: where
the time goes and what would fix it) is appended to it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.scale.queries import LABELS, QUERIES

BEGIN = "<!-- bench.scale: begin -->"
END = "<!-- bench.scale: end -->"
FINDINGS = Path(__file__).with_name("FINDINGS.md")
COMMAND = (
    "Reproduce: `nice -n 10 .venv/bin/python -m bench.scale` from the repository root (full scale, both "
    "backends and networkx, about {minutes:.0f} minutes here). `--scale 0.01` runs the same at 1/100 and "
    "writes to `bench/out/quick/`, never here; `--render` rewrites this section from `bench/out/scale.json`."
)
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "networkx": "networkx"}


def section(doc: dict[str, Any], findings: Path | None = FINDINGS) -> str:
    r, m = doc["result"], doc["machine"]
    backends = list(r["build"])
    lines = [BEGIN, "## Scale: a facility-sized provenance graph", ""]
    lines += [COMMAND.format(minutes=doc["elapsed_seconds"] / 60), ""]
    lines += [
        f"Measured {m['date']} on {m['cpus']} CPUs ({m['cpu_model']}), {m['ram_gib']} GiB RAM, {m['os']}, "
        f"Python {m['python']}, rmtc {m['rmtc']} at commit {m['git_commit']}; load average "
        f"{m['load_before']} before it started (a shared machine: other engineers' jobs ran meanwhile).",
        "",
        f"Graph (scale {r['scale']:g}, fixed seed, the same for every backend and for networkx): "
        f"{r['shape']}; **{r['graph']['entities']:,} entities and {r['graph']['edges']:,} edges**. Written "
        f"through the public `MetadataStore.write(WriteBatch(...))` in batches of about "
        f"{r['batch_rows']:,} entities plus edges (one transaction and one audit event each).",
        "",
        "### Targets",
        "",
    ]
    rows = []
    for target, passed in r["targets"].items():
        backend, _, what = target.partition(": ")
        rows.append([NAMES[backend], what, _measured(r, backend, what), "PASS" if passed else "**FAIL**"])
    lines += _table(["backend", "target", "measured", ""], rows)
    lines += ["", "### Building the graph", ""]
    rows = []
    rows_total = r["graph"]["entities"] + r["graph"]["edges"]
    for b in backends:
        x = r["build"][b]
        analyze = f"; `VACUUM ANALYZE` {x['analyze']:.0f} s after" if x["analyze"] is not None else ""
        rows.append(
            [
                NAMES[b],
                f"{x['generate']:.0f}",
                f"{x['write']:.0f}",
                f"{x['total']:.0f}{analyze}",
                f"{rows_total / x['write']:,.0f}",
                f"{x['largest_batch_seconds']:.1f}",
                f"{x['database_bytes'] / 1e9:.2f} GB",
                f"{x['maxrss_mb']:,.0f}",
            ]
        )
    nx = r["networkx"]
    rows.append(
        [
            "networkx (in memory)",
            f"{nx['load']['generate']:.0f}",
            f"{nx['load']['total'] - nx['load']['generate']:.0f}",
            f"{nx['load']['total']:.0f}",
            f"{rows_total / (nx['load']['total'] - nx['load']['generate']):,.0f}",
            "",
            "",
            f"{nx['maxrss_mb']:,.0f}",
        ]
    )
    header = ["into", "generate (s)", "write (s)", "total (s)", "rows/s written", "largest batch (s)"]
    lines += _table([*header, "database size", "peak RSS (MB)"], rows)
    lines += [
        "",
        "*generate*: building the entity and edge objects (the benchmark's own cost, interleaved with the "
        "writes); *write*: inside `MetadataStore.write`; *rows/s*: entities plus edges per second of write. "
        "Peak RSS is the kernel's `ru_maxrss` of the whole process (interpreter, generator and imports).",
        "",
        "### Questions",
        "",
    ]
    order = [*backends, "networkx"]
    rows = []
    for q in QUERIES:
        row = [f"{LABELS[q]} (n={r['queries']['networkx'][q]['n']})"]
        for b in order:
            f = r["queries"][b][q]
            row.append(f"{f['p50']:,.1f} / {f['p95']:,.1f} / {f['max']:,.1f}")
        row += [f"{r['ratios'][b][q]:,.1f}x" for b in backends]
        row.append(
            ", ".join(f"{NAMES[b]} {'yes' if r['same_answers'][b][q] else '**NO**'}" for b in backends)
        )
        rows.append(row)
    header = ["question", *(f"{NAMES[b]} p50 / p95 / max (ms)" for b in order)]
    header += [f"{NAMES[b]} p50 / networkx p50" for b in backends] + ["same answers as networkx"]
    lines += _table(header, rows)
    proc = r["query_process"]
    rss = ", ".join(f"{NAMES[b]} {proc[b]['maxrss_mb']:,.0f} MB" for b in backends)
    lines += [
        "",
        "Each question asked once per sample (random samples, seeded; 3 untimed warm-up questions of each "
        "kind first), by id through the public API in one process per backend, right after that backend's "
        "build (its pages in the page cache, as a store in use keeps them). The networkx side answers by "
        "the same rules (material edges, evidence paths, the "
        "rights algebra of `rmtc.core.rights`, the revoker's grouping and plan) over a `DiGraph` holding "
        f"every node's kind and every edge's relation. Peak RSS of the question processes: {rss}; "
        f"networkx {nx['maxrss_mb']:,.0f} MB ({nx['rss_after_load_mb']:,.0f} MB with the graph loaded).",
        "",
    ]
    if findings is not None and findings.is_file():
        lines += [findings.read_text().strip(), ""]
    lines.append(END)
    return "\n".join(lines) + "\n"


def _measured(r: dict[str, Any], backend: str, what: str) -> str:
    if what.startswith("graph built"):
        b = r["build"][backend]
        return f"{b['total']:.0f} s ({b['write']:.0f} s writing)"
    name = what.split()[0]
    return f"{r['queries'][backend][name]['p50']:,.1f} ms ({r['ratios'][backend][name]:,.1f}x networkx)"


def write_section(results: Path, text: str) -> None:
    """Replace the section between the markers (or append it) and leave the rest of the file as is."""
    current = results.read_text() if results.is_file() else ""
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text, current, count=1)
    else:
        updated = current.rstrip("\n") + ("\n\n" if current else "") + text
    results.write_text(updated)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out
