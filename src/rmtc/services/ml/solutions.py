"""Solutions: the problems models are trained to solve, and the best published answer to each.

A :class:`~rmtc.core.entities.Solution` names a problem ("beauty cleanup, show X"): the channels that go
in and out, and the rights the work needs, which training for it must hold on its data besides
``training``. Runs belong to a solution (``run part_of solution``). A DCC asks a solution for its best
published model: among the model versions published from weights its runs made, the one whose run
scored best on a metric, skipping versions that are blocked, that lack a variant the DCC can load, or
whose rights do not allow inference (and what the solution needs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import ModelVersion, Run, Solution, Weights
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import Conflict, InvalidInput
from rmtc.services.ml.models import blocked_reason

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker

#: The variants each DCC can load, in order of preference.
DCC_FORMATS: dict[str, tuple[str, ...]] = {
    "nuke": ("cat", "torchscript"),
    "cli": ("safetensors", "torchscript"),
    "onnx": ("onnx",),
}
#: Metrics where higher is better (anything else is a loss: lower is better).
_HIGHER_IS_BETTER = ("psnr", "ssim", "iou", "acc", "f1", "score", "dice")


def higher_is_better(metric: str) -> bool:
    return any(word in metric.lower() for word in _HIGHER_IS_BETTER)


@dataclass(frozen=True, slots=True)
class Candidate:
    model_version: ModelVersion
    run: Run
    value: float


@dataclass
class Best:
    """The best candidate (``None`` when none qualifies) and every candidate, ranked, with the reason
    each one left out was skipped."""

    solution: Solution
    metric: str
    order: str
    best: Candidate | None
    ranked: list[Candidate] = field(default_factory=list)
    skipped: list[tuple[ModelVersion, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        def cand(c: Candidate) -> dict[str, Any]:
            return {
                "model_version": {"id": str(c.model_version.id), "label": c.model_version.label},
                "run": {"id": str(c.run.id), "label": c.run.label},
                "value": c.value,
            }

        return {
            "solution": {"id": str(self.solution.id), "label": self.solution.label},
            "metric": self.metric,
            "order": self.order,
            "best": cand(self.best) if self.best else None,
            "ranked": [cand(c) for c in self.ranked],
            "skipped": [{"model_version": mv.label, "reason": why} for mv, why in self.skipped],
        }


class Solutions:
    def __init__(self, tracker: Tracker):
        self.t = tracker

    def add(
        self,
        name: str,
        *,
        inputs: Sequence[str] = (),
        outputs: Sequence[str] = (),
        needs: Sequence[str] = (),
        jurisdiction: str | None = None,
        description: str = "",
    ) -> Solution:
        """Record a solution; the rights it needs must be known rights, its name new.

        Raises:
            InvalidInput: an unknown right, or no inputs or outputs. Conflict: the name is taken.
        """
        ins, outs, rights = _split(inputs), _split(outputs), _split(needs)
        if not ins or not outs:
            raise InvalidInput(
                f"solution {name!r} needs its input and output channels",
                hint="give --inputs rgba --outputs alpha (or the channels your problem has)",
            )
        self.t.rights.validate(rights)
        solution = self.t.new(
            Solution,
            name,
            inputs=tuple(ins),
            outputs=tuple(outs),
            rights_needed=tuple(rights),
            jurisdiction=jurisdiction,
            description=description,
        )
        try:
            stored = self.t.record([solution], action="solution.add", target=solution).entities[0]
        except Conflict:
            raise Conflict(
                f"a solution named {name!r} exists", hint=f"refer to it as solution:{name}"
            ) from None
        assert isinstance(stored, Solution)
        return stored

    def get(self, ref: RefLike) -> Solution:
        entity = self.t.resolve(self.t.resolve_named(ref, Kind.SOLUTION), Kind.SOLUTION)
        assert isinstance(entity, Solution)
        return entity

    def all(self) -> list[Solution]:
        return [s for s in self.t.iter(self.t.query(Kind.SOLUTION)) if isinstance(s, Solution)]

    def runs(self, ref: RefLike) -> list[Run]:
        solution = self.get(ref)
        return [
            r for r in self.t.neighbours(solution, Relation.PART_OF, direction="in") if isinstance(r, Run)
        ]

    def best(
        self,
        ref: RefLike,
        *,
        metric: str = "val_loss",
        order: str = "auto",
        dcc: str | None = None,
        check_rights: bool = True,
    ) -> Best:
        """The best published model version of a solution by ``metric`` of the run that made it.

        Args:
            metric: a metric the runs logged (its latest value counts).
            order: ``min``, ``max``, or ``auto`` (max for PSNR, SSIM, IoU and the like, else min).
            dcc: ``nuke``, ``cli`` or ``onnx``: skip versions without a variant it loads.
            check_rights: skip versions not holding ``inference`` and the solution's own rights.
        """
        if order not in ("auto", "min", "max"):
            raise InvalidInput(f"unknown order {order!r}", hint="use min, max or auto")
        if dcc is not None and dcc not in DCC_FORMATS:
            raise InvalidInput(f"unknown DCC {dcc!r}", hint=f"use one of: {', '.join(DCC_FORMATS)}")
        solution = self.get(ref)
        chosen = ("max" if higher_is_better(metric) else "min") if order == "auto" else order
        runs = self.runs(solution)
        latest = self.t.store.latest_metrics([r.id for r in runs])
        result = Best(solution, metric, chosen, None)
        needed = list(dict.fromkeys(["inference", *solution.rights_needed]))
        for run in runs:
            value = latest.get(run.id, {}).get(metric)
            for mv in self._published_from(run):
                why = self._unfit(mv, dcc, needed if check_rights else [])
                if value is None:
                    why = why or f"its run logged no {metric!r}"
                if why:
                    result.skipped.append((mv, why))
                    continue
                assert value is not None
                result.ranked.append(Candidate(mv, run, float(value)))
        sign = 1.0 if chosen == "min" else -1.0
        result.ranked.sort(key=lambda c: (sign * c.value, -(c.model_version.version or 0)))
        result.best = result.ranked[0] if result.ranked else None
        return result

    def _published_from(self, run: Run) -> list[ModelVersion]:
        out: list[ModelVersion] = []
        for w in self.t.neighbours(run, Relation.GENERATED_BY, direction="in"):
            if isinstance(w, Weights):
                out += [
                    mv
                    for mv in self.t.neighbours(w, Relation.DERIVED_FROM, direction="in")
                    if isinstance(mv, ModelVersion)
                ]
        return out

    def _unfit(self, mv: ModelVersion, dcc: str | None, rights: list[str]) -> str | None:
        blocked = blocked_reason(self.t, mv)
        if blocked:
            return blocked
        if dcc is not None and not set(DCC_FORMATS[dcc]) & set(mv.variants):
            return f"no variant {dcc} loads (it has {', '.join(sorted(mv.variants)) or 'none'})"
        if rights:
            report = self.t.rights.effective(mv, rights=rights)
            missing = [r for r in rights if not report.allows(r)]
            if missing:
                first = report.withheld[missing[0]][0]
                return f"lacks the {', '.join(missing)} right(s): {first.reason}"
        return None


def _split(values: Sequence[str]) -> list[str]:
    """Options given repeatedly or comma-separated (``--inputs rgb,alpha``), in order, once each."""
    out: list[str] = []
    for value in values:
        out += [v.strip() for v in value.split(",") if v.strip()]
    return list(dict.fromkeys(out))
