"""SPDX 3 export: written with ``spdx-python-model``, read back with its own JSON-LD deserializer."""

from __future__ import annotations

import io
import json

import pytest
from spdx_python_model import v3_0_1 as spdx

from rmtc.errors import RmtcWarning
from rmtc.standards import MAPPING, export


def _load(text: str) -> spdx.SHACLObjectSet:
    objects = spdx.SHACLObjectSet()
    spdx.JSONLDDeserializer().read(io.BytesIO(text.encode()), objects)
    assert objects.link() == set()
    return objects


def _by_id(objects: spdx.SHACLObjectSet, entity) -> object:
    found = objects.find_by_id(f"urn:rmtc:{entity.id}")
    assert found is not None, entity.label
    return found


def _relationships(objects: spdx.SHACLObjectSet, kind: str) -> set[tuple[str, str]]:
    """(from, to) spdxIds of every relationship of one type (the name after the last slash)."""
    return {
        (r.from_._id, t._id)
        for r in objects.foreach_type(spdx.Relationship)
        if r.relationshipType.rsplit("/", 1)[-1] == kind
        for t in r.to
    }


def _id(entity) -> str:
    return f"urn:rmtc:{entity.id}"


def test_when_the_spdx_export_is_read_back_then_every_element_has_its_profile_class(scene):
    objects = _load(export(scene.tracker, scene.model_version, "spdx"))
    expected = [
        (scene.model_version, spdx.ai_AIPackage),
        (scene.weights, spdx.ai_AIPackage),
        (scene.version, spdx.dataset_DatasetPackage),
        (scene.dataset, spdx.dataset_DatasetPackage),
        (scene.model, spdx.software_Package),
        (scene.run, spdx.build_Build),
        (scene.talent, spdx.Person),
        (scene.cc_by, spdx.simplelicensing_LicenseExpression),
        (scene.agreement, spdx.expandedlicensing_CustomLicense),
        (scene.studio, spdx.expandedlicensing_CustomLicense),
        *((asset, spdx.software_File) for asset in scene.assets),
    ]
    for entity, cls in expected:
        element = _by_id(objects, entity)
        assert type(element) is cls, entity.label
        assert element.name == entity.name
    (doc,) = objects.foreach_type(spdx.SpdxDocument)
    assert [e._id for e in doc.rootElement] == [_id(scene.model_version)]
    assert doc.comment == f"rmtc:mapping={MAPPING}"
    assert doc.creationInfo.comment == f"rmtc:mapping={MAPPING}"
    assert {p.rsplit("/", 1)[-1] for p in doc.profileConformance} >= {"core", "ai", "dataset", "software"}
    assert {e._id for e in doc.element} >= {_id(e) for e, _ in expected}
    assert objects.find_by_id(_id(scene.inference)) is None


def test_a_model_is_trained_on_the_dataset_versions_its_training_run_used(scene):
    objects = _load(export(scene.tracker, scene.model_version, "spdx"))
    trained = _relationships(objects, "trainedOn")
    assert trained == {(_id(x), _id(scene.version)) for x in (scene.weights, scene.onnx, scene.model_version)}
    assert (_id(scene.run), _id(scene.version)) in _relationships(objects, "hasInput")
    assert (_id(scene.run), _id(scene.weights)) in _relationships(objects, "hasOutput")
    assert (_id(scene.model_version), _id(scene.weights)) in _relationships(objects, "descendantOf")
    assert {(_id(scene.version), _id(a)) for a in scene.assets} <= _relationships(objects, "contains")
    weights = _by_id(objects, scene.weights)
    assert {(e.key, e.value) for e in weights.ai_hyperparameter} == {
        ("lr", "0.001"),
        ("epochs", "2"),
        ("crop", "[256,256]"),
    }
    assert {(e.key, e.value) for e in weights.ai_metric} == {("loss", "0.25"), ("psnr", "31.5")}
    assert weights.ai_useSensitivePersonalInformation.endswith("/yes")
    assert weights.verifiedUsing[0].hashValue == scene.weights.content_hash
    version = _by_id(objects, scene.version)
    assert version.dataset_hasSensitivePersonalInformation.endswith("/yes")
    assert version.dataset_datasetSize == sum(a.size for a in scene.assets)
    assert version.software_packageVersion == "1"


def test_an_evaluation_run_makes_a_tested_on_relationship(scene, tmp_path):
    t = scene.tracker
    (tmp_path / "holdout").mkdir()
    (tmp_path / "holdout" / "h.0001.bin").write_bytes(b"holdout frame")
    t.ingestor.ingest([tmp_path / "holdout"], dataset="holdout", probe_media=False)
    holdout = t.datasets.snapshot("holdout")
    with t.runs.start(
        "eval-matte", run_type="evaluation", inputs=[scene.weights, holdout], capture_environment=False
    ):
        pass
    objects = _load(export(t, scene.weights, "spdx", direction="both"))
    assert _relationships(objects, "testedOn") == {(_id(scene.weights), _id(holdout))}
    assert (_id(scene.weights), _id(holdout)) not in _relationships(objects, "trainedOn")


def test_licences_are_declared_where_they_govern_with_their_status(scene):
    objects = _load(export(scene.tracker, scene.model_version, "spdx"))
    declared = _relationships(objects, "hasDeclaredLicense")
    assert {(_id(a), _id(scene.cc_by)) for a in scene.assets} <= declared
    assert (_id(scene.dataset), _id(scene.studio)) in declared
    cc_by = _by_id(objects, scene.cc_by)
    assert cc_by.simplelicensing_licenseExpression == "CC-BY-4.0"
    assert cc_by.comment == "rmtc:status=active"
    agreement = _by_id(objects, scene.agreement)
    assert agreement.comment.startswith("rmtc:status=revoked; revoked_at=2026-06-01")
    assert "grants: training, inference" in agreement.simplelicensing_licenseText
    assert "excludes: commercial" in agreement.simplelicensing_licenseText
    assert scene.agreement.text in agreement.simplelicensing_licenseText
    others = {(r.from_._id, t._id, r.comment) for r in objects.foreach_type(spdx.Relationship) for t in r.to}
    assert (_id(scene.agreement), _id(scene.talent), "rmtc:attributed_to") in others
    assert {(_id(a), _id(scene.talent), "rmtc:depicts") for a in scene.assets} <= others


def test_an_spdx_id_rmtc_does_not_know_is_exported_as_a_custom_licence(scene):
    t = scene.tracker
    with pytest.warns(RmtcWarning, match="NOT-A-LICENSE-1.0"):
        odd = t.parties.add_license("odd", spdx_id="NOT-A-LICENSE-1.0")
    t.parties.govern([scene.assets[0]], "odd")
    objects = _load(export(t, scene.assets[0], "spdx"))
    element = _by_id(objects, odd)
    assert type(element) is spdx.expandedlicensing_CustomLicense
    assert "NOT-A-LICENSE-1.0 (unknown to rmtc: grants nothing)" in element.simplelicensing_licenseText
    assert json.loads(export(t, scene.assets[0], "spdx"))["@context"].startswith(
        "https://spdx.org/rdf/3.0.1/"
    )
