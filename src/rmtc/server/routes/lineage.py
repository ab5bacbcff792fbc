"""Lineage for the Explorer's graph: a trace (as ``rmtc trace --json`` prints it) plus every edge between
its nodes, each node's colour and the rights problems to highlight.

Problems: ``blocked`` (a model version blocked by a revocation), ``revoked`` (a licence, or a talent
whose every agreement is revoked: consent withdrawn), ``purged`` (bytes erased), and ``withholds``: a
source, licence or talent that withholds a right from the artefact named by ``rights_of`` (the page's
entity; by default the traced one), from ``tracker.rights``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from rmtc.api.tracker import Tracker
from rmtc.core.ids import EntityId, parse_id
from rmtc.core.kinds import Kind, Relation, upstream_of
from rmtc.server.deps import Role, project_tracker
from rmtc.server.routes._common import RefParam
from rmtc.services.lineage import KIND_COLOURS

router = APIRouter(tags=["lineage"])
Viewer = Annotated[Tracker, Depends(project_tracker(Role.viewer))]
MAX_EDGES = 20_000


@router.get("/lineage/{ref}")
def lineage(
    ref: RefParam,
    t: Viewer,
    direction: Literal["up", "down", "both"] = "up",
    depth: Annotated[int | None, Query(ge=1, le=100)] = None,
    kinds: Annotated[list[str], Query(max_length=20)] = [],  # noqa: B006 - FastAPI copies defaults
    limit: Annotated[int, Query(ge=1, le=5000, description="Most nodes returned")] = 500,
    problems: bool = True,
    rights_of: Annotated[str | None, Query(max_length=512)] = None,
) -> dict[str, Any]:
    """``{"root", "nodes", "edges", "truncated", "colours"}``: nodes are trace nodes (entity JSON,
    ``depth``, ``direction``, ``via``) with ``label``, ``colour``, ``flags`` and ``problems``; edges are
    ``{"src", "relation", "dst", "upstream"}`` where ``upstream`` names the end that is the source."""
    trace = t.lineage.trace(
        ref, direction=direction, depth=depth, kinds=[Kind.parse(k) for k in kinds] or None
    )
    data = trace.to_json()
    entities = [n.entity for n in trace.nodes][:limit]
    nodes = data["nodes"][:limit]  # type: ignore[index]
    ids = [e.id for e in entities]
    flags = t.store.get_flags(ids)
    withdrawn = _consent_withdrawn(t, [e.id for e in entities if e.kind is Kind.PARTY])
    withholding = _withholding(t, rights_of or str(trace.root.id)) if problems else set()
    for node, e in zip(nodes, entities, strict=True):
        f = flags.get(e.id, {})
        found: list[str] = [p for p in ("blocked", "revoked", "purged") if p in f]
        if getattr(e, "storage", None) == "purged" and "purged" not in found:
            found.append("purged")
        if e.id in withdrawn:
            found.append("revoked")
        if e.id in withholding:
            found.append("withholds")
        node.update(label=e.label, colour=KIND_COLOURS.get(e.kind.value, "#eeeeee"), flags=f, problems=found)
    edges = t.store.find_edges(src=ids, dst=ids, limit=MAX_EDGES) if len(ids) > 1 else []
    return {
        "root": str(trace.root.id),
        "nodes": nodes,
        "edges": [
            {
                "src": str(x.src),
                "relation": x.relation.value,
                "dst": str(x.dst),
                "upstream": upstream_of(x.relation),
            }
            for x in edges
        ],
        "truncated": len(trace.nodes) > limit,
        "colours": KIND_COLOURS,
    }


def _consent_withdrawn(t: Tracker, parties: list[EntityId]) -> set[EntityId]:
    """The talents among ``parties`` who have agreements, every one of them revoked."""
    if not parties:
        return set()
    edges = t.store.find_edges(dst=parties, relations=[Relation.ATTRIBUTED_TO])
    revoked = {i for i, f in t.store.get_flags([e.src for e in edges]).items() if "revoked" in f}
    agreements: dict[EntityId, list[EntityId]] = {}
    for e in edges:
        agreements.setdefault(e.dst, []).append(e.src)
    return {p for p, lics in agreements.items() if all(x in revoked for x in lics)}


def _withholding(t: Tracker, ref: str) -> set[EntityId]:
    """The sources, licences and talents behind every right not held on ``ref``."""
    report = t.rights.effective(ref)
    ids: set[EntityId] = set()
    for reasons in report.withheld.values():
        for w in reasons:
            ids.add(w.source.id)
            if w.license is not None:
                ids.add(w.license.id)
            if w.path and w.path[-1].get("kind") == Kind.PARTY.value:
                ids.add(parse_id(w.path[-1]["id"]))
    return ids
