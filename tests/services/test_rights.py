from datetime import date

import pytest

import rmtc
from rmtc.errors import InvalidInput, RightsViolation, RmtcWarning

TODAY = date(2026, 6, 1)


def test_a_right_every_licence_and_agreement_grants_is_held(show):
    report = show.t.rights.effective(show.model_version, at=TODAY)
    assert "training" in report.held
    assert {t.name for t in report.talents} == {"ava_reyes", "marcus_cole"}


def test_a_right_one_talent_did_not_grant_is_withheld_naming_them(show):
    report = show.t.rights.effective(show.model_version, at=TODAY)
    (reason,) = report.withheld["inference"]
    assert "marcus_cole" in reason.reason and "does not grant 'inference'" in reason.reason
    labels = [step["label"] for step in reason.path]
    assert labels[0] == show.model_version.label and labels[-1] == "party:marcus_cole"
    assert show.both.label in labels


def test_a_filtered_version_does_not_inherit_what_the_filter_dropped(show):
    report = show.t.rights.effective(show.ava_only, at=TODAY)
    assert "inference" in report.held
    assert [t.name for t in report.talents] == ["ava_reyes"]


def test_an_expired_agreement_withholds_from_its_finish_on(show):
    report = show.t.rights.effective(show.ava_only, at=date(2028, 1, 1))
    assert any("expired on 2027-12-31" in w.reason for w in report.withheld["training"])


def test_rights_flow_to_inference_outputs(show):
    report = show.t.rights.effective(show.output, at=TODAY)
    assert "inference" not in report.held  # the model was trained on marcus's frames


def test_require_refuses_with_the_evidence_and_audits_it(show):
    with pytest.raises(RightsViolation) as err:
        show.t.rights.require(show.model_version, "inference", action="infer", at=TODAY)
    assert "marcus_cole" in err.value.message
    assert err.value.evidence[-1]["label"] == "party:marcus_cole"
    (event,) = show.t.store.find_audit(action="rights.refused").items
    assert event.detail["action"] == "infer"
    show.t.rights.require(show.model_version, "training", action="train", at=TODAY)


def test_a_raw_source_with_no_licence_withholds_everything(tracker):
    a = tracker.new(rmtc.Asset, "orphan.exr", content_hash="c" * 64, size=1)
    tracker.record([a])
    report = tracker.rights.effective(a, at=TODAY)
    assert report.held == []
    assert "no licence governs asset:orphan.exr" in report.withheld["training"][0].reason


def test_public_licences_read_their_terms_from_spdx(tracker):
    lic = tracker.parties.add_license("stock-nc", spdx_id="CC-BY-NC-4.0")
    a = tracker.new(rmtc.Asset, "stock.exr", content_hash="d" * 64, size=1)
    tracker.record([a], [tracker.edge(a, rmtc.Relation.GOVERNED_BY, lic)])
    report = tracker.rights.effective(a, at=TODAY)
    assert "training" in report.held and "commercial" not in report.held
    assert report.requirements == ["attribution"]


def test_an_unknown_spdx_id_warns_and_grants_nothing(tracker):
    with pytest.warns(RmtcWarning, match="grants nothing"):
        lic = tracker.parties.add_license("mystery", spdx_id="Bogus-1.0")
    a = tracker.new(rmtc.Asset, "m.exr", content_hash="e" * 64, size=1)
    tracker.record([a], [tracker.edge(a, rmtc.Relation.GOVERNED_BY, lic)])
    assert tracker.rights.effective(a, at=TODAY).held == []


def test_project_and_jurisdiction_limits_are_honoured(tracker):
    lic = tracker.parties.add_license(
        "nz-only", grants=["training"], jurisdictions=["NZ"], projects=["alpha"]
    )
    a = tracker.new(rmtc.Asset, "x.exr", content_hash="f" * 64, size=1)
    tracker.record([a], [tracker.edge(a, rmtc.Relation.GOVERNED_BY, lic)])
    assert tracker.rights.check(a, "training", at=TODAY, project="alpha", jurisdiction="NZ").allows(
        "training"
    )
    assert not tracker.rights.check(a, "training", at=TODAY, jurisdiction="US").allows("training")
    assert not tracker.rights.check(a, "training", at=TODAY, project="beta").allows("training")


def test_facility_rights_must_be_defined_before_use(tracker):
    with pytest.raises(InvalidInput, match="unknown right"):
        tracker.parties.add_license("fs", grants=["face-swap"])
    tracker.rights.define("face-swap")
    assert tracker.parties.add_license("fs", grants=["face-swap"]).grants == ("face-swap",)
    assert "face-swap" in tracker.rights.known()


def test_contains_answers_yes_with_the_evidence_path(show):
    result = show.t.rights.contains(show.model_version, "ava_reyes")
    assert result.contains and len(result.paths) == 3
    kinds = [step["kind"] for step in result.paths[0]]
    assert kinds == ["model_version", "weights", "run", "dataset_version", "asset", "party"]


def test_contains_counts_every_depicting_asset_but_shows_only_the_nearest_paths_asked_for(show):
    few = show.t.rights.contains(show.model_version, "ava_reyes", max_paths=1)
    assert few.contains and few.sources == 3 and len(few.paths) == 1
    assert few.to_json()["sources"] == 3
    every = show.t.rights.contains(show.model_version, "ava_reyes", max_paths=None)
    assert len(every.paths) == 3 and every.paths[0] == few.paths[0]
    none = show.t.rights.contains(show.model_version, "ava_reyes", max_paths=0)
    assert none.contains and none.paths == []


def test_contains_says_no_for_a_talent_whose_frames_were_all_filtered_out(show):
    assert not show.t.rights.contains(show.ava_only, "marcus_cole").contains
    assert show.t.rights.contains(show.output, "marcus_cole").contains
