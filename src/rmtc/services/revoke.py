"""Consent withdrawn: what a revoked licence (or a talent's every agreement) touches, and how to rebuild.

The impact set is everything downstream of what the licences govern (and, for a talent, of every asset
depicting them), through the same material edges rights follow, grouped by kind. It is read from the
store's upstream facts (every entity whose upstream holds one of the licences or the talent) rather
than walked, as references (id, kind, name, version): a talent's impact runs to tens of thousands of
output frames, and only the dataset versions and runs the plan rebuilds are read in full. The retrain plan
proposes, for each affected dataset version, a new version without the affected assets, and for each
affected model the run to repeat with the same parameters on it. Applying records the revocation (an
operational flag on each licence, with its date and reason, and an audit event: history is never
rewritten) and blocks every affected model version so nothing publishes or infers with it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from rmtc.core import collector
from rmtc.core.entities import DatasetVersion, Entity, License, Party, Run
from rmtc.core.ids import EntityId
from rmtc.core.kinds import MATERIAL, Kind, Relation
from rmtc.errors import Conflict, InvalidInput
from rmtc.services.upstream import find_edges, get_entities
from rmtc.store.types import EntityRef

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker

_GROUPS = {
    Kind.DATASET_VERSION: "dataset_versions",
    Kind.RUN: "runs",
    Kind.WEIGHTS: "weights",
    Kind.CHECKPOINT: "checkpoints",
    Kind.MODEL_VERSION: "model_versions",
    Kind.INFERENCE: "inferences",
    Kind.ASSET: "output_frames",
}


@dataclass
class Impact:
    licenses: list[License]
    talent: Party | None
    sources: list[EntityId]
    downstream: dict[str, list[EntityRef]] = field(default_factory=dict)
    plan: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    applied: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "licenses": [{"id": str(x.id), "kind": "license", "label": x.label} for x in self.licenses],
            "talent": {"id": str(self.talent.id), "kind": "party", "label": self.talent.label}
            if self.talent
            else None,
            "affected_sources": len(self.sources),
            "impact": {
                g: [{"id": str(e.id), "kind": e.kind.value, "label": e.label} for e in es]
                for g, es in self.downstream.items()
            },
            "plan": self.plan,
            "applied": self.applied,
        }


class Revoker:
    def __init__(self, tracker: Tracker):
        self.t = tracker

    def revoke(
        self, ref: RefLike, *, reason: str = "", at: date | None = None, dry_run: bool = False
    ) -> Impact:
        """Compute the impact and plan of revoking a licence, or every licence of a talent; apply it
        unless ``dry_run``.

        Raises:
            Conflict: the licence (or every licence of the talent) is already revoked.
            InvalidInput: the reference is neither a licence nor a talent.
        """
        when = at or self.t.clock.now().date()
        # A talent's impact is tens of thousands of references and edges, all alive until the answer
        # is built: collections would walk them again and again and free nothing.
        with self.t.store.reading(), collector.paused():
            impact = self._impact(self.t.resolve(ref))
        if not dry_run:
            self._apply(impact, reason, when)
        return impact

    def _impact(self, target: Entity) -> Impact:
        """The impact and plan of revoking ``target`` (a licence or a talent), without applying it."""
        if isinstance(target, License):
            licenses, talent = [target], None
        elif isinstance(target, Party):
            ids = [e.src for e in find_edges(self.t, dst=[target.id], relations=[Relation.ATTRIBUTED_TO])]
            licenses = [x for x in get_entities(self.t, ids).values() if isinstance(x, License)]
            talent = target
        else:
            raise InvalidInput(
                f"{target.label} is neither a licence nor a talent", hint="revoke license:NAME or a talent"
            )
        flags = self.t.store.get_flags([x.id for x in licenses])
        live = [x for x in licenses if "revoked" not in flags.get(x.id, {})]
        if licenses and not live:
            when_done = flags[licenses[0].id]["revoked"].get("at")
            raise Conflict(f"{target.label} is already revoked (on {when_done})", hint="nothing to do")
        facts = [x.id for x in licenses] + ([talent.id] if talent is not None else [])
        sources = [
            e.src for e in find_edges(self.t, dst=[x.id for x in licenses], relations=[Relation.GOVERNED_BY])
        ]
        if talent is not None:
            sources += [e.src for e in find_edges(self.t, dst=[talent.id], relations=[Relation.DEPICTS])]
        sources = list(dict.fromkeys(sources))
        impact = Impact(live, talent, sources)
        reach = self.t.store.holding(facts, project=self.t.project)
        # Entities holding none of the facts yet named by them (a non-asset depicting the talent, whose
        # likeness rights do not follow): walked as before.
        unheld = [s for s in sources if s not in reach]
        if unheld:
            extra = self.t.store.closure(unheld, "down", through=MATERIAL, project=self.t.project)
            more = get_entities(self.t, [i for i in extra.kinds if i not in reach])
            reach = {**reach, **{i: EntityRef(i, e.kind, e.name, e.version) for i, e in more.items()}}
        starts = set(sources)
        grouped: dict[str, list[EntityRef]] = defaultdict(list)
        for eid, ref in reach.items():
            if ref.kind in _GROUPS and eid not in starts:
                grouped[_GROUPS[ref.kind]].append(ref)
        impact.downstream = {g: sorted(rs, key=lambda r: r.label) for g, rs in grouped.items()}
        versions = [r.id for r in grouped.get("dataset_versions", [])]
        runs = [r.id for r in grouped.get("runs", [])]
        rebuilt = get_entities(self.t, [*versions, *runs])
        inputs: dict[EntityId, list[EntityId]] = defaultdict(list)
        for e in find_edges(self.t, src=runs, relations=[Relation.USED]):
            inputs[e.src].append(e.dst)
        dropped: dict[EntityId, list[EntityId]] = defaultdict(list)
        if versions and sources:
            # By source alone (each asset is a member of a few versions), then kept to the versions
            # reached: asking for both lists at once probes every (version, source) pair.
            reached = set(versions)
            for e in find_edges(self.t, src=sources, relations=[Relation.MEMBER_OF]):
                if e.dst in reached:
                    dropped[e.dst].append(e.src)
        impact.plan = self._plan(starts, impact.downstream, rebuilt, inputs, dropped)
        return impact

    def _plan(
        self,
        affected: set[EntityId],
        downstream: dict[str, list[EntityRef]],
        rebuilt: dict[EntityId, Entity],
        inputs: dict[EntityId, list[EntityId]],
        dropped: dict[EntityId, list[EntityId]],
    ) -> dict[str, list[dict[str, Any]]]:
        """New dataset versions without the affected members, the runs to repeat on them, the model
        versions to block. ``rebuilt``: the reached dataset versions and runs in full; ``inputs``: what
        each reached run used; ``dropped``: the affected members of each reached dataset version (plain
        versions; a paired one drops whole pairs, read here)."""
        datasets = []
        replaced: dict[str, str] = {}
        for ref in downstream.get("dataset_versions", []):
            version = rebuilt.get(ref.id)
            if not isinstance(version, DatasetVersion):
                continue
            if version.paired:
                members = self.t.datasets.members(version)
                drop = [m.asset for m in members if m.asset in affected or m.target in affected]
                total = len(members)
            else:
                drop = list(dict.fromkeys(dropped.get(version.id, [])))
                total = version.member_count
            if not drop:
                continue  # affected through a derived input, not its own members: rebuilt by its run
            label = f"{version.name}@next (without {len(drop)} member(s))"
            replaced[str(version.id)] = label
            datasets.append(
                {
                    "version": {"id": str(version.id), "label": version.label},
                    "drop": [str(a) for a in drop],
                    "keep": total - len(drop),
                    "proposed": label,
                }
            )
        runs = []
        for ref in downstream.get("runs", []):
            run = rebuilt.get(ref.id)
            if not isinstance(run, Run) or run.run_type not in ("training", "fine-tuning"):
                continue
            runs.append(
                {
                    "run": {"id": str(run.id), "label": run.label},
                    "run_type": run.run_type,
                    "params": dict(run.params),
                    "inputs": [
                        {"from": str(i), "to": replaced.get(str(i), str(i))} for i in inputs.get(run.id, [])
                    ],
                }
            )
        blocked = [{"id": str(m.id), "label": m.label} for m in downstream.get("model_versions", [])]
        return {"datasets": datasets, "runs": runs, "block": blocked}

    def _apply(self, impact: Impact, reason: str, when: date) -> None:
        flag = {"at": when.isoformat(), "reason": reason, "by": self.t.user}
        for lic in impact.licenses:
            self.t.store.set_flag(lic.id, "revoked", flag)
        for mv in impact.downstream.get("model_versions", []):
            self.t.store.set_flag(mv.id, "blocked", {**flag, "licenses": [x.name for x in impact.licenses]})
        target = impact.talent or (impact.licenses[0] if impact.licenses else None)
        self.t.record(
            action="revoke",
            target=target,
            detail={
                "reason": reason,
                "at": when.isoformat(),
                "licenses": [str(x.id) for x in impact.licenses],
                "impact": {g: len(es) for g, es in impact.downstream.items()},
                "blocked": len(impact.downstream.get("model_versions", [])),
            },
        )
        impact.applied = True
