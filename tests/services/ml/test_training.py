"""Training as a tracked run: lineage, metrics, checkpoints, rights, solutions, fine-tuning."""

from __future__ import annotations

import pytest

from rmtc.core.entities import Asset, Checkpoint, DatasetVersion, Solution, Weights
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import RightsViolation
from rmtc.ml.recipe import parse_recipe
from rmtc.services.ml import ML

from .conftest import licensed_show, recipe_data, write_recipe


def test_when_a_recipe_trains_then_the_run_used_the_version_and_generated_checkpoints_sheets_and_weights(
    tracker, footage, tmp_path
):
    show = licensed_show(tracker, footage)
    recipe = write_recipe(tmp_path / "r.toml", recipe_data("dataset:matte@1"))

    outcome = ML(tracker).training.train(recipe)

    run = tracker.runs.get(outcome.run.id)
    assert outcome.state == "finished" and tracker.runs.status(run).state == "finished"
    assert run.run_type == "training" and run.params == parse_recipe(recipe_data("dataset:matte@1")).to_dict()
    assert [e.id for e in tracker.neighbours(run, Relation.USED)] == [show.version.id]
    made = tracker.neighbours(run, Relation.GENERATED_BY, direction="in")
    assert sorted(c.step for c in made if isinstance(c, Checkpoint)) == [2, 4]
    sheets = [a for a in made if isinstance(a, Asset)]
    assert len(sheets) == 2 and all(
        tracker.blobs.read_bytes(a.content_hash)[:4] == b"\x89PNG" for a in sheets
    )
    weights = [w for w in made if isinstance(w, Weights)]
    assert weights == [outcome.weights] and weights[0].format == "safetensors"
    assert weights[0].attrs["config"]["out_channels"] == 1
    series = tracker.runs.metrics(run)
    assert [p.step for p in series["loss"]] == [1, 2, 3, 4]
    assert [p.step for p in series["val_iou"]] == [2, 4]


def test_when_the_dataset_lacks_the_training_right_then_nothing_is_recorded_but_the_refusal(
    tracker, footage, tmp_path
):
    show = licensed_show(tracker, footage, grants=("inference",))
    recipe = write_recipe(tmp_path / "r.toml", recipe_data("matte@1"))

    with pytest.raises(RightsViolation, match="training refused: dataset_version:matte@1") as err:
        ML(tracker).training.train(recipe)

    assert err.value.evidence[0]["label"] == "dataset_version:matte@1"
    assert tracker.find(Kind.RUN).items == []
    refusals = tracker.store.find_audit(action="rights.refused").items
    assert refusals and refusals[0].target == show.version.id


def test_when_stopped_and_resumed_then_the_same_run_ends_with_the_weights_of_an_uninterrupted_run(
    project, footage, tmp_path
):
    licensed_show(project, footage)
    recipe = write_recipe(tmp_path / "r.toml", recipe_data("matte@1"))
    ml = ML(project)
    whole = ml.training.train(recipe)

    part = ml.training.train(recipe, until=2)
    assert part.state == "killed" and part.weights is None
    assert "stopped at step 2 of 4" in project.runs.status(part.run).message
    resumed = ml.training.resume(str(part.checkpoints[-1].id))

    assert resumed.run.id == part.run.id and resumed.state == "finished"
    assert _tensors(project, resumed.weights) == _tensors(project, whole.weights)
    assert project.runs.status(part.run).state == "finished"
    steps = {p.step for p in project.runs.metrics(part.run)["loss"]}
    assert steps == {1, 2, 3, 4}


def test_when_a_finished_run_is_resumed_then_it_is_refused(project, footage, tmp_path):
    from rmtc.errors import Conflict

    licensed_show(project, footage)
    done = ML(project).training.train(write_recipe(tmp_path / "r.toml", recipe_data("matte@1")))
    with pytest.raises(Conflict, match="already finished"):
        ML(project).training.resume(done.checkpoints[0].id)


def test_when_a_stored_checkpoint_is_corrupted_then_resuming_names_the_damage(project, footage, tmp_path):
    from rmtc.errors import IntegrityError

    licensed_show(project, footage)
    part = ML(project).training.train(write_recipe(tmp_path / "r.toml", recipe_data("matte@1")), until=2)
    ckpt = part.checkpoints[-1]
    blob = project.blobs.local_path(ckpt.attrs["files"]["optimizer.safetensors"])
    import os

    os.chmod(blob, 0o644)
    with open(blob, "r+b") as f:
        f.seek(100)
        f.write(b"\x00\xff")

    with pytest.raises(IntegrityError):
        ML(project).training.resume(ckpt.id)
    assert project.runs.status(part.run).state == "killed"


def test_when_a_checkpoint_directory_is_damaged_then_resuming_it_names_the_file(project, footage, tmp_path):
    from rmtc.errors import IntegrityError

    licensed_show(project, footage)
    out = tmp_path / "work"
    ML(project).training.train(
        write_recipe(tmp_path / "r.toml", recipe_data("matte@1")), until=2, out_dir=out
    )
    directory = out / "checkpoints" / "ckpt-000002"
    (directory / "state.json").write_text("{}")

    with pytest.raises(IntegrityError, match="state.json"):
        ML(project).training.resume(directory)


