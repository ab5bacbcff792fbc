"""W3C PROV export: written with ``prov``, read back with ``prov``, the mapping checked on what came back."""

from __future__ import annotations

import pytest
from prov.model import (
    PROV,
    ProvActivity,
    ProvAgent,
    ProvAlternate,
    ProvAssociation,
    ProvAttribution,
    ProvDerivation,
    ProvDocument,
    ProvEntity,
    ProvGeneration,
    ProvInfluence,
    ProvMembership,
    ProvSpecialization,
    ProvUsage,
)

from rmtc.standards import MAPPING, collect, export, prov


def _q(doc: ProvDocument, entity) -> object:
    return doc.valid_qualified_name(f"rmtc:{entity.id}")


def _relations(doc: ProvDocument, cls) -> set[tuple[str, str]]:
    """(first, second) formal attribute values of every record of a relation class, as text."""
    out = set()
    for record in doc.get_records(cls):
        formal = [v for _, v in record.formal_attributes]
        out.add((str(formal[0]), str(formal[1])))
    return out


def _attr(record, name: str) -> set:
    return {v for k, v in record.attributes if str(k) == name}


def _record(doc: ProvDocument, entity):
    (found,) = doc.get_record(_q(doc, entity))
    return found


@pytest.mark.parametrize("fmt", ["json", "provn"])
def test_when_a_prov_export_is_parsed_back_then_it_holds_the_same_records(scene, fmt):
    graph = collect(scene.tracker, scene.model_version)
    text = prov.to_json(graph) if fmt == "json" else prov.to_provn(graph)
    back = ProvDocument.deserialize(content=text, format=fmt)
    built = prov.document(graph)
    assert back == built
    assert len(back.get_records()) == len(built.get_records()) > 40


def test_every_upstream_entity_is_exported_as_its_prov_class(scene):
    doc = ProvDocument.deserialize(content=export(scene.tracker, scene.model_version, "prov-json"))
    expected = {
        ProvEntity: [
            scene.model_version,
            scene.weights,
            scene.model,
            scene.version,
            scene.dataset,
            *scene.assets,
            scene.cc_by,
            scene.agreement,
            scene.studio,
        ],
        ProvActivity: [scene.run],
        ProvAgent: [scene.talent],
    }
    for cls, entities in expected.items():
        for entity in entities:
            record = _record(doc, entity)
            assert isinstance(record, cls), entity.label
            assert _attr(record, "prov:label") == {entity.label}
    assert {str(r.identifier) for r in doc.get_records(ProvEntity)} >= {f"rmtc:{e.id}" for e in scene.assets}
    assert doc.get_record(_q(doc, scene.onnx)), "a run is exported with everything it generated"
    assert all(not doc.get_record(_q(doc, e)) for e in (scene.inference, scene.output))


def test_relations_map_to_the_prov_relations_they_were_aligned_with(scene):
    doc = ProvDocument.deserialize(content=export(scene.tracker, scene.onnx, "prov-json"))
    q = {e.id: f"rmtc:{e.id}" for e in (scene.onnx, scene.weights, scene.run, scene.version, scene.dataset)}
    assert (q[scene.run.id], q[scene.version.id]) in _relations(doc, ProvUsage)
    assert (q[scene.onnx.id], q[scene.run.id]) in _relations(doc, ProvGeneration)
    assert (q[scene.weights.id], q[scene.run.id]) in _relations(doc, ProvGeneration)
    assert _relations(doc, ProvAlternate) == {(q[scene.onnx.id], q[scene.weights.id])}
    assert _relations(doc, ProvSpecialization) == {(q[scene.version.id], q[scene.dataset.id])}
    assert _relations(doc, ProvMembership) == {(q[scene.version.id], f"rmtc:{a.id}") for a in scene.assets}
    influences = {
        (
            str(r.formal_attributes[0][1]),
            str(r.formal_attributes[1][1]),
            str(next(iter(_attr(r, "prov:type")))),
        )
        for r in doc.get_records(ProvInfluence)
    }
    for asset in scene.assets:
        assert (f"rmtc:{asset.id}", f"rmtc:{scene.talent.id}", "rmtc:depicts") in influences
        assert (f"rmtc:{asset.id}", f"rmtc:{scene.cc_by.id}", "rmtc:governed_by") in influences
    assert (q[scene.dataset.id], f"rmtc:{scene.studio.id}", "rmtc:governed_by") in influences
    attributions = _relations(doc, ProvAttribution)
    assert (f"rmtc:{scene.agreement.id}", f"rmtc:{scene.talent.id}") in attributions
    assert (q[scene.weights.id], "rmtc:user-tester") in attributions
    assert (q[scene.run.id], "rmtc:user-tester") in _relations(doc, ProvAssociation)


