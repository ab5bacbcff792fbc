"""The same four questions answered by walking the graph in memory (networkx), as the yardstick.

Each answer follows rmtc's own rules, so the two can be compared answer for answer: the material
upstream of an artefact (:data:`rmtc.core.kinds.MATERIAL`, with ``member_of`` walked from the dataset
version to its members), evidence paths back to the root, the rights algebra of :mod:`rmtc.core.rights`
applied to the licences reached, and the downstream impact of a talent grouped as the revoker groups
it. The walks read networkx's adjacency dictionaries (``G._succ`` / ``G._pred``), as networkx's own
traversals do; nodes carry only their kind, so nothing is fetched that the graph does not hold (rmtc's
answers also load every entity they name: that is part of what the ratio measures).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

from rmtc.core.entities import License
from rmtc.core.ids import EntityId
from rmtc.core.kinds import MATERIAL, UPSTREAM_AT_SRC
from rmtc.core.rights import BUILTIN_RIGHTS, Context, any_allows, evaluate

_MATERIAL = {r.value: frozenset(k.value for k in ks) for r, ks in MATERIAL.items()}
_AT_SRC = frozenset(r.value for r in UPSTREAM_AT_SRC)
_MADE_FROM = frozenset({"generated_by", "derived_from", "variant_of"})
_GROUPS = {
    "dataset_version": "dataset_versions",
    "run": "runs",
    "weights": "weights",
    "checkpoint": "checkpoints",
    "model_version": "model_versions",
    "inference": "inferences",
    "asset": "output_frames",
}
Parents = dict[Any, Any]


class InMemory:
    """Queries over a loaded graph; ``licenses`` are the licence entities (the rights algebra reads
    their terms), ``custom_rights`` the facility's own rights."""

    def __init__(self, graph: nx.DiGraph, licenses: Iterable[License], custom_rights: Iterable[str]):
        self.g = graph
        self.kind: Mapping[Any, str] = {n: d["kind"] for n, d in graph.nodes(data=True)}
        self.licenses = {x.id: x for x in licenses}
        self.rights = [*BUILTIN_RIGHTS, *sorted(custom_rights)]

    # -- walks ----------------------------------------------------------------------------------------
    def up(self, root: Any, material: bool) -> Parents:
        """Everything upstream of ``root`` (material edges only, or every relation), each with the node
        it was first reached from, breadth first."""
        succ, pred, kind = self.g._succ, self.g._pred, self.kind
        parent: Parents = {root: None}
        queue = deque([root])
        while queue:
            u = queue.popleft()
            k = kind[u]
            for v, d in succ[u].items():
                rel = d["rel"]
                if rel in _AT_SRC or (material and k not in _MATERIAL.get(rel, ())):
                    continue
                if v not in parent:
                    parent[v] = u
                    queue.append(v)
            for w, d in pred[u].items():
                rel = d["rel"]
                if rel not in _AT_SRC or (material and k not in _MATERIAL.get(rel, ())):
                    continue
                if w not in parent:
                    parent[w] = u
                    queue.append(w)
        return parent

    def down(self, roots: list[Any]) -> Parents:
        """Everything materially downstream of ``roots`` (the revoker's walk)."""
        succ, pred, kind = self.g._succ, self.g._pred, self.kind
        parent: Parents = dict.fromkeys(roots)
        queue = deque(roots)
        while queue:
            u = queue.popleft()
            for w, d in pred[u].items():
                rel = d["rel"]
                if rel not in _AT_SRC and kind[w] in _MATERIAL.get(rel, ()) and w not in parent:
                    parent[w] = u
                    queue.append(w)
            for v, d in succ[u].items():
                rel = d["rel"]
                if rel in _AT_SRC and kind[v] in _MATERIAL.get(rel, ()) and v not in parent:
                    parent[v] = u
                    queue.append(v)
        return parent

    @staticmethod
    def path(parent: Parents, node: Any) -> list[Any]:
        chain = [node]
        while parent[chain[-1]] is not None:
            chain.append(parent[chain[-1]])
        chain.reverse()
        return chain

    # -- the four questions ----------------------------------------------------------------------------
    def contains(self, artefact: EntityId, talent: EntityId) -> list[Any]:
        """``[contains, number of evidence paths]``, as rmtc's ``contains`` answers."""
        parent = self.up(artefact, material=True)
        succ, kind = self.g._succ, self.kind
        paths = [
            [*self.path(parent, n), talent]
            for n in parent
            if kind[n] == "asset" and (d := succ[n].get(talent)) is not None and d["rel"] == "depicts"
        ]
        return [bool(paths), len(paths)]

    def trace(self, inference: EntityId) -> int:
        """How many entities are upstream of ``inference`` along every relation."""
        return len(self.up(inference, material=False)) - 1

    def revoke(self, talent: EntityId) -> dict[str, Any]:
        """The dry-run impact of revoking every agreement of ``talent``: counts per group and the size
        of the retrain plan, as ``Revoker.revoke(talent, dry_run=True)`` reports them."""
        succ, pred, kind = self.g._succ, self.g._pred, self.kind
        licenses = [
            w for w, d in pred[talent].items() if d["rel"] == "attributed_to" and kind[w] == "license"
        ]
        sources = [w for lic in licenses for w, d in pred[lic].items() if d["rel"] == "governed_by"]
        sources += [w for w, d in pred[talent].items() if d["rel"] == "depicts"]
        sources = list(dict.fromkeys(sources))
        reached = self.down(sources)
        for s in sources:
            del reached[s]
        groups: dict[str, int] = {}
        datasets = runs = inputs = blocked = 0
        affected = set(sources)
        for n in reached:
            group = _GROUPS.get(kind[n])
            if group is None:
                continue
            groups[group] = groups.get(group, 0) + 1
            if group == "dataset_versions":
                members = [w for w, d in pred[n].items() if d["rel"] == "member_of"]
                datasets += any(m in affected for m in members)
            elif group == "runs":
                runs += 1
                inputs += sum(1 for d in succ[n].values() if d["rel"] == "used")
            elif group == "model_versions":
                blocked += 1
        return {"groups": dict(sorted(groups.items())), "plan": [datasets, runs, inputs, blocked]}

    def effective(self, artefact: EntityId, ctx: Context) -> list[Any]:
        """``[held rights, number of distinct reasons withheld]``, as ``Rights.effective`` reports them
        (``RightsReport.held``; reasons de-duplicated by licence and reason, each with its evidence
        path). A licence's (and a talent's) verdict on a right is computed once, not once per entity."""
        succ, pred, kind = self.g._succ, self.g._pred, self.kind
        parent = self.up(artefact, material=True)
        governed = {n: [v for v, d in succ[n].items() if d["rel"] == "governed_by"] for n in parent}
        depicts = {
            n: [v for v, d in succ[n].items() if d["rel"] == "depicts"] for n in parent if kind[n] == "asset"
        }
        talents = {t for ts in depicts.values() for t in ts}
        agreements = {t: [w for w, d in pred[t].items() if d["rel"] == "attributed_to"] for t in talents}
        sources = [
            n
            for n in parent
            if kind[n] in ("asset", "weights") and not any(d["rel"] in _MADE_FROM for d in succ[n].values())
        ]
        held, withheld = [], 0
        for right in self.rights:
            verdicts = {x: evaluate(lic, right, ctx) for x, lic in self.licenses.items()}
            reasons: dict[tuple[Any, str], list[Any]] = {}
            for n, lics in governed.items():
                for x in lics:
                    key = (x, verdicts[x].reason)
                    if not verdicts[x].allowed and key not in reasons:
                        reasons[key] = self.path(parent, n)
            for s in sources:
                if not governed[s] and ("", f"no licence governs {s}") not in reasons:
                    reasons["", f"no licence governs {s}"] = self.path(parent, s)
            talent_reasons: dict[Any, tuple[Any, str] | None] = {}
            for t in talents:
                alternatives = [(self.licenses[x], None) for x in agreements[t] if x in self.licenses]
                if not alternatives:
                    talent_reasons[t] = ("", f"no agreement with {t}")
                    continue
                ok, why = any_allows(alternatives, right, ctx)
                reason = f"talent {t}: " + "; ".join(v.reason for v in why)
                talent_reasons[t] = None if ok else (alternatives[0][0].id, reason)
            for n, ts in depicts.items():
                for t in ts:
                    found = talent_reasons[t]
                    if found is not None and found not in reasons:
                        reasons[found] = self.path(parent, n)
            if reasons:
                withheld += len(reasons)
            else:
                held.append(right)
        return [held, withheld]
