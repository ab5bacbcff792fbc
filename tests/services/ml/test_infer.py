"""``infer``: tiled inference over frames, recorded with its session, inputs and outputs; refusals."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from rmtc.core.entities import Asset, Inference, ModelVersion, Session
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import InvalidInput, RightsViolation
from rmtc.services.ml import ML
from rmtc.vfx.image import Image
from rmtc.vfx.imageio import read_image, write_image

from .conftest import licensed_show, recipe_data, write_recipe


def _publish(t, weights_file, *, finish=None, name="matte"):
    t.parties.add_license("eula", grants=["inference", "derivatives"], finish=finish)
    weights = ML(t).models.push(weights_file, name=f"{name}-src", license="eula").weights
    return ML(t).publisher.publish(weights, name, alias="production", variants=[])


def _plates(footage):
    return footage.sequence("plate").pattern


def test_when_frames_are_inferred_then_the_inference_links_model_inputs_outputs_and_talent(
    tracker, footage, tmp_path
):
    show = licensed_show(tracker, footage)
    ml = ML(tracker)
    trained = ml.training.train(write_recipe(tmp_path / "r.toml", recipe_data("matte@1")))
    version = ml.publisher.publish(trained.weights, "matte", alias="production", variants=[])

    done = ml.inferences.run(
        "matte@production",
        input=_plates(footage),
        output=str(tmp_path / "out" / "matte.####.exr"),
        frames="1005-1006",
        tile=32,
        overlap=8,
    )

    inf = done.inference
    assert isinstance(inf, Inference) and inf.frames == "1005-1006" and inf.attrs["tile"] == 32
    assert [a.frame for a in done.outputs] == [1005, 1006]
    header = read_image(done.outputs[0].uri)
    assert header.metadata["rmtc/model_version"] == str(version.id)
    assert header.metadata["rmtc/inference"] == str(inf.id)
    assert header.channel_names == ("A",) and header.pixels.shape == (40, 48, 1)
    session = tracker.neighbours(inf, Relation.PART_OF)
    assert len(session) == 1 and isinstance(session[0], Session) and session[0].application == "cli"
    used = tracker.neighbours(inf, Relation.USED)
    assert [e.id for e in used if isinstance(e, ModelVersion)] == [version.id]
    inputs = [e for e in used if isinstance(e, Asset)]
    assert sorted(a.frame for a in inputs) == [1005, 1006] and {a.storage for a in inputs} == {"copy"}
    made = tracker.neighbours(inf, Relation.GENERATED_BY, direction="in")
    assert {a.id for a in made} == {a.id for a in done.outputs}
    assert all(tracker.blobs.exists(a.content_hash) for a in made)
    found = tracker.rights.contains(done.outputs[0], show.talent)
    assert found.contains
    through_model = [[s["label"] for s in p] for p in found.paths if p[2]["label"] == version.label]
    assert through_model, found.paths
    labels = through_model[0]
    assert labels[:2] == [done.outputs[0].label, inf.label]
    assert "dataset_version:matte@1" in labels and labels[-1] == "party:ava_reyes"


def test_when_the_model_version_is_blocked_then_inference_is_refused_naming_the_revocation(
    project, weights_file, footage, tmp_path
):
    version = _publish(project, weights_file)
    project.revoker.revoke("license:eula", reason="consent withdrawn")
    with pytest.raises(
        RightsViolation, match=r"infer refused: model_version:matte@1 is blocked.*eula.*consent"
    ):
        ML(project).inferences.run(
            "matte@production", input=_plates(footage), output=str(tmp_path / "o.####.exr"), frames="1005"
        )
    assert project.find(Kind.INFERENCE).items == []
    assert not (tmp_path / "o.1005.exr").exists()
    refused = project.store.find_audit(action="rights.refused", target=version.id).items
    assert refused and "consent withdrawn" in refused[0].detail["blocked"]


def test_when_the_licence_has_expired_then_inference_is_refused_for_lack_of_the_right(
    tracker, weights_file, footage, tmp_path
):
    _publish(tracker, weights_file, finish=date(2026, 3, 31))
    tracker.clock.advance(timedelta(days=120))
    with pytest.raises(RightsViolation, match="infer refused: model_version:matte@1 lacks the 'inference'"):
        ML(tracker).inferences.run(
            "matte", input=_plates(footage), output=str(tmp_path / "o.####.exr"), frames="1005"
        )
    assert tracker.find(Kind.INFERENCE).items == []


def _bad_plate(tmp_path, frame, *, nan=False, channels=3):
    pixels = np.full((40, 48, channels), 0.5, np.float32)
    if nan:
        pixels[3, 4, 0] = np.inf
    names = ("R", "G", "B")[:channels] if channels <= 3 else tuple(f"c{i}" for i in range(channels))
    return write_image(tmp_path / "in" / f"plate.{frame}.exr", Image(pixels, names))


def test_when_an_input_has_infinite_pixels_then_it_is_named_unless_asked_to_fix_them(
    project, weights_file, tmp_path
):
    _publish(project, weights_file)
    (tmp_path / "in").mkdir()
    _bad_plate(tmp_path, 1001)
    _bad_plate(tmp_path, 1002, nan=True)
    args = {"input": str(tmp_path / "in" / "plate.####.exr"), "output": str(tmp_path / "out" / "m.####.exr")}
    with pytest.raises(InvalidInput, match=r"plate\.1002\.exr has 0 NaN and 1 infinite pixel value"):
        ML(project).inferences.run("matte", **args)
    assert project.find(Kind.INFERENCE).items == []

    done = ML(project).inferences.run("matte", nonfinite="fix", **args)
    assert len(done.outputs) == 2 and np.isfinite(read_image(done.outputs[1].uri).pixels).all()
    inputs = [e for e in project.neighbours(done.inference, Relation.USED) if isinstance(e, Asset)]
    assert {a.storage for a in inputs} == {"reference"}  # unknown frames are ingested by reference


def test_when_an_input_is_damaged_then_inference_stops_naming_it_and_records_nothing(
    project, weights_file, tmp_path
):
    _publish(project, weights_file)
    (tmp_path / "in").mkdir()
    path = _bad_plate(tmp_path, 1001)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InvalidInput, match=r"plate\.1001\.exr"):
        ML(project).inferences.run("matte", input=str(path), output=str(tmp_path / "m.exr"))
    assert project.find(Kind.INFERENCE).items == []


def test_when_inputs_have_too_few_channels_then_inference_says_how_many_it_takes(
    project, weights_file, tmp_path
):
    _publish(project, weights_file)
    (tmp_path / "in").mkdir()
    path = _bad_plate(tmp_path, 1001, channels=2)
    with pytest.raises(
        InvalidInput, match=r"plate\.1001\.exr has 2 channel\(s\) \(R, G\); model_version:matte@1 takes 3"
    ):
        ML(project).inferences.run("matte", input=str(path), output=str(tmp_path / "m.exr"))


def test_when_the_output_would_overwrite_an_input_or_lacks_a_frame_pattern_then_it_is_refused(
    project, weights_file, footage, tmp_path
):
    _publish(project, weights_file)
    plates = _plates(footage)
    with pytest.raises(InvalidInput, match="would overwrite the input frame"):
        ML(project).inferences.run("matte", input=plates, output=plates, frames="1005")
    with pytest.raises(InvalidInput, match="names one file for 2 frames"):
        ML(project).inferences.run(
            "matte", input=plates, output=str(tmp_path / "one.exr"), frames="1005-1006"
        )


def test_when_a_session_is_given_then_inferences_join_it(project, weights_file, footage, tmp_path):
    _publish(project, weights_file)
    ml = ML(project)
    first = ml.inferences.run(
        "matte", input=_plates(footage), output=str(tmp_path / "a.####.exr"), frames="1005"
    )
    second = ml.inferences.run(
        "matte",
        input=_plates(footage),
        output=str(tmp_path / "b.####.exr"),
        frames="1006",
        session=first.session.id,
    )
    assert second.session.id == first.session.id
    members = project.neighbours(first.session, Relation.PART_OF, direction="in")
    assert {m.id for m in members} == {first.inference.id, second.inference.id}


def test_when_only_torchscript_is_published_then_inference_runs_it(project, footage, tmp_path, weights_file):
    from rmtc.ml.convert import export_nuke_torchscript

    project.parties.add_license("eula", grants=["inference"])
    pt = export_nuke_torchscript(weights_file, tmp_path / "m.pt").path
    weights = ML(project).models.push(pt, name="ts", license="eula").weights
    ML(project).publisher.publish(weights, "ts")
    done = ML(project).inferences.run(
        "ts", input=_plates(footage), output=str(tmp_path / "t.####.exr"), frames="1005"
    )
    assert done.inference.attrs["variant"] == "torchscript"
    assert read_image(done.outputs[0].uri).pixels.shape == (40, 48, 1)
