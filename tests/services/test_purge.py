import pytest

from rmtc.errors import Conflict, InvalidInput


def test_purging_an_asset_a_published_model_used_needs_force(show):
    with pytest.raises(Conflict, match="published model version"):
        show.t.purger.purge(show.marcus_frames[0], reason="right to be forgotten")


def test_a_forced_purge_erases_keeps_the_tombstone_and_flags_downstream(show):
    asset = show.marcus_frames[0]
    report = show.t.purger.purge(asset, reason="right to be forgotten", force=True)
    assert show.t.get(asset.id).content_hash == asset.content_hash  # provenance keeps the hash
    flags = show.t.store.get_flags([asset.id, show.model_version.id, show.both.id])
    assert flags[asset.id]["purged"]["reason"] == "right to be forgotten"
    assert "blocked" in flags[show.model_version.id]
    assert "source_purged" in flags[show.both.id]
    assert [e.id for e in report.blocked] == [show.model_version.id]
    with pytest.raises(Conflict):
        show.t.purger.purge(asset, reason="again", force=True)


def test_a_purge_needs_a_reason(show):
    with pytest.raises(InvalidInput, match="needs a reason"):
        show.t.purger.purge(show.ava_frames[0], reason=" ")
