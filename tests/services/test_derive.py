import numpy as np
import pytest

from rmtc.core.kinds import Kind, Relation
from rmtc.errors import Conflict, InvalidInput
from rmtc.services.derive import Derivation


def test_a_filter_keeps_members_and_its_history_but_not_the_dropped_talent(show):
    v = show.t.deriver.derive("ava-plates", ["plates@1"], Derivation(exclude_talent=("marcus_cole",)))
    assert v.member_count == 3
    assert {m.asset for m in show.t.datasets.members(v)} == {a.id for a in show.ava_frames}
    assert [e.dst for e in show.t.store.find_edges(src=[v.id], relations=[Relation.DERIVED_FROM])] == [
        show.both.id
    ]
    (run,) = show.t.neighbours(v, Relation.GENERATED_BY)
    assert run.run_type == "curation" and run.params["transformation"]["exclude_talent"] == ["marcus_cole"]
    assert not show.t.rights.contains(v, "marcus_cole").contains


def test_frame_and_talent_filters_combine(show):
    v = show.t.deriver.derive(
        "pick", ["plates@1"], Derivation(include_talent=("marcus_cole",), frames="1001-1002")
    )
    assert v.member_count == 2


def test_a_filter_that_keeps_nothing_is_refused(show):
    with pytest.raises(InvalidInput, match="keep no member"):
        show.t.deriver.derive("none", ["plates@1"], Derivation(frames="2001-2002"))


def test_a_derived_from_cycle_is_refused(show):
    with pytest.raises(Conflict):
        show.t.link(show.both, Relation.DERIVED_FROM, show.ava_only)


def test_transforms_write_new_frames_derived_from_the_originals(tracker, tmp_path):
    pytest.importorskip("OpenImageIO", reason="the vfx extra is not installed")
    from rmtc.vfx.imageio import Image, read_image, write_image

    talent = tracker.parties.add_talent("ava_reyes")
    lic = tracker.parties.add_license("ava", grants=["training"], parties=[talent])
    for f in (1001, 1002):
        pixels = np.random.default_rng(f).random((16, 24, 3)).astype(np.float32)
        write_image(tmp_path / f"plate.{f}.exr", Image(pixels, ("R", "G", "B")))
    tracker.ingestor.ingest(
        [str(tmp_path / "plate.####.exr")], talent=["ava_reyes"], licenses=["ava"], dataset="src"
    )
    tracker.datasets.snapshot("src")
    v = tracker.deriver.derive(
        "small", ["src@1"], Derivation(transforms=(("crop", "0,0,16,8"), ("resize", "8,4")))
    )
    (member, _) = tracker.datasets.members(v)
    asset = tracker.get(member.asset)
    img = read_image(tracker.blobs.local_path(asset.content_hash))
    assert (img.width, img.height) == (8, 4)
    (original,) = tracker.neighbours(asset, Relation.DERIVED_FROM)
    assert original.kind is Kind.ASSET and original.id != asset.id
    assert tracker.rights.contains(v, "ava_reyes").contains
    assert "training" in tracker.rights.effective(v).held
    assert lic.name == "ava"


def test_an_impossible_crop_names_the_frame_size(tracker, tmp_path):
    pytest.importorskip("OpenImageIO", reason="the vfx extra is not installed")
    from rmtc.vfx.imageio import Image, write_image

    write_image(tmp_path / "p.1001.exr", Image(np.zeros((4, 4, 3), np.float32), ("R", "G", "B")))
    tracker.ingestor.ingest([str(tmp_path / "p.1001.exr")], dataset="tiny")
    tracker.datasets.snapshot("tiny")
    with pytest.raises(InvalidInput, match="outside a 4x4 frame"):
        tracker.deriver.derive("bad", ["tiny@1"], Derivation(transforms=(("crop", "0,0,8,8"),)))
