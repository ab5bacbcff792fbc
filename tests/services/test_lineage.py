import pytest

from rmtc.core.kinds import Kind
from rmtc.errors import NotFound


def test_the_shortest_evidence_path_runs_from_a_model_version_to_a_talent(show):
    chain = show.t.lineage.path(show.model_version, show.ava)
    kinds = [e.kind for e, _ in chain]
    assert kinds == [Kind.MODEL_VERSION, Kind.WEIGHTS, Kind.RUN, Kind.DATASET_VERSION, Kind.ASSET, Kind.PARTY]
    assert chain[-1][1] is None and chain[0][1].relation.value == "derived_from"


def test_a_path_is_found_downstream_too_and_none_when_unconnected(show):
    assert [e.kind for e, _ in show.t.lineage.path(show.ava_frames[0], show.output)][-1] is Kind.ASSET
    assert show.t.lineage.path(show.ava_only, show.model_version) is None


def test_kinds_filter_what_is_shown_not_what_is_walked(show):
    trace = show.t.lineage.trace(show.output, direction="up", kinds=[Kind.PARTY])
    assert {e.name for e in trace.entities(Kind.PARTY)} == {"ava_reyes", "marcus_cole"}
    assert trace.entities(Kind.RUN) == []


def test_dot_output_has_a_node_per_entity_and_an_arrow_per_edge(show):
    trace = show.t.lineage.trace(show.model_version, direction="up", depth=2)
    dot = trace.to_dot()
    assert dot.startswith("digraph provenance {") and dot.rstrip().endswith("}")
    assert dot.count("->") == len(trace.nodes) - 1
    assert f'"{show.weights.id}"' in dot


def test_a_trace_walks_with_the_collector_paused_and_resumes_it_however_it_ends(show, monkeypatch):
    import gc

    seen: list[bool] = []
    walk = type(show.t.store).walk

    def walking(self, *args, **kwargs):
        seen.append(gc.isenabled())
        return walk(self, *args, **kwargs)

    monkeypatch.setattr(type(show.t.store), "walk", walking)
    assert gc.isenabled()
    assert show.t.lineage.trace(show.output, direction="both").nodes
    assert seen == [False, False] and gc.isenabled()
    with pytest.raises(NotFound):
        show.t.lineage.trace("party:nobody")
    assert gc.isenabled()