def test_when_a_checkpoint_directory_is_intact_then_it_resumes_its_run(project, footage, tmp_path):
    licensed_show(project, footage)
    out = tmp_path / "work"
    part = ML(project).training.train(
        write_recipe(tmp_path / "r.toml", recipe_data("matte@1")), until=2, out_dir=out
    )
    resumed = ML(project).training.resume(out / "checkpoints" / "ckpt-000002")
    assert resumed.run.id == part.run.id and resumed.step == 4


def test_when_the_recipe_names_a_solution_then_the_run_is_part_of_it_and_its_rights_are_required(
    project, footage, tmp_path
):
    licensed_show(project, footage)
    ml = ML(project)
    ml.solutions.add("matte-show", inputs=["rgb"], outputs=["alpha"], needs=["training"])
    project.rights.define("face-swap")
    ml.solutions.add("swap", inputs=["rgb"], outputs=["rgb"], needs=["face-swap"])
    recipe = write_recipe(tmp_path / "r.toml", recipe_data("matte@1", solution="matte-show"))

    done = ml.training.train(recipe)

    assert [s.name for s in project.neighbours(done.run, Relation.PART_OF)] == ["matte-show"]
    assert isinstance(project.neighbours(done.run, Relation.PART_OF)[0], Solution)
    with pytest.raises(RightsViolation, match="'face-swap'"):
        ml.training.train(recipe, solution="swap")


def test_when_base_weights_are_given_then_the_run_is_fine_tuning_that_used_them(
    project, footage, tmp_path, weights_file
):
    show = licensed_show(project, footage)
    ml = ML(project)
    base = ml.models.push(weights_file, name="matte-base", license=show.license).weights
    recipe = write_recipe(
        tmp_path / "r.toml", recipe_data("matte@1", model={"init_weights": f"weights:{base.name}"})
    )

    done = ml.training.train(recipe)

    assert done.run.run_type == "fine-tuning"
    used = project.neighbours(done.run, Relation.USED)
    assert {type(e) for e in used} == {DatasetVersion, Weights} and base.id in {e.id for e in used}


def test_when_base_weights_forbid_training_then_fine_tuning_is_refused(
    project, footage, tmp_path, weights_file
):
    licensed_show(project, footage)
    ml = ML(project)
    project.parties.add_license("eval-only", grants=["inference"])
    ml.models.push(weights_file, name="vendor", license="eval-only")
    recipe = write_recipe(
        tmp_path / "r.toml", recipe_data("matte@1", model={"init_weights": str(weights_file)})
    )

    with pytest.raises(RightsViolation, match="license:eval-only|eval-only"):
        ml.training.train(recipe)
    assert project.find(Kind.RUN).items == []


def _tensors(t, weights):
    """The weights' tensors as bytes (safetensors orders header metadata arbitrarily, so equal weights
    need not make equal files)."""
    from rmtc.ml.weights import load_state

    state, _ = load_state(t.blobs.local_path(weights.content_hash))
    return {k: v.numpy().tobytes() for k, v in state.items()}


class _Fail:
    """A trainer callback that fails at a given step, the way a full disk or a bug would."""

    def __init__(self, step, error):
        self.step, self.error = step, error

    def on_step(self, step, metrics):
        if step == self.step:
            raise self.error

    def on_validation(self, step, metrics):
        return None

    def on_checkpoint(self, event):
        return None


def test_when_training_fails_midway_then_the_run_is_failed_with_the_error_and_keeps_its_checkpoints(
    project, footage, tmp_path
):
    licensed_show(project, footage)
    recipe = write_recipe(tmp_path / "r.toml", recipe_data("matte@1"))
    with pytest.raises(OSError, match="disk full"):
        ML(project).training.train(recipe, callbacks=[_Fail(3, OSError("disk full"))])
    (run,) = project.find(Kind.RUN).items
    status = project.runs.status(run)
    assert status.state == "failed" and "OSError: disk full" in status.message
    made = project.neighbours(run, Relation.GENERATED_BY, direction="in")
    assert [c.step for c in made if isinstance(c, Checkpoint)] == [2]
    assert [p.step for p in project.runs.metrics(run)["loss"]] == [1, 2, 3]


def test_when_training_is_interrupted_then_the_run_is_killed_and_can_be_resumed(project, footage, tmp_path):
    licensed_show(project, footage)
    recipe = write_recipe(tmp_path / "r.toml", recipe_data("matte@1"))
    with pytest.raises(KeyboardInterrupt):
        ML(project).training.train(recipe, callbacks=[_Fail(3, KeyboardInterrupt())])
    (run,) = project.find(Kind.RUN).items
    assert project.runs.status(run).state == "killed"
    (ckpt,) = [
        c for c in project.neighbours(run, Relation.GENERATED_BY, direction="in") if isinstance(c, Checkpoint)
    ]
    assert ML(project).training.resume(ckpt.id).state == "finished"
