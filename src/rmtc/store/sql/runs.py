"""Run status, metric series and run search: the operational side of runs.

Metric points are appended to ``metrics`` in one multi-row insert per call; ``latest_metrics`` keeps
each key's current value with one upsert per key whose ``WHERE`` keeps the highest step (a later write
wins a tie), so searches never scan series. ``find_runs`` filters runs with ``EXISTS`` sub-queries on
``run_params`` (written from each Run's ``params`` when it is recorded), ``latest_metrics`` and
``run_status``, each answered from an index.

NaN is a legitimate metric value (a diverged loss) but SQLite cannot store it: it is kept as NULL on
both backends and read back as ``nan``; it never satisfies a metric condition.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from rmtc.core.entities import Entity
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind
from rmtc.errors import InvalidInput, NotFound
from rmtc.store.sql import codec
from rmtc.store.sql.dialect import SqlDialect
from rmtc.store.sql.entities import require_entities
from rmtc.store.sql.schema import entities, latest_metrics, metrics, run_params, run_status
from rmtc.store.types import MetricPoint, Page, RunQuery, RunStatus

RUN_STATES = ("created", "running", "finished", "failed", "killed")

_OPS = {
    "<": lambda c, v: c < v,
    "<=": lambda c, v: c <= v,
    ">": lambda c, v: c > v,
    ">=": lambda c, v: c >= v,
    "=": lambda c, v: c == v,
    "==": lambda c, v: c == v,
    "!=": lambda c, v: c != v,
}


def set_run_status(conn: sa.Connection, d: SqlDialect, status: RunStatus) -> None:
    run = codec.as_id(status.run, "run")
    row = status_row(status, run)
    require_entities(conn, d, {run}, "a run status")
    upsert_statuses(conn, d, [row])


def get_run_status(conn: sa.Connection, run: EntityId) -> RunStatus:
    rid = codec.as_id(run, "run")
    row = conn.execute(sa.select(run_status).where(run_status.c.run == rid)).first()
    if row is None:
        raise NotFound(
            f"run {rid} has no status", hint="check the run id; a run gets a status when it starts"
        )
    return RunStatus(run=EntityId(row.run), state=row.state, updated_at=row.updated_at, message=row.message)


def log_metrics(conn: sa.Connection, d: SqlDialect, run: EntityId, points: Sequence[MetricPoint]) -> None:
    rid = codec.as_id(run, "run")
    require_entities(conn, d, {rid}, "metric points")
    if not points:
        return
    at = codec.now()
    raw_run, raw_now = d.raw_id(rid), d.raw_time(at)
    raw: list[tuple[Any, ...]] = []
    latest: dict[str, dict[str, Any]] = {}
    times: dict[Any, Any] = {}  # points logged together share a timestamp: convert it once
    for p in points:
        row = _point_row(rid, p, at)
        if p.at is None:
            raw_at = raw_now
        else:
            raw_at = times.get(p.at)
            if raw_at is None:
                raw_at = times[p.at] = d.raw_time(row["at"])
        raw.append((raw_run, row["key"], row["step"], row["value"], raw_at))
        best = latest.get(row["key"])
        if best is None or row["step"] >= best["step"]:
            latest[row["key"]] = row
    d.bulk_insert(conn, metrics, raw)
    stmt = d.insert(latest_metrics)
    stmt = stmt.on_conflict_do_update(
        index_elements=[latest_metrics.c.run, latest_metrics.c.key],
        set_={"step": stmt.excluded.step, "value": stmt.excluded.value, "at": stmt.excluded.at},
        where=latest_metrics.c.step <= stmt.excluded.step,
    )
    conn.execute(stmt, list(latest.values()))


def _point_row(run: EntityId, p: MetricPoint, default_at: Any) -> dict[str, Any]:
    if type(p.step) is not int:
        raise InvalidInput(
            f"metric {p.key!r} step {p.step!r} is not an integer", hint="steps are whole numbers"
        )
    if "\x00" in p.key:
        codec.text(p.key, "metric key")
    value = float(p.value)
    return {
        "run": run,
        "key": p.key,
        "step": p.step,
        "value": None if value != value else value,
        "at": default_at if p.at is None else codec.aware(p.at, f"time of metric {p.key!r}"),
    }


def get_metrics(
    conn: sa.Connection, d: SqlDialect, run: EntityId, keys: Sequence[str] | None
) -> dict[str, list[MetricPoint]]:
    rid = codec.as_id(run, "run")
    stmt = sa.select(metrics.c.key, metrics.c.step, metrics.c.value, metrics.c.at).where(metrics.c.run == rid)
    if keys is not None:
        stmt = stmt.where(d.in_list(metrics.c.key, codec.distinct(keys)))
    out: dict[str, list[MetricPoint]] = {}
    for r in conn.execute(stmt.order_by(metrics.c.key, metrics.c.step, metrics.c.seq)):
        out.setdefault(r.key, []).append(MetricPoint(r.key, r.step, _value(r.value), r.at))
    return out


def latest_metrics_of(
    conn: sa.Connection, d: SqlDialect, runs: Sequence[EntityId]
) -> dict[EntityId, dict[str, float]]:
    ids = codec.as_ids(runs, "run")
    if not ids:
        return {}
    stmt = sa.select(latest_metrics.c.run, latest_metrics.c.key, latest_metrics.c.value).where(
        d.in_list(latest_metrics.c.run, ids)
    )
    out: dict[EntityId, dict[str, float]] = {}
    for r in conn.execute(stmt.order_by(latest_metrics.c.run, latest_metrics.c.key)):
        out.setdefault(EntityId(r.run), {})[r.key] = _value(r.value)
    return out


def _value(value: float | None) -> float:
    return math.nan if value is None else float(value)


def find_runs(
    conn: sa.Connection, d: SqlDialect, q: RunQuery, limit: int, cursor: str | None
) -> Page[Entity]:
    codec.check_limit(limit)
    after = codec.decode_cursor(cursor)
    e = entities.c
    where: list[ColumnElement[bool]] = [e.kind == Kind.RUN.value]
    if q.project is not None:
        where.append(e.project == q.project)
    if q.run_type is not None:
        where.append(d.json_equals(e.fields, "run_type", q.run_type))
    for key, value in q.params.items():
        text, number = param_value(value)
        match = run_params.c.value_text == text
        if number is not None:
            match = sa.or_(match, run_params.c.value_num == number)
        where.append(sa.exists().where(run_params.c.run == e.id, run_params.c.key == key, match))
    for key, op, value in q.metrics:
        if op not in _OPS:
            raise InvalidInput(
                f"metric condition {key} {op} {value} has no known operator",
                hint=f"use one of: {' '.join(o for o in _OPS if o != '==')}",
            )
        cond = _OPS[op](latest_metrics.c.value, float(value))
        where.append(sa.exists().where(latest_metrics.c.run == e.id, latest_metrics.c.key == key, cond))
    if q.states:
        where.append(sa.exists().where(run_status.c.run == e.id, run_status.c.state.in_(list(q.states))))
    if after is not None:
        where.append(e.seq > after)
    stmt = sa.select(*entities.c).where(*where).order_by(e.seq).limit(limit + 1)
    items, next_cursor = codec.page_of(conn.execute(stmt).all(), limit, codec.row_entity)
    return Page(items=items, next_cursor=next_cursor)


def status_row(status: Any, run: Any) -> dict[str, Any]:
    if status.state not in RUN_STATES:
        raise InvalidInput(
            f"run state {status.state!r} is not known", hint=f"use one of: {', '.join(RUN_STATES)}"
        )
    return {
        "run": run,
        "state": status.state,
        "message": codec.text(status.message or "", "run status message"),
        "updated_at": codec.aware(status.updated_at, "run status time"),
    }


def upsert_statuses(conn: sa.Connection, d: SqlDialect, rows: Sequence[dict[str, Any]]) -> None:
    stmt = d.insert(run_status)
    stmt = stmt.on_conflict_do_update(
        index_elements=[run_status.c.run],
        set_={
            "state": stmt.excluded.state,
            "message": stmt.excluded.message,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    conn.execute(stmt, list(rows))


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, tuple[str | None, float | None]]:
    """Searchable ``key -> (text, number)`` of a run's params; nested mappings become dotted keys.

    Numbers keep their JSON text too, so ``lr=0.001`` typed on a command line finds ``0.001``.
    """
    out: dict[str, tuple[str | None, float | None]] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_params(value, f"{name}."))
        else:
            out[name] = param_value(value)
    return out


def param_value(value: Any) -> tuple[str | None, float | None]:
    if isinstance(value, bool):
        return ("true" if value else "false"), None
    if isinstance(value, int | float):
        number = float(value)
        return json.dumps(value), (number if math.isfinite(number) else None)
    if isinstance(value, str):
        return value, None
    if value is None:
        return None, None
    return json.dumps(value, sort_keys=True, default=str), None
