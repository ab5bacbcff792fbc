"""The audit log: rows written with each batch (``WriteBatch.audit``), read newest first.

Like entities and edges the log is append-only (triggers refuse UPDATE and DELETE). An event naming an
entity that a batch redirected to an already stored one names the stored one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from rmtc.core.ids import EntityId
from rmtc.store.sql import codec
from rmtc.store.sql.schema import audit
from rmtc.store.types import AuditEvent, Page


def audit_row(event: AuditEvent, redirect: Mapping[EntityId, EntityId] | None = None) -> dict[str, Any]:
    target = codec.as_id(event.target, "audit target") if event.target is not None else None
    if target is not None and redirect:
        target = redirect.get(target, target)
    return {
        "at": codec.aware(event.at, "audit event time"),
        "actor": codec.text(event.actor, "audit actor"),
        "action": codec.text(event.action, "audit action"),
        "target": target,
        "project": codec.text(event.project, "audit project"),
        "detail": dict(event.detail),
    }


def find_audit(
    conn: sa.Connection,
    *,
    target: EntityId | None,
    actor: str | None,
    action: str | None,
    project: str | None,
    limit: int,
    cursor: str | None,
) -> Page[AuditEvent]:
    codec.check_limit(limit)
    before = codec.decode_cursor(cursor)
    stmt = sa.select(audit)
    if target is not None:
        stmt = stmt.where(audit.c.target == codec.as_id(target, "audit target"))
    if actor is not None:
        stmt = stmt.where(audit.c.actor == actor)
    if action is not None:
        stmt = stmt.where(audit.c.action == action)
    if project is not None:
        stmt = stmt.where(audit.c.project == project)
    if before is not None:
        stmt = stmt.where(audit.c.seq < before)
    rows = conn.execute(stmt.order_by(audit.c.seq.desc()).limit(limit + 1)).all()
    items, next_cursor = codec.page_of(rows, limit, codec.row_audit)
    return Page(items=items, next_cursor=next_cursor)
