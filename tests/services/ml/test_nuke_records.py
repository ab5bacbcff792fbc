"""The tracking side of Nuke: .cat files as variants, CopyCat data directories as runs."""

from __future__ import annotations

import pytest

from rmtc.core.entities import Asset, Checkpoint, Weights
from rmtc.core.kinds import Relation
from rmtc.errors import InvalidInput, NotFound
from rmtc.services.ml import ML
from rmtc.services.ml.nuke import scan_copycat, step_of


@pytest.fixture
def version(tracker, weights_file):
    tracker.parties.add_license("eula", grants=["inference", "derivatives"])
    weights = ML(tracker).models.push(weights_file, name="src", license="eula").weights
    return ML(tracker).publisher.publish(weights, "matte", variants=[])


def test_when_a_cat_is_registered_then_it_is_a_variant_of_its_model_version(tracker, version, tmp_path):
    cat = tmp_path / "matte_v1.cat"
    cat.write_bytes(b"CAT\x00 made by CatFileCreator")

    recorded = ML(tracker).nuke.register_cat(cat, "matte@1")

    assert isinstance(recorded, Weights) and recorded.format == "cat"
    assert [e.id for e in tracker.neighbours(recorded, Relation.VARIANT_OF)] == [version.id]
    assert ML(tracker).nuke.version_of_cat(cat).id == version.id
    assert tracker.rights.check(recorded, "inference").allows("inference")


def test_when_the_file_is_not_a_cat_then_registering_it_is_refused(tracker, version, tmp_path):
    with pytest.raises(NotFound):
        ML(tracker).nuke.register_cat(tmp_path / "missing.cat", "matte@1")
    other = tmp_path / "model.pt"
    other.write_bytes(b"x")
    with pytest.raises(InvalidInput, match="is not a .cat file"):
        ML(tracker).nuke.register_cat(other, "matte@1")


def test_when_a_version_has_no_torchscript_variant_then_one_is_converted_for_nuke(tracker, version):
    found, digest = ML(tracker).nuke.torchscript_for("matte@1")
    assert found.id == version.id and tracker.blobs.exists(digest)
    again = ML(tracker).nuke.torchscript_for(version)
    assert again[1] == digest


@pytest.mark.parametrize(
    ("name", "step"),
    [("Training_1000.cat", 1000), ("matte.v2.5000.cat", 5000), ("final.cat", None), ("step-00200.png", 200)],
)
def test_the_step_of_a_copycat_file_is_the_last_number_in_its_name(name, step):
    assert step_of(name) == step


def _copycat_dir(root):
    root.mkdir()
    for step in (2000, 500, 1000):
        (root / f"Training_{step}.cat").write_bytes(f"cat {step}".encode())
        (root / f"Training_{step}.png").write_bytes(b"\x89PNG sheet " + str(step).encode())
    return root


def test_a_copycat_directory_is_read_oldest_step_first(tmp_path):
    found = scan_copycat(_copycat_dir(tmp_path / "cc"))
    assert [c.step for c in found.cats] == [500, 1000, 2000] and found.final.step == 2000
    assert len(found.sheets) == 3


def test_when_a_directory_holds_no_cat_then_it_is_not_a_copycat_directory(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput, match="holds no .cat file"):
        scan_copycat(tmp_path / "empty")
    with pytest.raises(NotFound):
        scan_copycat(tmp_path / "absent")


def test_when_a_copycat_directory_is_imported_then_it_is_a_finished_run_that_used_its_frames(
    tracker, footage, tmp_path
):
    lic = tracker.parties.add_license("plates", grants=["training"])
    tracker.ingestor.ingest([footage.sequence("plate").pattern], licenses=[lic], probe_media=False)
    ML(tracker).solutions.add("roto", inputs=["rgb"], outputs=["alpha"])

    done = ML(tracker).nuke.import_copycat(
        _copycat_dir(tmp_path / "cc"),
        frames=[footage.sequence("plate").pattern, footage.sequence("matte").pattern],
        solution="roto",
        params={"epochs": 2000},
    )

    run = done.run
    assert run.run_type == "training" and run.params["tool"] == "CopyCat" and run.params["epochs"] == 2000
    assert tracker.runs.status(run).state == "finished"
    assert [s.name for s in tracker.neighbours(run, Relation.PART_OF)] == ["roto"]
    used = tracker.neighbours(run, Relation.USED)
    assert len(used) == 12 and all(isinstance(a, Asset) for a in used)
    made = tracker.neighbours(run, Relation.GENERATED_BY, direction="in")
    assert sorted(c.step for c in made if isinstance(c, Checkpoint)) == [500, 1000, 2000]
    assert [w.name for w in made if isinstance(w, Weights)] == ["Training_2000.cat"]
    assert len([a for a in made if isinstance(a, Asset)]) == 3
    report = tracker.rights.check(done.weights, "training")
    assert not report.allows("training")  # the mattes were imported without a licence
    assert "no licence governs asset:matte" in report.withheld["training"][0].reason
