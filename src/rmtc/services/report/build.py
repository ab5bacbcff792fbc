"""What a report says, gathered once: the artefact, its effective rights, sources, talents, licences and
their status, the runs that made it with their key metrics, and the provenance graph to draw.

Frames of one sequence are folded into one node of the graph (``plate.####.exr x 120``) so a model
trained on thousands of frames still draws as a readable picture; the tables keep every source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import Asset, Entity, License, Run
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Relation
from rmtc.errors import NotFound
from rmtc.services.rights import RightsReport
from rmtc.services.upstream import gather

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker

REPORT_LABEL = "rmtc.Report/1"
MAX_GRAPH_NODES = 60


@dataclass
class GraphNode:
    key: str
    label: str
    kind: str
    depth: int
    problem: bool = False


@dataclass
class Report:
    artefact: Entity
    generated_at: str
    rights: RightsReport
    sources: list[dict[str, Any]] = field(default_factory=list)
    licenses: list[dict[str, Any]] = field(default_factory=list)
    talents: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    flags: dict[str, Any] = field(default_factory=dict)
    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[tuple[str, str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": REPORT_LABEL,
            "generated_at": self.generated_at,
            "artefact": self.artefact.to_json(),
            "flags": self.flags,
            "rights": self.rights.to_json(),
            "sources": self.sources,
            "licenses": self.licenses,
            "talents": self.talents,
            "runs": self.runs,
            "graph": {
                "nodes": [n.__dict__ for n in self.nodes],
                "edges": [{"src": s, "dst": d, "relation": r} for s, d, r in self.edges],
            },
        }


def build_report(t: Tracker, ref: RefLike, *, at: date | None = None) -> Report:
    root = t.resolve(ref)
    rights = t.rights.effective(root, at=at)
    up = gather(t, root)
    everything = up.entities
    flags = t.store.get_flags(list(everything))
    report = Report(root, t.clock.now().isoformat(), rights, flags=flags.get(root.id, {}))
    withheld_licenses = {w.license.id for ws in rights.withheld.values() for w in ws if w.license is not None}
    for lic_id, lic in sorted(up.licenses.items(), key=lambda kv: kv[1].name):
        assert isinstance(lic, License)
        revoked = up.revoked.get(lic_id)
        expired = lic.finish is not None and rights.context.at > lic.finish
        status = "revoked" if revoked else "expired" if expired else "active"
        report.licenses.append(
            {
                "id": str(lic_id),
                "name": lic.name,
                "status": status,
                "revoked": {"at": revoked.at.isoformat(), "reason": revoked.reason} if revoked else None,
                "grants": list(lic.grants),
                "excludes": list(lic.excludes),
                "spdx_id": lic.spdx_id,
                "start": lic.start.isoformat() if lic.start else None,
                "finish": lic.finish.isoformat() if lic.finish else None,
                "agreement": lic.agreement,
                "withholds": lic_id in withheld_licenses,
            }
        )
    for talent_id, talent in sorted(up.talents.items(), key=lambda kv: kv[1].name):
        frames = sum(1 for ts in up.depicts.values() if talent_id in ts)
        agreements = [up.licenses[x].name for x in up.agreements.get(talent_id, []) if x in up.licenses]
        report.talents.append(
            {"id": str(talent_id), "name": talent.name, "frames": frames, "agreements": agreements}
        )
    for source_id in up.sources:
        e = everything[source_id]
        report.sources.append(
            {
                "id": str(source_id),
                "label": e.label,
                "sequence": getattr(e, "sequence", None),
                "content_hash": e.content_hash,
                "licenses": [up.licenses[x].name for x in up.governed.get(source_id, []) if x in up.licenses],
                "talents": [up.talents[x].name for x in up.depicts.get(source_id, []) if x in up.talents],
                "flags": flags.get(source_id, {}),
            }
        )
    runs = [e for e in everything.values() if isinstance(e, Run)]
    latest = t.store.latest_metrics([r.id for r in runs]) if runs else {}
    for r in sorted(runs, key=lambda r: r.created_at):
        try:
            state = t.store.get_run_status(r.id).state
        except NotFound:
            state = "unknown"
        report.runs.append(
            {
                "id": str(r.id),
                "name": r.name,
                "run_type": r.run_type,
                "status": state,
                "params": dict(r.params),
                "metrics": latest.get(r.id, {}),
            }
        )
    _graph(report, up, withheld_licenses)
    return report


def _graph(report: Report, up: Any, bad_licenses: set[EntityId]) -> None:
    """Nodes and edges to draw, with frames of a sequence folded into one node."""
    closure = up.closure
    depth: dict[EntityId, int] = {report.artefact.id: 0, **closure.depth}
    order = list(closure.kinds)
    entities = up.entities

    def key(eid: EntityId) -> str:
        e = entities[eid]
        if isinstance(e, Asset) and e.sequence:
            return f"seq:{e.sequence}"
        return str(eid)

    nodes: dict[str, GraphNode] = {}
    counts: dict[str, int] = {}
    for eid in order:
        e = entities[eid]
        k = key(eid)
        counts[k] = counts.get(k, 0) + 1
        if k not in nodes:
            label = (
                e.sequence.rsplit("/", 1)[-1]
                if k.startswith("seq:") and isinstance(e, Asset) and e.sequence
                else e.label
            )
            nodes[k] = GraphNode(k, label, e.kind.value, depth[eid])
    for k, n in counts.items():
        if n > 1:
            nodes[k].label = f"{nodes[k].label} x{n}"
    edges: set[tuple[str, str, str]] = set()
    for eid, (prev, relation) in closure.parent.items():
        edges.add((key(prev), key(eid), relation.value))
    for src_id, lic_ids in up.governed.items():
        for lic_id in lic_ids:
            if lic_id in up.licenses:
                lk = str(lic_id)
                nodes.setdefault(
                    lk,
                    GraphNode(
                        lk,
                        up.licenses[lic_id].label,
                        "license",
                        depth.get(src_id, 0) + 1,
                        problem=lic_id in bad_licenses,
                    ),
                )
                edges.add((key(src_id), lk, Relation.GOVERNED_BY.value))
    for asset_id, talent_ids in up.depicts.items():
        for tid in talent_ids:
            if tid in up.talents:
                tk = str(tid)
                nodes.setdefault(
                    tk, GraphNode(tk, up.talents[tid].label, "party", depth.get(asset_id, 0) + 1)
                )
                edges.add((key(asset_id), tk, Relation.DEPICTS.value))
    kept = sorted(nodes.values(), key=lambda n: (n.depth, n.kind, n.label))[:MAX_GRAPH_NODES]
    keep = {n.key for n in kept}
    report.nodes = kept
    report.edges = sorted(e for e in edges if e[0] in keep and e[1] in keep)
