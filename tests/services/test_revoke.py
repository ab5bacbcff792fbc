from datetime import date

import pytest

from rmtc.errors import Conflict


def test_a_dry_run_shows_the_impact_and_plan_and_changes_nothing(show):
    impact = show.t.revoker.revoke("party:marcus_cole", dry_run=True, reason="consent withdrawn")
    groups = {g: {e.id for e in es} for g, es in impact.downstream.items()}
    assert show.both.id in groups["dataset_versions"]
    assert show.ava_only.id not in groups["dataset_versions"]
    assert show.run.id in groups["runs"]
    assert show.model_version.id in groups["model_versions"]
    assert show.inference.id in groups["inferences"]
    assert show.output.id in groups["output_frames"]
    (ds,) = impact.plan["datasets"]
    assert ds["version"]["id"] == str(show.both.id) and ds["keep"] == 3 and len(ds["drop"]) == 3
    (run,) = impact.plan["runs"]
    assert run["params"] == {"lr": 0.001}
    assert not impact.applied
    assert show.t.store.get_flags([show.model_version.id]) == {}


def test_applying_revokes_the_licences_and_blocks_the_model_versions(show):
    impact = show.t.revoker.revoke("party:marcus_cole", reason="consent withdrawn", at=date(2026, 6, 1))
    assert impact.applied
    flags = show.t.store.get_flags([show.model_version.id])[show.model_version.id]
    assert flags["blocked"]["reason"] == "consent withdrawn"
    report = show.t.rights.effective(show.ava_only, at=date(2026, 6, 2))
    assert "training" in report.held  # ava's agreement stands
    report = show.t.rights.effective(show.both, at=date(2026, 6, 2))
    assert any("revoked on 2026-06-01" in w.reason for w in report.withheld["training"])
    (event,) = show.t.store.find_audit(action="revoke").items
    assert event.detail["blocked"] == 1


def test_revoking_twice_is_a_conflict(show):
    show.t.revoker.revoke("license:marcus-agreement", reason="x")
    with pytest.raises(Conflict, match="already revoked"):
        show.t.revoker.revoke("license:marcus-agreement", reason="again")


def test_the_impact_is_computed_with_the_collector_paused_and_applied_with_it_running(show, monkeypatch):
    import gc

    from rmtc.services.revoke import Revoker

    seen: dict[str, bool] = {}
    plan, apply = Revoker._plan, Revoker._apply

    def planning(self, *args):
        seen["plan"] = gc.isenabled()
        return plan(self, *args)

    def applying(self, *args):
        seen["apply"] = gc.isenabled()
        return apply(self, *args)

    monkeypatch.setattr(Revoker, "_plan", planning)
    monkeypatch.setattr(Revoker, "_apply", applying)
    assert gc.isenabled()
    show.t.revoker.revoke("party:marcus_cole", reason="consent withdrawn")
    assert seen == {"plan": False, "apply": True}
    assert gc.isenabled()
