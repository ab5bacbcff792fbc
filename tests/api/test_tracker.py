import uuid

import pytest

import rmtc
from rmtc.core.entities import Dataset, Party
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import AmbiguousReference, Conflict, InvalidInput, NotFound


def test_references_resolve_by_uuid_prefix_and_name(tracker):
    ds = tracker.datasets.create("plates")
    assert tracker.resolve(str(ds.id)) == ds
    assert tracker.resolve(str(ds.id)[:8]) == ds
    assert tracker.resolve("dataset:plates") == ds
    assert tracker.resolve(ds) == ds


def test_when_a_reference_matches_nothing_then_not_found_says_how_to_look(tracker):
    with pytest.raises(NotFound, match="dataset:ghost matches nothing"):
        tracker.resolve("dataset:ghost")
    with pytest.raises(NotFound):
        tracker.resolve(str(uuid.uuid4()))


def test_when_a_name_is_shared_then_the_reference_is_ambiguous_and_lists_the_ids(tracker):
    a = tracker.new(rmtc.Asset, "plate.1001.exr", content_hash="a" * 64, size=1)
    b = tracker.new(rmtc.Asset, "plate.1001.exr", content_hash="b" * 64, size=1)
    tracker.record([a, b])
    with pytest.raises(AmbiguousReference) as err:
        tracker.resolve("asset:plate.1001.exr")
    assert str(a.id) in err.value.message and str(b.id) in err.value.message


def test_when_the_expected_kind_differs_then_the_error_names_both(tracker):
    tracker.datasets.create("plates")
    with pytest.raises(InvalidInput, match="is a dataset, not a run"):
        tracker.resolve("dataset:plates", Kind.RUN)


def test_duplicate_names_are_conflicts_with_a_fix(tracker):
    tracker.datasets.create("plates")
    with pytest.raises(Conflict, match="dataset 'plates' already exists"):
        tracker.datasets.create("plates")


def test_link_records_an_edge_once_and_audits_it(tracker):
    ds = tracker.datasets.create("plates")
    talent = tracker.parties.add_talent("ava_reyes")
    tracker.link(ds, "attributed_to", talent)
    tracker.link(ds, Relation.ATTRIBUTED_TO, talent)
    edges = tracker.store.find_edges(src=[ds.id], relations=[Relation.ATTRIBUTED_TO])
    assert len(edges) == 1
    actions = [e.action for e in tracker.store.find_audit(target=ds.id).items]
    assert actions.count("link") == 2


def test_every_write_is_attributed_in_the_audit_log(tracker):
    ds = tracker.datasets.create("plates")
    (event,) = tracker.store.find_audit(target=ds.id, action="dataset.create").items
    assert event.actor == "tester"


def test_entities_of_another_project_are_invisible(tracker):
    ds = tracker.datasets.create("plates")
    other = rmtc.Tracker(tracker.store, tracker.blobs, clock=tracker.clock, user="x", project="other")
    with pytest.raises(NotFound):
        other.resolve(str(ds.id))
    with pytest.raises(NotFound):
        other.resolve("dataset:plates")
    assert isinstance(other.datasets.create("plates"), Dataset)


def test_find_and_iter_page_through_everything(tracker):
    for i in range(7):
        tracker.parties.add_talent(f"talent{i}")
    first = tracker.find(Kind.PARTY, limit=3)
    assert len(first.items) == 3 and first.next_cursor
    assert [p.name for p in tracker.iter(tracker.query(Kind.PARTY), page_size=2)] == [
        f"talent{i}" for i in range(7)
    ]
    assert all(isinstance(p, Party) for p in tracker.find(Kind.PARTY, talent=True).items)


def test_open_without_a_project_says_to_init(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RMTC_STORE", raising=False)
    with pytest.raises(NotFound) as err:
        rmtc.open()
    assert "rmtc init" in err.value.one_line()


def test_a_project_folder_is_found_from_a_subfolder(project_dir, monkeypatch):
    sub = project_dir / "shots" / "sh010"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    monkeypatch.delenv("RMTC_STORE", raising=False)
    with rmtc.open() as t:
        assert t.root == project_dir / ".rmtc"


def test_new_takes_an_id_drawn_in_advance(tracker):
    from rmtc.core.ids import new_ids

    (wanted,) = new_ids(1)
    asset = tracker.new(rmtc.Asset, "plate.1001.exr", entity_id=wanted, content_hash="0" * 64, size=1)
    assert asset.id == wanted
    assert tracker.new(rmtc.Asset, "plate.1002.exr", content_hash="1" * 64, size=1).id != wanted
