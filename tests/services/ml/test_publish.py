"""``publish``: immutable numbered versions with their variants, aliases, and the rights to publish."""

from __future__ import annotations

import pytest

from rmtc.core.entities import Model
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import Conflict, InvalidInput, RightsViolation
from rmtc.services.ml import ML


@pytest.fixture
def weights(tracker, weights_file):
    tracker.parties.add_license("eula", grants=["inference", "derivatives"])
    return ML(tracker).models.push(weights_file, name="matte-src", license="eula").weights


def test_when_weights_are_published_twice_then_versions_number_up_and_the_alias_moves(tracker, weights):
    ml = ML(tracker)
    one = ml.publisher.publish(weights, "matte", alias="production")
    two = ml.publisher.publish(weights, "matte", alias="production", variants=[])

    assert (one.label, two.label) == ("model_version:matte@1", "model_version:matte@2")
    assert set(one.variants) == {"safetensors", "torchscript"} and set(two.variants) == {"safetensors"}
    assert one.variants["safetensors"] == weights.content_hash
    assert [e.id for e in tracker.neighbours(one, Relation.DERIVED_FROM)] == [weights.id]
    model = tracker.neighbours(one, Relation.VERSION_OF)
    assert len(model) == 1 and isinstance(model[0], Model) and model[0].name == "matte"
    assert tracker.neighbours(two, Relation.VERSION_OF)[0].id == model[0].id
    assert (one.attrs["in_channels"], one.attrs["out_channels"], one.attrs["min_nuke_version"]) == (
        3,
        1,
        "15.1",
    )
    assert tracker.resolve("model_version:matte@production").id == two.id
    assert tracker.resolve("model:matte@1").id == one.id
    actions = [e.action for e in tracker.store.find_audit(target=two.id).items]
    assert "model.publish" in actions and "model.alias" in actions


def test_when_the_weights_lack_the_inference_right_then_publishing_is_refused(tracker, weights_file):
    tracker.parties.add_license("train-only", grants=["training", "derivatives"])
    weights = ML(tracker).models.push(weights_file, name="src", license="train-only").weights
    with pytest.raises(RightsViolation, match="publish refused.*'inference'"):
        ML(tracker).publisher.publish(weights, "matte")
    assert tracker.find(Kind.MODEL_VERSION).items == []


def test_when_a_version_is_blocked_then_it_is_never_aliased(tracker, weights):
    ml = ML(tracker)
    version = ml.publisher.publish(weights, "matte", variants=[])
    impact = tracker.revoker.revoke("license:eula", reason="vendor withdrew the model")
    assert [m.id for m in impact.downstream["model_versions"]] == [version.id]

    with pytest.raises(RightsViolation, match="blocked since .*vendor withdrew the model.*never aliased"):
        ml.publisher.set_alias("matte@1", "production")
    assert tracker.store.get_alias("model_version", "matte", "production") is None


def test_when_weights_of_other_channels_are_published_under_a_name_then_it_is_a_conflict(
    tracker, weights, tmp_path
):
    import torch
    from torch import nn

    from rmtc.ml.torchscript import quiet_jit

    ML(tracker).publisher.publish(weights, "matte", variants=[])
    with quiet_jit():
        torch.jit.script(nn.Conv2d(4, 4, 1)).save(str(tmp_path / "grade.pt"))
    other = ML(tracker).models.push(tmp_path / "grade.pt", name="grade", license="eula").weights
    with pytest.raises(Conflict, match="model:matte takes 3 -> 1 channels"):
        ML(tracker).publisher.publish(other, "matte")
    pushed_ts = ML(tracker).publisher.publish(other, "grade")
    assert set(pushed_ts.variants) == {"torchscript"}


def test_when_published_weights_came_from_a_run_then_its_metrics_are_recorded(tracker, weights_file):
    with tracker.runs.start("train", params={"lr": 0.1}) as run:
        run.log_metrics({"val_loss": 0.25}, step=10)
        w = run.log_artifact(weights_file, kind="weights", format="safetensors")
    version = ML(tracker).publisher.publish(w, "matte", variants=[])
    assert version.attrs["run"] == str(run.id) and version.attrs["metrics"] == {"val_loss": 0.25}


@pytest.mark.parametrize("alias", ["3", "latest", "a@b", ""])
def test_when_an_alias_could_be_read_as_a_version_then_it_is_refused(tracker, weights, alias):
    ML(tracker).publisher.publish(weights, "matte", variants=[])
    with pytest.raises(InvalidInput):
        ML(tracker).publisher.set_alias("matte@1", alias)


def test_when_a_model_name_has_reference_syntax_then_publishing_is_refused(tracker, weights):
    with pytest.raises(InvalidInput, match="model name 'matte@2' is not valid"):
        ML(tracker).publisher.publish(weights, "matte@2")
