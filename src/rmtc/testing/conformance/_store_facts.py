"""Conformance cases: upstream facts, the walk they guide, and the entities holding them.

The kept facts are held to their definition, :meth:`UpstreamFacts.of_closure` over a full material
closure, on random provenance graphs written in several batches with late edges (a licence attached
afterwards, a talent tagged later, a run given another input), cycles and another project's entities.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from rmtc.core.entities import Entity, Inference, License, ModelVersion, Weights
from rmtc.core.ids import EntityId, new_id
from rmtc.core.kinds import MATERIAL, Kind
from rmtc.errors import InvalidInput
from rmtc.store.protocol import MetadataStore
from rmtc.store.types import Closure, Edge, EntityRef, UpstreamFacts
from rmtc.testing.conformance._store_support import Maker, R, StoreCases, write

P = "default"


def _reference(store: MetadataStore, eid: EntityId, project: str = P) -> UpstreamFacts:
    full = store.closure([eid], "up", through=MATERIAL, project=project, annotate=UpstreamFacts.RELATIONS)
    return UpstreamFacts.of_closure(full)


class _Graph:
    """A small random facility: plates, dataset versions, runs, weights, model versions, inferences
    and their outputs, talents and licences; written in batches, with late edges in later ones."""

    def __init__(self, store: MetadataStore, m: Maker, seed: int):
        self.store, self.m, self.rng = store, m, random.Random(seed)
        self.all: list[Entity] = []

    def _kind(self, cls: type[Entity], **kw: Any) -> Entity:
        e = cls(**self.m._base(None, kw))
        self.all.append(e)
        return e

    def build(self) -> None:
        rng, m = self.rng, self.m
        talents = [m.party(talent=True) for _ in range(4)]
        licenses = [self._kind(License, grants=("training",)) for _ in range(3)]
        plates = [m.asset() for _ in range(14)]
        edges = []
        for a in plates:
            if rng.random() < 0.7:
                edges.append(Edge(a.id, R.GOVERNED_BY, rng.choice(licenses).id))
            for t in rng.sample(talents, rng.randint(0, 2)):
                edges.append(Edge(a.id, R.DEPICTS, t.id))
        write(self.store, *talents, *licenses, *plates, edges=edges)
        versions = [m.version(f"dv{i}", version=1) for i in range(3)]
        edges = [Edge(a.id, R.MEMBER_OF, dv.id) for dv in versions for a in rng.sample(plates, 4)]
        runs = [m.run() for _ in range(3)]
        edges += [Edge(r.id, R.USED, rng.choice(versions).id) for r in runs]
        weights = [self._kind(Weights, content_hash=new_id().hex) for _ in runs]
        edges += [Edge(w.id, R.GENERATED_BY, r.id) for w, r in zip(weights, runs, strict=True)]
        mvs = [self._kind(ModelVersion, version=1) for _ in weights]
        edges += [Edge(mv.id, R.DERIVED_FROM, w.id) for mv, w in zip(mvs, weights, strict=True)]
        edges.append(Edge(mvs[0].id, R.GOVERNED_BY, licenses[0].id))
        write(self.store, *versions, *runs, *weights, *mvs, edges=edges)
        infs = [self._kind(Inference) for _ in range(3)]
        outs = [m.asset() for _ in range(6)]
        edges = [Edge(i.id, R.USED, rng.choice(mvs).id) for i in infs]
        edges += [Edge(i.id, R.USED, rng.choice(plates).id) for i in infs]
        for n, o in enumerate(outs):
            edges.append(Edge(o.id, R.GENERATED_BY, infs[n % 3].id))
            edges.append(Edge(o.id, R.DERIVED_FROM, rng.choice(plates).id))
        # a second generation trained on outputs, written with its inputs in one batch in reverse order
        dv2, run2 = m.version("gen2", version=1), m.run()
        w2 = self._kind(Weights, content_hash=new_id().hex)
        edges += [Edge(o.id, R.MEMBER_OF, dv2.id) for o in outs[:3]]
        edges += [Edge(run2.id, R.USED, dv2.id), Edge(w2.id, R.GENERATED_BY, run2.id)]
        write(self.store, w2, run2, dv2, *outs, *infs, edges=edges)
        self.talents, self.licenses, self.plates, self.versions = talents, licenses, plates, versions
        self.runs, self.outs, self.mvs = [*runs, run2], outs, mvs
        self.entities = [*plates, *versions, *runs, *weights, *mvs, *infs, *outs, dv2, run2, w2]

    def late_edges(self) -> None:
        """Edges that change existing entities' facts: licences, tags, inputs, a cycle."""
        rng = self.rng
        bare = [a for a in self.plates if not self.store.upstream_facts([a.id])[a.id].licenses]
        edges = [Edge(a.id, R.GOVERNED_BY, self.licenses[2].id) for a in bare[:2]]
        edges += [Edge(rng.choice(self.plates).id, R.DEPICTS, self.talents[3].id)]
        edges += [Edge(self.runs[0].id, R.USED, self.versions[-1].id)]
        edges += [Edge(self.runs[1].id, R.USED, self.outs[-1].id)]
        write(self.store, edges=edges)


