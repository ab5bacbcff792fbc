"""OpenLineage export: events built with ``openlineage-python``, parsed back as JSON and checked against
the structure of the OpenLineage 2-0-2 spec (``openlineage-python`` 1.54 ships no JSON schema file to
validate with: only the generated classes, whose ``schemaURL``s point at openlineage.io)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from urllib.parse import urlparse

import pytest

from rmtc.standards import MAPPING, export

EVENT_TYPES = {"START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"}


def _uri(value: object) -> None:
    assert isinstance(value, str) and urlparse(value).scheme, value


def _facets(facets: object) -> None:
    assert isinstance(facets, dict)
    for facet in facets.values():
        _uri(facet["_producer"])
        _uri(facet["_schemaURL"])


def _dataset(ds: dict) -> None:
    assert isinstance(ds["namespace"], str) and isinstance(ds["name"], str)
    _facets(ds.get("facets", {}))


def check_run_event(event: dict) -> None:
    """The RunEvent structure of https://openlineage.io/spec/2-0-2/OpenLineage.json: required fields,
    their types and formats, and every facet's ``_producer`` / ``_schemaURL``."""
    assert {"eventTime", "producer", "schemaURL", "run", "job"} <= event.keys()
    assert datetime.fromisoformat(event["eventTime"]).tzinfo is not None
    _uri(event["producer"])
    assert event["schemaURL"].startswith("https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent")
    assert event["eventType"] in EVENT_TYPES
    uuid.UUID(event["run"]["runId"])
    _facets(event["run"].get("facets", {}))
    assert isinstance(event["job"]["namespace"], str) and isinstance(event["job"]["name"], str)
    _facets(event["job"].get("facets", {}))
    for ds in event.get("inputs", []) + event.get("outputs", []):
        _dataset(ds)


def _events(text: str) -> list[dict]:
    events = [json.loads(line) for line in text.splitlines()]
    for event in events:
        check_run_event(event)
    return events


def _names(datasets: list[dict]) -> set[str]:
    return {d["name"] for d in datasets}


def test_a_finished_training_run_gives_start_and_complete_with_its_datasets(scene):
    events = _events(export(scene.tracker, scene.weights, "openlineage"))
    assert [(e["eventType"], e["job"]["name"]) for e in events] == [
        ("START", "train-matte"),
        ("COMPLETE", "train-matte"),
    ]
    start, complete = events
    assert start["run"]["runId"] == complete["run"]["runId"] == str(scene.run.id)
    assert start["eventTime"] == scene.run.created_at.isoformat()
    assert complete["eventTime"] == scene.tracker.runs.status(scene.run).updated_at.isoformat()
    namespace = f"rmtc://{scene.tracker.project}"
    assert start["job"]["namespace"] == namespace
    assert start["inputs"] == complete["inputs"]
    (dv,) = complete["inputs"]
    assert (dv["namespace"], dv["name"]) == (namespace, "dataset_version/plates@1")
    assert dv["facets"]["version"]["datasetVersion"] == "1"
    assert {"key": "rmtc:id", "value": str(scene.version.id), "source": "RMTC"} in dv["facets"]["tags"][
        "tags"
    ]
    assert start["outputs"] == []
    assert _names(complete["outputs"]) == {f"weights/{scene.weights.id}", f"weights/{scene.onnx.id}"}
    facets = complete["run"]["facets"]
    assert {"key": "rmtc:mapping", "value": MAPPING, "source": "RMTC"} in facets["tags"]["tags"]
    assert {(p["key"], p["value"]) for p in facets["executionParameters"]["parameters"]} == {
        ("lr", "0.001"),
        ("epochs", "2"),
        ("crop", "[256,256]"),
    }
    assert facets["processing_engine"]["name"] == "rmtc"
    assert complete["job"]["facets"]["jobType"]["jobType"] == "TRAINING"


def test_a_failed_run_gives_a_fail_event_with_its_error(scene):
    t = scene.tracker
    with (
        pytest.raises(RuntimeError),
        t.runs.start("train-2", inputs=[scene.version], capture_environment=False),
    ):
        raise RuntimeError("out of memory")
    failed = t.find("run", name="train-2").items[0]
    events = [e for e in _events(export(t, failed, "openlineage")) if e["run"]["runId"] == str(failed.id)]
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    error = events[1]["run"]["facets"]["errorMessage"]
    assert "out of memory" in error["message"]
    assert error["programmingLanguage"] == "python"


def test_a_running_run_gives_only_a_start_event_with_what_it_logged_so_far(scene, tmp_path):
    t = scene.tracker
    active = t.runs.start("train-3", inputs=[scene.version], capture_environment=False)
    (tmp_path / "step100.bin").write_bytes(b"checkpoint at step 100")
    checkpoint = active.log_artifact(tmp_path / "step100.bin", kind="checkpoint", step=100)
    events = [e for e in _events(export(t, checkpoint, "openlineage")) if e["run"]["runId"] == str(active.id)]
    assert [e["eventType"] for e in events] == ["START"]
    assert _names(events[0]["outputs"]) == {f"checkpoint/{checkpoint.id}"}


def test_an_inference_is_reported_with_its_model_version_and_frames(scene):
    events = _events(export(scene.tracker, scene.output, "openlineage"))
    mine = [e for e in events if e["run"]["runId"] == str(scene.inference.id)]
    assert [e["eventType"] for e in mine] == ["START", "COMPLETE"]
    assert _names(mine[1]["inputs"]) == {"model_version/matte@1", f"asset/{scene.assets[0].id}"}
    assert _names(mine[1]["outputs"]) == {f"asset/{scene.output.id}"}
    assert mine[1]["job"]["facets"]["jobType"]["jobType"] == "INFERENCE"
    params = mine[1]["run"]["facets"]["executionParameters"]["parameters"]
    assert params == [{"key": "threshold", "value": "0.5"}]
    assert [e["run"]["runId"] for e in events].count(str(scene.run.id)) == 2
    times = [datetime.fromisoformat(e["eventTime"]) for e in events]
    assert times == sorted(times)


def test_an_artefact_made_by_no_activity_has_no_events(scene):
    assert export(scene.tracker, scene.assets[0], "openlineage") == ""
