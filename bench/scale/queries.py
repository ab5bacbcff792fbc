"""The four questions, the samples they are asked about, and their timing.

Samples are drawn from the generated graph with their own seeded generator, so every backend and the
in-memory graph are asked the very same questions. Each answer is reduced to a small JSON value that
both sides compute (see :mod:`bench.scale.inmemory`), and the answers are compared: a fast answer that
differs would count for nothing.

rmtc is asked through the public API, by id, as a CLI command or the service would ask it:
``tracker.rights.contains(model_version, talent)``, ``tracker.lineage.trace(inference, direction="up")``
(and the store's walk alone, ``tracker.store.walk([inference], "up")``, to tell the walk from the loading
of the entities it reaches), ``tracker.revoker.revoke(talent, dry_run=True)`` and
``tracker.rights.effective(model_version)``.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench.scale.graph import TODAY, Built
from rmtc.api.tracker import Tracker
from rmtc.core.ids import EntityId, parse_id
from rmtc.core.rights import Context

QUERIES = ("contains", "trace", "walk", "revoke", "rights")
#: What each target holds the p50 of, in milliseconds (issue 3, "Scale").
TARGETS_MS = {"contains": 20.0, "trace": 50.0, "revoke": 500.0, "rights": 50.0}
LABELS = {
    "contains": "`contains(model_version, talent)`",
    "trace": "upstream trace of one inference (`lineage.trace`)",
    "walk": "upstream walk of one inference (`store.walk` alone)",
    "revoke": "revoke impact of one talent (`revoke(dry_run=True)`)",
    "rights": "effective rights of one model version",
}


def draw(built: Built, counts: dict[str, int], seed: int = 7) -> dict[str, list[Any]]:
    """The questions, as id strings: ``contains`` pairs a random model version with a talent of its
    own show half the time (a likely yes) and any talent otherwise."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(counts["contains"]):
        mv = rng.choice(built.model_versions)
        show = built.model_version_show[mv]
        own = [t for t in built.talents if built.talent_show[t] == show]
        talent = rng.choice(own if own and rng.random() < 0.5 else built.talents)
        pairs.append([str(mv), str(talent)])

    def some(ids: list[EntityId], n: int) -> list[str]:
        return [str(i) for i in rng.sample(ids, min(n, len(ids)))]

    inferences = some(built.inferences, counts["trace"])
    return {
        "contains": pairs,
        "trace": inferences,
        "walk": inferences,
        "revoke": some(built.talents, counts["revoke"]),
        "rights": some(built.model_versions, counts["rights"]),
    }


def context() -> Context:
    return Context(TODAY)


def rmtc_askers(t: Tracker) -> dict[str, Callable[[Any], Any]]:
    """One function per question, taking a sample and returning its comparable answer."""

    def contains(sample: list[str]) -> Any:
        found = t.rights.contains(parse_id(sample[0]), parse_id(sample[1]))
        return [found.contains, found.sources]

    def trace(sample: str) -> Any:
        return len(t.lineage.trace(parse_id(sample), direction="up").nodes) - 1

    def walk(sample: str) -> Any:
        return len(t.store.walk([parse_id(sample)], "up", project=t.project))

    def revoke(sample: str) -> Any:
        impact = t.revoker.revoke(parse_id(sample), dry_run=True)
        plan = impact.plan
        return {
            "groups": {g: len(es) for g, es in sorted(impact.downstream.items())},
            "plan": [
                len(plan["datasets"]),
                len(plan["runs"]),
                sum(len(r["inputs"]) for r in plan["runs"]),
                len(plan["block"]),
            ],
        }

    def rights(sample: str) -> Any:
        report = t.rights.effective(parse_id(sample))
        return [report.held, sum(len(ws) for ws in report.withheld.values())]

    return {"contains": contains, "trace": trace, "walk": walk, "revoke": revoke, "rights": rights}


def memory_askers(m: Any) -> dict[str, Callable[[Any], Any]]:
    ctx = context()
    return {
        "contains": lambda s: m.contains(EntityId(parse_id(s[0])), EntityId(parse_id(s[1]))),
        "trace": lambda s: m.trace(parse_id(s)),
        "walk": lambda s: m.trace(parse_id(s)),
        "revoke": lambda s: m.revoke(parse_id(s)),
        "rights": lambda s: m.effective(parse_id(s), ctx),
    }


def measure(
    askers: dict[str, Callable[[Any], Any]], samples: dict[str, list[Any]], warmup: int = 3
) -> dict[str, Any]:
    """Ask every sample once (after ``warmup`` untimed questions of each kind); the times in ms and
    the answers, in sample order."""
    out: dict[str, Any] = {}
    for name in QUERIES:
        ask, items = askers[name], samples[name]
        for sample in items[:warmup]:
            ask(sample)
        times, answers = [], []
        for sample in items:
            start = time.perf_counter()
            answer = ask(sample)
            times.append((time.perf_counter() - start) * 1000)
            answers.append(answer)
        out[name] = {"ms": times, "answers": answers}
    return out


def summary(times: Sequence[float]) -> dict[str, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": statistics.median(ordered), "p95": p95, "max": ordered[-1], "n": len(ordered)}
