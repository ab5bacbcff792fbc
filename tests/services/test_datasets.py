import pytest

import rmtc
from rmtc.core.kinds import Relation
from rmtc.errors import InvalidInput


def _assets(tracker, n, prefix="f"):
    from rmtc.core.hashing import hash_bytes

    assets = [
        tracker.new(
            rmtc.Asset, f"{prefix}.{i:04d}.exr", content_hash=hash_bytes(f"{prefix}{i}".encode()), size=1
        )
        for i in range(n)
    ]
    return list(tracker.record(assets).entities)


def test_a_snapshot_freezes_the_working_set_into_version_one(tracker):
    assets = _assets(tracker, 3)
    tracker.datasets.create("plates")
    assert tracker.datasets.add("plates", assets) == 3
    v1 = tracker.datasets.snapshot("dataset:plates", message="first")
    assert (v1.version, v1.member_count, v1.attrs["message"]) == (1, 3, "first")
    assert {m.asset for m in tracker.datasets.members(v1)} == {a.id for a in assets}
    assert tracker.resolve("dataset:plates@1") == v1
    assert tracker.resolve("dataset:plates@latest") == v1


def test_snapshotting_unchanged_members_returns_the_same_version(tracker):
    assets = _assets(tracker, 2)
    tracker.datasets.create("plates")
    tracker.datasets.add("plates", assets)
    assert tracker.datasets.snapshot("dataset:plates") == tracker.datasets.snapshot("dataset:plates")


def test_a_changed_working_set_makes_a_new_version_and_the_old_one_stays(tracker):
    a = _assets(tracker, 3)
    tracker.datasets.create("plates")
    tracker.datasets.add("plates", a[:2])
    v1 = tracker.datasets.snapshot("dataset:plates")
    tracker.datasets.add("plates", a[2:])
    v2 = tracker.datasets.snapshot("dataset:plates")
    assert v2.version == 2 and v2.content_hash != v1.content_hash
    assert len(tracker.datasets.members(v1)) == 2
    assert [v.version for v in tracker.datasets.versions("plates")] == [1, 2]
    tracker.datasets.remove("plates", a[2:])
    assert tracker.datasets.snapshot("dataset:plates").version == 3


def test_the_version_hash_depends_on_members_not_on_their_order(tracker):
    a = _assets(tracker, 3)
    tracker.datasets.create("one")
    tracker.datasets.create("two")
    tracker.datasets.add("one", a)
    tracker.datasets.add("two", list(reversed(a)))
    assert (
        tracker.datasets.snapshot("dataset:one").content_hash
        == tracker.datasets.snapshot("dataset:two").content_hash
    )


def test_paired_datasets_keep_input_and_target_together(tracker):
    ins, outs = _assets(tracker, 2, "in"), _assets(tracker, 2, "gt")
    tracker.datasets.create("matte", paired=True)
    tracker.datasets.add_pairs("matte", list(zip(ins, outs, strict=True)))
    v = tracker.datasets.snapshot("dataset:matte")
    members = tracker.datasets.members(v)
    assert [(m.asset, m.target) for m in members] == [(i.id, o.id) for i, o in zip(ins, outs, strict=True)]
    roles = {e.attrs["role"] for e in tracker.store.find_edges(dst=[v.id], relations=[Relation.MEMBER_OF])}
    assert roles == {"input", "target"}


def test_pairs_into_a_plain_dataset_are_refused_and_vice_versa(tracker):
    a = _assets(tracker, 2)
    tracker.datasets.create("plain")
    tracker.datasets.create("pairs", paired=True)
    with pytest.raises(InvalidInput, match="not paired"):
        tracker.datasets.add_pairs("plain", [(a[0], a[1])])
    with pytest.raises(InvalidInput, match="is paired"):
        tracker.datasets.add("pairs", a)


def test_an_empty_working_set_cannot_be_snapshot(tracker):
    tracker.datasets.create("empty")
    with pytest.raises(InvalidInput, match="no members"):
        tracker.datasets.snapshot("dataset:empty")


def test_a_version_walks_up_to_its_members(tracker):
    a = _assets(tracker, 2)
    tracker.datasets.create("plates")
    tracker.datasets.add("plates", a)
    v = tracker.datasets.snapshot("dataset:plates")
    ids = set(tracker.lineage.upstream_ids(v))
    assert {x.id for x in a} <= ids
