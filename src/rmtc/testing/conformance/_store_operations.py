"""Conformance cases: audit log, run status, metrics and run search, dataset staging, aliases and flags."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest

from rmtc.core.entities import (
    Dataset,
    Entity,
    ModelVersion,
)
from rmtc.core.ids import new_id
from rmtc.errors import InvalidInput, NotFound
from rmtc.store.protocol import MetadataStore
from rmtc.store.types import (
    AuditEvent,
    MetricPoint,
    RunQuery,
    RunState,
    RunStatus,
)
from rmtc.testing.conformance._store_support import T0, Maker, StoreCases, write


class OperationalCases(StoreCases):
    # -- audit ---------------------------------------------------------------------------------------
    def test_when_audit_events_are_written_then_they_read_back_newest_first_with_filters_and_paging(
        self, store: MetadataStore, m: Maker
    ) -> None:
        a = m.asset()
        events = [
            AuditEvent("ingest", "ana", m.clock.now(), target=a.id, detail={"files": 3, "at": "x"}),
            AuditEvent("publish", "ben", m.clock.now(), project="show"),
            AuditEvent("ingest", "ben", m.clock.now(), target=a.id),
        ]
        write(store, a, audit=tuple(events))
        got = store.find_audit().items
        assert [(e.action, e.actor) for e in got] == [
            ("ingest", "ben"),
            ("publish", "ben"),
            ("ingest", "ana"),
        ]
        assert got[2].detail == {"files": 3, "at": "x"}
        assert got[2].at == events[0].at and got[2].at.utcoffset() == timedelta(0)
        assert got[0].seq is not None
        assert len(store.find_audit(target=a.id).items) == 2
        assert [e.actor for e in store.find_audit(actor="ben", action="ingest").items] == ["ben"]
        assert [e.action for e in store.find_audit(project="show").items] == ["publish"]
        first = store.find_audit(limit=2)
        assert len(first.items) == 2 and first.next_cursor is not None
        rest = store.find_audit(limit=2, cursor=first.next_cursor)
        assert [*first.items, *rest.items] == got and rest.next_cursor is None

    # -- runs: status, metrics, search -----------------------------------------------------------------
    def test_when_run_status_is_set_then_the_latest_replaces_the_previous(
        self, store: MetadataStore, m: Maker
    ) -> None:
        run = m.run()
        write(store, run, statuses=(RunStatus(run.id, "created", m.clock.now()),))
        assert store.get_run_status(run.id).state == "created"
        later = m.clock.now()
        store.set_run_status(RunStatus(run.id, "failed", later, message="OOM"))
        assert store.get_run_status(run.id) == RunStatus(run.id, "failed", later, "OOM")

    def test_when_a_run_has_no_status_then_not_found(self, store: MetadataStore, m: Maker) -> None:
        run = m.run()
        write(store, run)
        with pytest.raises(NotFound):
            store.get_run_status(run.id)

    def test_when_metrics_are_logged_then_series_and_latest_values_follow_step_then_write_order(
        self, store: MetadataStore, m: Maker
    ) -> None:
        run, other = m.run(), m.run()
        write(store, run, other)
        store.log_metrics(run.id, [MetricPoint("loss", s, 1.0 / (s + 1)) for s in range(1000)])
        store.log_metrics(run.id, [MetricPoint("loss", 5, 9.0), MetricPoint("acc", 3, 0.5, at=T0)])
        store.log_metrics(run.id, [MetricPoint("acc", 3, 0.75), MetricPoint("acc", 1, 0.1)])
        store.log_metrics(other.id, [MetricPoint("loss", 0, math.nan)])
        series = store.get_metrics(run.id)
        assert len(series["loss"]) == 1001
        assert [p.step for p in series["loss"][:7]] == [0, 1, 2, 3, 4, 5, 5]
        assert series["loss"][6].value == 9.0
        assert [(p.step, p.value) for p in series["acc"]] == [(1, 0.1), (3, 0.5), (3, 0.75)]
        assert series["acc"][1].at == T0
        assert all(p.at is not None and p.at.utcoffset() == timedelta(0) for p in series["acc"])
        assert list(store.get_metrics(run.id, keys=["acc"])) == ["acc"]
        latest = store.latest_metrics([run.id, other.id, new_id()])
        assert latest[run.id] == {"loss": 1.0 / 1000, "acc": 0.75}
        assert math.isnan(latest[other.id]["loss"])

    def test_when_metrics_name_an_unknown_run_then_not_found(self, store: MetadataStore) -> None:
        with pytest.raises(NotFound):
            store.log_metrics(new_id(), [MetricPoint("loss", 0, 1.0)])

    def test_when_finding_runs_then_params_metrics_states_and_type_all_apply(
        self, store: MetadataStore, m: Maker
    ) -> None:
        runs = [
            m.run(params={"lr": 0.001, "arch": "unet", "aug": True, "opt": {"name": "adam"}}),
            m.run(params={"lr": 0.01, "arch": "unet", "aug": False, "batch": 32}),
            m.run(params={"lr": 0.001, "arch": "resnet"}, run_type="fine-tuning"),
            m.run(params={"lr": 0.001}, project="other"),
        ]
        states: list[RunState] = ["finished", "running", "finished", "failed"]
        statuses = tuple(RunStatus(r.id, s, m.clock.now()) for r, s in zip(runs, states, strict=True))
        write(store, *runs, statuses=statuses)
        for r, loss in zip(runs, [0.1, 0.2, 0.3, 0.05], strict=True):
            store.log_metrics(r.id, [MetricPoint("loss", 1, 9.0), MetricPoint("loss", 2, loss)])

        def found(**kw: Any) -> list[Entity]:
            return list(store.find_runs(RunQuery(**kw)).items)

        assert found() == runs
        assert found(params={"lr": 0.001}) == [runs[0], runs[2], runs[3]]
        assert found(params={"lr": "0.001", "arch": "unet"}) == [runs[0]]
        assert found(params={"batch": 32.0}) == [runs[1]]
        assert found(params={"aug": True}) == [runs[0]]
        assert found(params={"opt.name": "adam"}) == [runs[0]]
        assert found(metrics=[("loss", "<", 0.25)]) == [runs[0], runs[1], runs[3]]
        assert found(metrics=[("loss", ">=", 0.2), ("loss", "!=", 0.3)]) == [runs[1]]
        assert found(metrics=[("loss", "=", 0.3)]) == [runs[2]]
        assert found(states=["finished"]) == [runs[0], runs[2]]
        assert found(states=["finished", "failed"], project="other") == [runs[3]]
        assert found(run_type="fine-tuning") == [runs[2]]
        assert found(params={"lr": 0.001}, metrics=[("loss", "<=", 0.1)], states=["finished"]) == [runs[0]]
        page = store.find_runs(RunQuery(), limit=3)
        assert len(page.items) == 3
        assert list(store.find_runs(RunQuery(), limit=3, cursor=page.next_cursor).items) == [runs[3]]
        with pytest.raises(InvalidInput):
            found(metrics=[("loss", "~", 1.0)])

    # -- staging, aliases, flags -----------------------------------------------------------------------
    def test_when_members_are_staged_then_duplicates_are_kept_once_in_staging_order(
        self, store: MetadataStore, m: Maker
    ) -> None:
        ds = Dataset(**m._base("plates", {}))
        a, b, c = m.asset(), m.asset(), m.asset()
        write(store, ds, a, b, c)
        assert store.stage_members(ds.id, [{"asset": b.id}, {"asset": a.id}, {"asset": b.id}]) == 2
        assert store.stage_members(ds.id, [{"asset": a.id}, {"input": a.id, "target": c.id}]) == 1
        assert store.staged_members(ds.id) == [
            {"asset": b.id},
            {"asset": a.id},
            {"input": a.id, "target": c.id},
        ]
        assert store.unstage_members(ds.id, [c.id]) == 1
        assert store.unstage_members(ds.id, [a.id, c.id]) == 1
        assert store.staged_members(ds.id) == [{"asset": b.id}]
        with pytest.raises(InvalidInput):
            store.stage_members(ds.id, [{"frame": a.id}])

    def test_when_aliases_are_set_then_they_point_move_and_disappear(
        self, store: MetadataStore, m: Maker
    ) -> None:
        v1, v2 = (ModelVersion(**m._base("matte", {"version": v})) for v in (1, 2))
        write(store, v1, v2)
        store.set_alias("model_version", "matte", "production", v1.id)
        store.set_alias("model_version", "matte", "candidate", v1.id)
        assert store.get_alias("model_version", "matte", "production") == v1.id
        assert store.aliases_of(v1.id) == ["candidate", "production"]
        store.set_alias("model_version", "matte", "production", v2.id)
        assert store.get_alias("model_version", "matte", "production") == v2.id
        assert store.aliases_of(v1.id) == ["candidate"]
        store.set_alias("model_version", "matte", "candidate", None)
        assert store.get_alias("model_version", "matte", "candidate") is None
        assert store.aliases_of(v1.id) == []

    def test_when_flags_are_set_then_get_flags_returns_them_until_cleared(
        self, store: MetadataStore, m: Maker
    ) -> None:
        a, b = m.asset(), m.asset()
        write(store, a, b)
        store.set_flag(a.id, "blocked", {"reason": "licence revoked", "by": "legal"})
        store.set_flag(a.id, "undecodable", {"reason": "truncated"})
        store.set_flag(a.id, "blocked", {"reason": "replaced"})
        assert store.get_flags([a.id, b.id]) == {
            a.id: {"blocked": {"reason": "replaced"}, "undecodable": {"reason": "truncated"}}
        }
        store.set_flag(a.id, "blocked", None)
        assert store.get_flags([a.id]) == {a.id: {"undecodable": {"reason": "truncated"}}}