def test_derivation_and_activity_times_are_exported(scene):
    doc = ProvDocument.deserialize(
        content=export(scene.tracker, scene.model_version, "prov-n"), format="provn"
    )
    assert (f"rmtc:{scene.model_version.id}", f"rmtc:{scene.weights.id}") in _relations(doc, ProvDerivation)
    run = _record(doc, scene.run)
    status = scene.tracker.runs.status(scene.run)
    assert run.get_startTime() == scene.run.created_at
    assert run.get_endTime() == status.updated_at
    assert _attr(run, "rmtc:status") == {"finished"}
    (generation,) = [
        g
        for g in doc.get_records(ProvGeneration)
        if str(g.formal_attributes[0][1]) == f"rmtc:{scene.weights.id}"
    ]
    assert dict(generation.formal_attributes)[PROV["time"]] == scene.weights.created_at


def test_licences_carry_their_terms_and_status(scene):
    doc = ProvDocument.deserialize(content=export(scene.tracker, scene.model_version, "prov-json"))
    agreement = _record(doc, scene.agreement)
    assert _attr(agreement, "rmtc:grants") == {"training", "inference"}
    assert _attr(agreement, "rmtc:excludes") == {"commercial"}
    assert _attr(agreement, "rmtc:jurisdictions") == {"NZ"}
    (finish,) = _attr(agreement, "rmtc:finish")
    assert (finish.value, str(finish.datatype)) == ("2027-12-31", "xsd:date")
    assert _attr(agreement, "rmtc:status") == {"revoked"}
    assert _attr(agreement, "rmtc:revoked_reason") == {"consent withdrawn"}
    assert {(v.value, str(v.datatype)) for v in _attr(agreement, "rmtc:revoked_at")} == {
        ("2026-06-01", "xsd:date")
    }
    assert _attr(agreement, "rmtc:text") == {scene.agreement.text}
    cc_by = _record(doc, scene.cc_by)
    assert _attr(cc_by, "rmtc:spdx_id") == {"CC-BY-4.0"}
    assert _attr(cc_by, "rmtc:status") == {"active"}
    assert _attr(_record(doc, scene.studio), "rmtc:mode") == {"deny"}


def test_the_document_names_its_mapping_root_and_maker(scene):
    doc = ProvDocument.deserialize(content=export(scene.tracker, scene.model_version, "prov-json"))
    (record,) = doc.get_record(f"rmtc:export-{scene.model_version.id}")
    assert _attr(record, "rmtc:mapping") == {MAPPING}
    assert {str(v) for v in _attr(record, "rmtc:root")} == {f"rmtc:{scene.model_version.id}"}
    assert _attr(record, "rmtc:exported_by") == {"tester"}
    talent = _record(doc, scene.talent)
    assert {str(v) for v in _attr(talent, "prov:type")} == {"rmtc:Party", "prov:Person", "rmtc:Talent"}


def test_a_downstream_export_reaches_what_was_made_from_an_artefact(scene):
    doc = ProvDocument.deserialize(
        content=export(scene.tracker, scene.weights, "prov-json", direction="both")
    )
    for entity in (scene.onnx, scene.model_version, scene.inference, scene.output, scene.version):
        assert doc.get_record(_q(doc, entity)), entity.label
    inference = _record(doc, scene.inference)
    assert isinstance(inference, ProvActivity)
    assert inference.get_endTime() is None
    assert (f"rmtc:{scene.output.id}", f"rmtc:{scene.inference.id}") in _relations(doc, ProvGeneration)


def test_user_names_and_texts_that_prov_n_must_escape_round_trip(tracker):
    tracker.user = 'j.doe~studio (vendor) "λ"'
    tracker.parties.add_talent("Ana")
    tracker.parties.add_license("odd", grants=["training"], parties=["Ana"], text='a "quoted"\nline %% two')
    graph = collect(tracker, "party:Ana")
    back = ProvDocument.deserialize(content=prov.to_provn(graph), format="provn")
    assert back == prov.document(graph)
    assert {str(r.identifier) for r in back.get_records(ProvAgent)} >= {
        "rmtc:user-j%2Edoe%7Estudio%20%28vendor%29%20%22%CE%BB%22"
    }
