import pytest

from rmtc.errors import InvalidInput, NotFound


def test_a_run_records_params_environment_inputs_and_status(tracker):
    tracker.datasets.create("plates", paired=False)
    ds = tracker.resolve("dataset:plates")
    with tracker.runs.start("train-1", params={"lr": 0.001, "size": "small"}, inputs=[ds]) as run:
        run.log_metrics({"loss": 0.5}, step=0)
        run.log_metrics({"loss": 0.25}, step=1)
    stored = tracker.runs.get(str(run.id))
    assert stored.params == {"lr": 0.001, "size": "small"}
    assert stored.environment["python"]
    assert "rmtc" in stored.environment["libraries"]
    assert tracker.runs.status(stored).state == "finished"
    assert [p.value for p in tracker.runs.metrics(stored)["loss"]] == [0.5, 0.25]
    assert tracker.neighbours(stored, __import__("rmtc").Relation.USED) == [ds]


def test_a_run_that_raises_is_recorded_as_failed_with_the_reason(tracker):
    with pytest.raises(RuntimeError), tracker.runs.start("boom") as run:
        raise RuntimeError("out of memory")
    status = tracker.runs.status(str(run.id))
    assert status.state == "failed"
    assert "out of memory" in status.message


def test_metrics_are_batched_but_none_are_lost(tracker):
    with tracker.runs.start("long") as run:
        for step in range(2500):
            run.log_metric("loss", 1.0 / (step + 1), step)
    series = tracker.runs.metrics(str(run.id))["loss"]
    assert len(series) == 2500 and series[-1].step == 2499


def test_search_finds_runs_by_param_and_latest_metric(tracker):
    for i in range(6):
        with tracker.runs.start(f"r{i}", params={"arch": "unet" if i % 2 else "msrn", "seed": i}) as run:
            run.log_metrics({"val_loss": 1.0 - i / 10}, step=0)
    found = tracker.runs.search(params={"arch": "unet"}, metrics=[("val_loss", "<", 0.75)])
    assert sorted(r.name for r in found) == ["r3", "r5"]


def test_log_artifact_stores_bytes_and_links_them_to_the_run(tracker, tmp_path):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(b"\x00" * 128)
    with tracker.runs.start("train") as run:
        w = run.log_artifact(path, kind="weights", format="safetensors")
    assert tracker.blobs.read_bytes(w.content_hash) == b"\x00" * 128
    assert tracker.neighbours(w, __import__("rmtc").Relation.GENERATED_BY)[0].id == run.id


def test_unknown_artifact_kinds_and_runs_are_refused(tracker, tmp_path):
    with tracker.runs.start("train") as run, pytest.raises(InvalidInput):
        run.log_artifact(tmp_path, kind="spaceship")
    with pytest.raises(NotFound):
        tracker.runs.get("run:nope")