class FactCases(StoreCases):
    @pytest.mark.parametrize("seed", [1, 2, 3])
    def test_kept_facts_equal_the_facts_of_the_full_closure_before_and_after_late_edges(
        self, store: MetadataStore, m: Maker, seed: int
    ) -> None:
        g = _Graph(store, m, seed)
        g.build()
        for phase in ("built", "late edges"):
            kept = store.upstream_facts([e.id for e in g.entities])
            assert set(kept) == {e.id for e in g.entities}, phase
            for e in g.entities:
                assert kept[e.id] == _reference(store, e.id), (phase, e.label)
            if phase == "built":
                g.late_edges()

    def test_a_licence_attached_later_clears_the_ungoverned_source_downstream(
        self, store: MetadataStore, m: Maker
    ) -> None:
        a, dv, run, lic = m.asset(), m.version(), m.run(), License(**m._base("studio", {}))
        write(store, a, dv, run, lic, edges=(Edge(a.id, R.MEMBER_OF, dv.id), Edge(run.id, R.USED, dv.id)))
        assert store.upstream_facts([run.id])[run.id] == UpstreamFacts(ungoverned=frozenset({a.id}))
        write(store, edges=(Edge(a.id, R.GOVERNED_BY, lic.id),))
        assert store.upstream_facts([run.id])[run.id] == UpstreamFacts(licenses=frozenset({lic.id}))
        assert store.upstream_facts([new_id()]) == {}

    def test_facts_settle_on_a_cycle_and_never_cross_into_another_project(
        self, store: MetadataStore, m: Maker
    ) -> None:
        talent, foreign_talent = m.party(talent=True), m.party(talent=True)
        run, out, plate, other = m.run(), m.asset(), m.asset(), m.asset(project="elsewhere")
        write(store, talent, foreign_talent, run, out, plate, other)
        edges = (
            Edge(run.id, R.USED, plate.id),
            Edge(out.id, R.GENERATED_BY, run.id),
            Edge(run.id, R.USED, out.id),  # a cycle: the run also used its own output
            Edge(plate.id, R.DEPICTS, talent.id),
            Edge(run.id, R.USED, other.id),
            Edge(other.id, R.DEPICTS, foreign_talent.id),
        )
        write(store, edges=edges)
        for eid in (run.id, out.id):
            assert store.upstream_facts([eid])[eid] == _reference(store, eid)
            assert store.upstream_facts([eid])[eid].talents == frozenset({talent.id})
        assert store.upstream_facts([other.id])[other.id] == _reference(store, other.id, "elsewhere")

    @pytest.mark.parametrize("seed", [4, 5])
    def test_a_walk_guided_by_facts_is_the_full_closure_cut_to_the_entities_leading_to_them(
        self, store: MetadataStore, m: Maker, seed: int
    ) -> None:
        g = _Graph(store, m, seed)
        g.build()
        g.late_edges()
        rng = random.Random(seed)
        notes = [R.GOVERNED_BY, R.DEPICTS]
        for start in [*g.runs, *g.mvs, *g.outs]:
            facts = store.upstream_facts([start.id])[start.id].all
            having = set(rng.sample(sorted(facts, key=str), min(2, len(facts)))) if facts else {new_id()}
            full = store.closure([start.id], "up", through=MATERIAL, project=P, annotate=notes)
            cut = store.closure([start.id], "up", through=MATERIAL, project=P, annotate=notes, having=having)
            kept = [i for i in full.kinds if i == start.id or store.upstream_facts([i])[i].all & having]
            assert list(cut.kinds) == kept
            assert cut.depth == {i: d for i, d in full.depth.items() if i in cut.kinds}
            assert cut.parent == {i: p for i, p in full.parent.items() if i in cut.kinds}
            assert cut.annotations == [a for a in full.annotations if a[2] in having]
            near = store.closure(
                [start.id], "up", through=MATERIAL, project=P, annotate=notes, having=having, nearest=True
            )
            _assert_nearest(store, near, cut, having)

    def test_holding_is_the_downstream_of_the_direct_holders(self, store: MetadataStore, m: Maker) -> None:
        g = _Graph(store, m, 6)
        g.build()
        g.late_edges()
        for fact in [*g.talents, *g.licenses]:
            direct = [e.id for e in g.entities if fact.id in _own(store, e.id)]
            got = store.holding([fact.id], project=P)
            down = store.closure(direct, "down", through=MATERIAL, project=P)
            assert set(got) == set(down.kinds), fact.label
            assert all(got[i].kind is down.kinds[i] for i in got)
            named = store.get_entities(got)
            assert all(got[i] == EntityRef(i, e.kind, e.name, e.version) for i, e in named.items())
            assert [r.label for r in got.values()] == [named[i].label for i in got]
        assert store.holding([g.talents[0].id], project="elsewhere") == {}

    def test_a_guided_walk_refuses_other_walks(self, store: MetadataStore, m: Maker) -> None:
        a = m.asset()
        write(store, a)
        with pytest.raises(InvalidInput):
            store.closure([a.id], "down", through=MATERIAL, project=P, having=[a.id])
        with pytest.raises(InvalidInput):
            store.closure([a.id], "up", project=P, having=[a.id])


