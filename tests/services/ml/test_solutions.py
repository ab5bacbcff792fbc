"""Solutions: recorded with the rights they need; the best published model by a run metric, for a DCC."""

from __future__ import annotations

import pytest

from rmtc.errors import Conflict, InvalidInput
from rmtc.services.ml import ML


def _weights_copy(weights_file, path, tag):
    from rmtc.ml.weights import load_model, save_weights

    return save_weights(load_model(weights_file), path, {"tag": tag})


def _publish_run(t, solution, weights_file, tmp_path, *, tag, metrics, variants=()):
    with t.runs.start(f"train-{tag}", solution=f"solution:{solution}") as run:
        run.log_metrics(metrics, step=100)
        path = _weights_copy(weights_file, tmp_path / f"{tag}.safetensors", tag)
        weights = run.log_artifact(path, kind="weights", format="safetensors")
    return ML(t).publisher.publish(weights, "matte", variants=list(variants))


def test_when_a_solution_is_added_then_its_channels_and_needed_rights_are_recorded(tracker):
    s = ML(tracker).solutions.add(
        "beauty-cleanup", inputs=["rgba"], outputs=["rgb,alpha"], needs=["training", "inference"]
    )
    assert (s.inputs, s.outputs, s.rights_needed) == (("rgba",), ("rgb", "alpha"), ("training", "inference"))
    assert ML(tracker).solutions.get("beauty-cleanup").id == s.id
    with pytest.raises(Conflict, match="a solution named 'beauty-cleanup' exists"):
        ML(tracker).solutions.add("beauty-cleanup", inputs=["rgb"], outputs=["rgb"])


def test_when_a_solution_needs_an_unknown_right_or_no_channels_then_it_is_refused(tracker):
    with pytest.raises(InvalidInput, match="unknown right"):
        ML(tracker).solutions.add("x", inputs=["rgb"], outputs=["rgb"], needs=["teleport"])
    with pytest.raises(InvalidInput, match="needs its input and output channels"):
        ML(tracker).solutions.add("x", inputs=[], outputs=["rgb"])


def test_when_asked_for_the_best_model_then_the_run_metric_ranks_published_versions(
    tracker, weights_file, tmp_path
):
    ML(tracker).solutions.add("matte-show", inputs=["rgb"], outputs=["alpha"])
    worse = _publish_run(
        tracker, "matte-show", weights_file, tmp_path, tag="a", metrics={"val_loss": 0.3, "val_iou": 0.7}
    )
    better = _publish_run(
        tracker, "matte-show", weights_file, tmp_path, tag="b", metrics={"val_loss": 0.1, "val_iou": 0.9}
    )

    by_loss = ML(tracker).solutions.best("matte-show")
    assert by_loss.order == "min" and by_loss.best.model_version.id == better.id
    assert [c.model_version.id for c in by_loss.ranked] == [better.id, worse.id]
    by_iou = ML(tracker).solutions.best("matte-show", metric="val_iou")
    assert by_iou.order == "max" and by_iou.best.value == pytest.approx(0.9)
    assert (
        ML(tracker).solutions.best("matte-show", metric="val_iou", order="min").best.model_version.id
        == worse.id
    )


def test_when_the_best_version_is_blocked_or_cannot_load_in_the_dcc_then_it_is_skipped(
    tracker, weights_file, tmp_path
):
    ML(tracker).solutions.add("matte-show", inputs=["rgb"], outputs=["alpha"])
    nuke_ready = _publish_run(
        tracker,
        "matte-show",
        weights_file,
        tmp_path,
        tag="a",
        metrics={"val_loss": 0.3},
        variants=["torchscript"],
    )
    best = _publish_run(tracker, "matte-show", weights_file, tmp_path, tag="b", metrics={"val_loss": 0.1})

    for_nuke = ML(tracker).solutions.best("matte-show", dcc="nuke")
    assert for_nuke.best.model_version.id == nuke_ready.id
    assert [(mv.id, "no variant nuke loads" in why) for mv, why in for_nuke.skipped] == [(best.id, True)]

    tracker.store.set_flag(best.id, "blocked", {"at": "2026-01-02", "reason": "consent withdrawn"})
    overall = ML(tracker).solutions.best("matte-show")
    assert overall.best.model_version.id == nuke_ready.id
    assert "consent withdrawn" in overall.skipped[0][1]


def test_when_no_version_qualifies_then_there_is_no_best(tracker):
    ML(tracker).solutions.add("empty", inputs=["rgb"], outputs=["rgb"])
    assert ML(tracker).solutions.best("empty").best is None
    with pytest.raises(InvalidInput, match="unknown DCC"):
        ML(tracker).solutions.best("empty", dcc="houdini")
