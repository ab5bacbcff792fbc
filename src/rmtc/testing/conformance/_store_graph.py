"""Conformance cases: edges and walks (orientation, depth, cycles, diamonds, project scoping, ``through``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from rmtc.core.entities import (
    Asset,
    Dataset,
    Weights,
)
from rmtc.core.ids import new_id
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import Conflict, InvalidInput, NotFound
from rmtc.store.protocol import MetadataStore
from rmtc.store.types import (
    Edge,
)
from rmtc.testing.conformance._store_support import T0, Maker, R, StoreCases, ids, write


class GraphCases(StoreCases):
    # -- edges ---------------------------------------------------------------------------------------
    def test_when_edges_are_written_then_find_edges_filters_and_keeps_recording_order(
        self, store: MetadataStore, m: Maker
    ) -> None:
        a, b, dv, p = m.asset(), m.asset(), m.version(), m.party()
        edges = (
            Edge(a.id, R.MEMBER_OF, dv.id, attrs={"role": "input", "pair": 1}),
            Edge(b.id, R.MEMBER_OF, dv.id),
            Edge(a.id, R.DEPICTS, p.id, created_at=T0, created_by="legal"),
        )
        assert write(store, a, b, dv, p, edges=edges).edges_created == 3
        assert write(store, edges=edges[:2]).edges_created == 0
        assert [(e.src, e.relation, e.dst) for e in store.find_edges(src=[a.id])] == [
            (a.id, R.MEMBER_OF, dv.id),
            (a.id, R.DEPICTS, p.id),
        ]
        assert len(store.find_edges(dst=[dv.id])) == 2
        assert [e.src for e in store.find_edges(dst=[dv.id], src=[b.id])] == [b.id]
        assert [e.relation for e in store.find_edges(src=[a.id], relations=[R.DEPICTS])] == [R.DEPICTS]
        assert len(store.find_edges(dst=[dv.id], limit=1)) == 1
        first = store.find_edges(src=[a.id])[0]
        assert first.attrs == {"role": "input", "pair": 1}
        assert first.created_at is not None and first.created_at.utcoffset() == timedelta(0)
        depicts = store.find_edges(relations=[R.DEPICTS])[0]
        assert (depicts.created_at, depicts.created_by) == (T0, "legal")

    def test_when_an_edge_names_an_unknown_id_then_not_found_naming_it_and_nothing_written(
        self, store: MetadataStore, m: Maker
    ) -> None:
        a, ghost = m.asset(), new_id()
        with pytest.raises(NotFound) as err:
            write(store, a, edges=(Edge(a.id, R.DERIVED_FROM, ghost),))
        assert str(ghost) in str(err.value)
        assert store.get_entities([a.id]) == {}

    @pytest.mark.parametrize("shape", ["self", "pair_in_one_batch", "closing_a_chain"])
    def test_when_derived_from_would_make_a_cycle_then_conflict(
        self, store: MetadataStore, m: Maker, shape: str
    ) -> None:
        a, b, c = m.asset(), m.asset(), m.asset()
        write(store, a, b, c)
        batch: tuple[Edge, ...]
        if shape == "self":
            batch = (Edge(a.id, R.DERIVED_FROM, a.id),)
        elif shape == "pair_in_one_batch":
            batch = (Edge(a.id, R.DERIVED_FROM, b.id), Edge(b.id, R.DERIVED_FROM, a.id))
        else:
            write(store, edges=(Edge(a.id, R.DERIVED_FROM, b.id), Edge(b.id, R.DERIVED_FROM, c.id)))
            batch = (Edge(c.id, R.DERIVED_FROM, a.id),)
        with pytest.raises(Conflict):
            write(store, edges=batch)
        assert all(e not in store.find_edges() for e in batch)

    def test_when_other_relations_loop_then_they_are_recorded(self, store: MetadataStore, m: Maker) -> None:
        onnx, ts = m.asset(), m.asset()
        result = write(
            store, onnx, ts, edges=(Edge(onnx.id, R.VARIANT_OF, ts.id), Edge(ts.id, R.VARIANT_OF, onnx.id))
        )
        assert result.edges_created == 2

    # -- walk ----------------------------------------------------------------------------------------
    def _chain(self, store: MetadataStore, m: Maker, n: int, rel: Relation = R.DERIVED_FROM) -> list[Asset]:
        made = [m.asset() for _ in range(n)]
        write(store, *made, edges=tuple(Edge(made[i].id, rel, made[i + 1].id) for i in range(n - 1)))
        return made

    def test_reads_inside_reading_answer_as_outside_it_nested_and_after_a_write(
        self, store: MetadataStore, m: Maker
    ) -> None:
        a, b = m.asset(), m.asset()
        write(store, a, b, edges=(Edge(a.id, R.DERIVED_FROM, b.id),))
        outside = (store.get_entity(a.id), [s.entity for s in store.walk([a.id], "up")])
        later = m.asset()
        with store.reading():
            assert (store.get_entity(a.id), [s.entity for s in store.walk([a.id], "up")]) == outside
            with store.reading():
                assert store.find_edges(src=[a.id])[0].dst == b.id
            write(store, later)  # a write inside commits on its own
        assert store.get_entity(later.id) == later
        with pytest.raises(NotFound), store.reading():
            store.get_entity(new_id())
        assert store.get_entity(b.id) == b

    def test_when_walking_up_and_down_then_depths_and_via_edges_are_those_of_the_shortest_path(
        self, store: MetadataStore, m: Maker
    ) -> None:
        c = self._chain(store, m, 4)
        write(store, edges=(Edge(c[0].id, R.DERIVED_FROM, c[2].id),))
        up = store.walk([c[0].id], "up")
        assert [(s.entity, s.depth) for s in up] == [(c[1].id, 1), (c[2].id, 1), (c[3].id, 2)]
        assert all(s.via is not None and s.via.dst == s.entity for s in up)
        assert next(s for s in up if s.entity == c[3].id).via.src == c[2].id  # type: ignore[union-attr]
        down = store.walk([c[3].id], "down")
        assert {(s.entity, s.depth) for s in down} == {(c[2].id, 1), (c[1].id, 2), (c[0].id, 2)}
        assert all(s.via is not None and s.via.src == s.entity for s in down)
        assert store.walk([c[0].id], "up", max_depth=1) == up[:2]
        assert store.walk([c[0].id], "up", max_depth=0) == []
        assert store.walk([new_id()], "up") == []

    def test_a_closure_reaches_what_the_walk_reaches_with_kinds_parents_and_annotations(
        self, store: MetadataStore, m: Maker
    ) -> None:
        a, b, dv, p = m.asset(), m.asset(), m.version(), m.party()
        run, weights = m.run(), Weights(**m._base("w", {"content_hash": "w" * 64}))
        edges = (
            Edge(a.id, R.MEMBER_OF, dv.id),
            Edge(a.id, R.DERIVED_FROM, b.id),
            Edge(a.id, R.DEPICTS, p.id),
            Edge(run.id, R.USED, dv.id),
            Edge(weights.id, R.GENERATED_BY, run.id),
        )
        write(store, a, b, dv, p, run, weights, edges=edges)
        for start, way in ((weights.id, "up"), (b.id, "down")):
            walked = store.walk([start], way)  # type: ignore[arg-type]
            got = store.closure([start], way, annotate=[R.DEPICTS])  # type: ignore[arg-type]
            assert list(got.kinds) == [start, *(s.entity for s in walked)]
            assert got.depth == {s.entity: s.depth for s in walked}
            for s in walked:
                assert s.via is not None
                near = s.via.src if s.via.dst == s.entity else s.via.dst
                assert got.parent[s.entity] == (near, s.via.relation)
        up = store.closure([weights.id], "up", annotate=[R.DEPICTS])
        assert up.kinds[a.id] is Kind.ASSET and up.kinds[weights.id] is Kind.WEIGHTS
        assert up.annotations == [(a.id, R.DEPICTS, p.id)]
        assert [i for i, _ in up.path(a.id)] == [weights.id, run.id, dv.id, a.id]
        assert [r for _, r in up.path(a.id)] == [R.GENERATED_BY, R.USED, R.MEMBER_OF, None]
        assert store.closure([new_id()], "up").kinds == {}

    def test_when_relations_are_given_then_the_walk_follows_only_those(
        self, store: MetadataStore, m: Maker
    ) -> None:
        a, b, p = m.asset(), m.asset(), m.party()
        write(store, a, b, p, edges=(Edge(a.id, R.DERIVED_FROM, b.id), Edge(a.id, R.DEPICTS, p.id)))
        assert ids(store.walk([a.id], "up", relations=[R.DEPICTS])) == {p.id}
        assert ids(store.walk([a.id], "up", relations=[R.DERIVED_FROM, R.DEPICTS])) == {b.id, p.id}
        assert store.walk([a.id], "up", relations=[]) == []

    def test_upstream_is_the_dst_of_an_edge_except_for_member_of_where_it_is_the_src(
        self, store: MetadataStore, m: Maker
    ) -> None:
        a, b, dv, p = m.asset(), m.asset(), m.version(), m.party()
        run, weights = m.run(), Weights(**m._base("w", {"content_hash": "w" * 64}))
        edges = (
            Edge(a.id, R.MEMBER_OF, dv.id),
            Edge(a.id, R.DERIVED_FROM, b.id),
            Edge(a.id, R.DEPICTS, p.id),
            Edge(run.id, R.USED, dv.id),
            Edge(weights.id, R.GENERATED_BY, run.id),
        )
        write(store, a, b, dv, p, run, weights, edges=edges)
        up = {s.entity: s.depth for s in store.walk([weights.id], "up")}
        assert up == {run.id: 1, dv.id: 2, a.id: 3, b.id: 4, p.id: 4}
        via = {s.entity: s.via for s in store.walk([weights.id], "up")}
        assert via[a.id] == store.find_edges(src=[a.id], relations=[R.MEMBER_OF])[0]
        down = {s.entity: s.depth for s in store.walk([b.id], "down")}
        assert down == {a.id: 1, dv.id: 2, run.id: 3, weights.id: 4}
        assert ids(store.walk([dv.id], "up", relations=[R.MEMBER_OF])) == {a.id}
        assert ids(store.walk([a.id], "down", relations=[R.MEMBER_OF])) == {dv.id}
        assert store.walk([a.id], "up", relations=[R.MEMBER_OF]) == []

    def test_when_member_of_joins_anything_but_an_asset_to_a_dataset_version_then_invalid_input(
        self, store: MetadataStore, m: Maker
    ) -> None:
        # Walks rely on it: they look for member_of edges only at the kinds it can join.
        a, dv, run = m.asset(), m.version(), m.run()
        write(store, a, dv, run)
        cases = [
            (
                (m.run(),),
                lambda new: Edge(new.id, R.MEMBER_OF, dv.id),
                "source is of kind run",
            ),  # in the batch
            ((), lambda _: Edge(run.id, R.MEMBER_OF, dv.id), "source is of kind run"),  # stored
            ((m.asset(),), lambda new: Edge(new.id, R.MEMBER_OF, run.id), "target is of kind run"),
            ((), lambda _: Edge(dv.id, R.MEMBER_OF, a.id), "source is of kind dataset_version"),
        ]
        for entities, edge, says in cases:
            bad = edge(entities[0] if entities else None)
            good = m.asset()
            with pytest.raises(InvalidInput, match=says) as refused:
                write(store, good, *entities, edges=(Edge(good.id, R.MEMBER_OF, dv.id), bad))
            assert "member_of joins kind asset to kind dataset_version" in (refused.value.hint or "")
            assert store.get_entities([good.id, *(e.id for e in entities)]) == {}
        assert ids(store.walk([dv.id], "up")) == set()
        write(store, edges=(Edge(a.id, R.MEMBER_OF, dv.id),))
        assert ids(store.walk([dv.id], "up")) == {a.id}

    def test_when_through_is_given_then_edges_are_followed_only_from_downstream_ends_of_those_kinds(
        self, store: MetadataStore, m: Maker
    ) -> None:
        # A filtered version keeps a derived_from edge to its parent, but only its own members count.
        kept, dropped = m.asset(), m.asset()
        parent, child = m.version("plates", 1), m.version("plates", 2)
        curation = m.run()
        edges = (
            Edge(kept.id, R.MEMBER_OF, parent.id),
            Edge(dropped.id, R.MEMBER_OF, parent.id),
            Edge(kept.id, R.MEMBER_OF, child.id),
            Edge(child.id, R.DERIVED_FROM, parent.id),
            Edge(child.id, R.GENERATED_BY, curation.id),
            Edge(curation.id, R.USED, parent.id),
        )
        write(store, kept, dropped, parent, child, curation, edges=edges)
        material = {
            R.MEMBER_OF: {Kind.DATASET_VERSION},
            R.DERIVED_FROM: {Kind.ASSET},
            R.GENERATED_BY: {Kind.ASSET},
            R.USED: {Kind.RUN},
        }
        assert ids(store.walk([child.id], "up")) == {kept.id, parent.id, dropped.id, curation.id}
        assert ids(store.walk([child.id], "up", through=material)) == {kept.id}
        assert ids(store.walk([dropped.id], "down", through=material)) == {parent.id, curation.id}
        assert ids(store.walk([dropped.id], "down")) == {parent.id, child.id, curation.id}
        assert ids(store.walk([child.id], "up", through={R.DERIVED_FROM: {Kind.DATASET_VERSION}})) == {
            parent.id
        }
        narrowed = store.walk([child.id], "up", through=material, relations=[R.DERIVED_FROM])
        assert narrowed == []

    def test_when_the_graph_has_cycles_then_the_walk_ends_and_excludes_the_start(
        self, store: MetadataStore, m: Maker
    ) -> None:
        a, b, c = m.asset(), m.asset(), m.asset()
        loop = (
            Edge(a.id, R.VARIANT_OF, b.id),
            Edge(b.id, R.VARIANT_OF, c.id),
            Edge(c.id, R.VARIANT_OF, a.id),
        )
        write(store, a, b, c, edges=loop)
        for direction in ("up", "down"):
            steps = store.walk([a.id], direction)
            assert sorted(s.depth for s in steps) == [1, 2]
            assert a.id not in ids(steps)
            assert len(store.walk([a.id], direction, max_depth=50)) == 2

    @pytest.mark.timeout(120)
    def test_when_many_paths_lead_to_the_same_nodes_then_each_is_returned_once(
        self, store: MetadataStore, m: Maker
    ) -> None:
        # Seven fully connected layers of eight nodes: 8**6 (262,144) paths from top to bottom.
        layers = [[m.asset() for _ in range(8)] for _ in range(7)]
        edges = tuple(
            Edge(x.id, R.DERIVED_FROM, y.id) for i in range(6) for x in layers[i] for y in layers[i + 1]
        )
        write(store, *[a for layer in layers for a in layer], edges=edges)
        for depth in (None, 6, 3):
            steps = store.walk([layers[0][0].id], "up", max_depth=depth)
            reached = 6 if depth is None else depth
            assert len(steps) == len(ids(steps)) == 8 * reached
            assert {s.depth for s in steps} == set(range(1, reached + 1))
        down = store.walk([layers[6][0].id], "down")
        assert len(down) == len(ids(down)) == 8 * 6

    def test_when_assets_share_many_dataset_versions_then_walks_stay_exact(
        self, store: MetadataStore, m: Maker
    ) -> None:
        assets = [m.asset() for _ in range(200)]
        versions = [m.version("plates", v) for v in range(1, 21)]
        dataset, run = Dataset(**m._base("plates", {})), m.run()
        edges = [Edge(a.id, R.MEMBER_OF, v.id) for a in assets for v in versions]
        edges += [Edge(v.id, R.VERSION_OF, dataset.id) for v in versions]
        edges += [Edge(run.id, R.USED, v.id) for v in versions]
        write(store, *assets, *versions, dataset, run, edges=tuple(edges))
        up = store.walk([run.id], "up")
        assert {s.entity: s.depth for s in up} == {
            **{v.id: 1 for v in versions},
            **{a.id: 2 for a in assets},
            dataset.id: 2,
        }
        assert len(up) == len(ids(up)) == 221
        down = store.walk([a.id for a in assets], "down")
        assert {s.entity: s.depth for s in down} == {**{v.id: 1 for v in versions}, run.id: 2}
        assert {s.entity: s.depth for s in store.walk([dataset.id], "down", max_depth=5)} == {
            **{v.id: 1 for v in versions},
            run.id: 2,
        }

    def test_when_a_project_is_given_then_the_walk_never_enters_another_project(
        self, store: MetadataStore, m: Maker
    ) -> None:
        a, b = m.asset(project="show"), m.asset(project="show")
        foreign = m.asset(project="other")
        beyond = m.asset(project="show")
        chain = (
            Edge(a.id, R.DERIVED_FROM, b.id),
            Edge(b.id, R.DERIVED_FROM, foreign.id),
            Edge(foreign.id, R.DERIVED_FROM, beyond.id),
        )
        write(store, a, b, foreign, beyond, edges=chain)
        assert ids(store.walk([a.id], "up", project="show")) == {b.id}
        assert ids(store.walk([a.id], "up")) == {b.id, foreign.id, beyond.id}
        assert ids(store.walk([beyond.id], "down", project="show")) == set()
        assert store.walk([foreign.id], "up", project="show") == []
        assert ids(store.walk([foreign.id], "up", project="other")) == set()

    def test_when_some_starts_are_in_another_project_then_the_walk_goes_on_from_the_others(
        self, store: MetadataStore, m: Maker
    ) -> None:
        # A start outside the project is dropped before the first level: it must change nothing
        # else, the order of the steps included.
        a, b, p = m.asset(project="show"), m.asset(project="show"), m.party(project="show")
        dv, foreign = m.version(project="show"), m.asset(project="other")
        edges = (
            Edge(a.id, R.MEMBER_OF, dv.id),
            Edge(b.id, R.MEMBER_OF, dv.id),
            Edge(a.id, R.DEPICTS, p.id),
            Edge(foreign.id, R.DEPICTS, p.id),
            Edge(foreign.id, R.MEMBER_OF, dv.id),
        )
        write(store, a, b, p, dv, foreign, edges=edges)

        def steps(start: list[Any], way: str) -> list[tuple[Any, int, Any]]:
            return [(s.entity, s.depth, s.via) for s in store.walk(start, way, project="show", entities=True)]

        assert steps([foreign.id, dv.id, a.id], "up") == steps([dv.id, a.id], "up")
        # Breadth first from the starts in the order given: what each start reaches, in that order.
        assert [e for e, _, _ in steps([dv.id, a.id], "up")] == [b.id, p.id]
        assert [e for e, _, _ in steps([a.id, dv.id], "up")] == [p.id, b.id]
        assert steps([foreign.id, p.id], "down") == steps([p.id], "down")
        assert {e for e, _, _ in steps([p.id], "down")} == {a.id, dv.id}
        assert steps([foreign.id], "up") == steps([foreign.id], "down") == []

    def test_when_entities_are_asked_then_each_step_carries_its_entity_and_nothing_else_changes(
        self, store: MetadataStore, m: Maker
    ) -> None:
        a, b = m.asset(project="show"), m.asset(project="show")
        foreign, dv, p = m.asset(project="other"), m.version(project="show"), m.party(project="show")
        edges = (
            Edge(a.id, R.DERIVED_FROM, b.id, attrs={"op": "crop"}),
            Edge(b.id, R.DERIVED_FROM, foreign.id),
            Edge(b.id, R.MEMBER_OF, dv.id),
            Edge(b.id, R.DEPICTS, p.id),
        )
        write(store, a, b, foreign, dv, p, edges=edges)
        for start, way, project in ((a.id, "up", "show"), (a.id, "up", None), (foreign.id, "down", None)):
            plain = store.walk([start], way, project=project)
            full = store.walk([start], way, project=project, entities=True)
            assert [(s.entity, s.depth, s.via) for s in full] == [(s.entity, s.depth, s.via) for s in plain]
            assert all(s.node is None for s in plain)
            stored = store.get_entities(s.entity for s in plain)
            assert [s.node for s in full] == [stored[s.entity] for s in plain]
        assert {s.node.id for s in store.walk([a.id], "up", project="show", entities=True) if s.node} == {
            b.id,
            p.id,
        }