def _own(store: MetadataStore, eid: EntityId) -> set[EntityId]:
    """What an entity holds directly: its licences, its talents (an asset's), itself when it is an
    ungoverned raw source."""
    kind = store.get_entity(eid).kind
    out = store.find_edges(src=[eid], relations=list(UpstreamFacts.RELATIONS))
    licenses = {x.dst for x in out if x.relation is R.GOVERNED_BY}
    talents = {x.dst for x in out if x.relation is R.DEPICTS and kind is Kind.ASSET}
    made = any(x.relation not in (R.GOVERNED_BY, R.DEPICTS) for x in out)
    raw = kind in (Kind.ASSET, Kind.WEIGHTS) and not made and not licenses
    return licenses | talents | ({eid} if raw else set())


def _assert_nearest(store: MetadataStore, near: Closure, cut: Closure, having: set[EntityId]) -> None:
    """``nearest`` keeps the cut walk up to the first depth by which every fact has a direct holder."""
    held: set[EntityId] = set()
    stop = None
    for depth in sorted({cut.depth.get(i, 0) for i in cut.kinds}):
        held |= {f for i in cut.kinds if cut.depth.get(i, 0) == depth for f in _own(store, i) & having}
        if held >= having:
            stop = depth
            break
    expected = [i for i in cut.kinds if stop is None or cut.depth.get(i, 0) <= stop]
    assert list(near.kinds) == expected
    first: dict[EntityId, EntityId] = {}
    for i in near.kinds:
        for fact in _own(store, i) & having:
            first.setdefault(fact, i)
    assert near.annotations == [a for a in cut.annotations if a[0] in set(first.values())]
