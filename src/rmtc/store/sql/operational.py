"""Dataset staging, aliases and flags: operational state that changes in place.

None of these tables is provenance: rows are updated and deleted freely, and every change a user should
be able to trace is recorded in the audit log by the caller, who knows who made it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from rmtc.core.ids import EntityId
from rmtc.errors import InvalidInput
from rmtc.store.sql import codec
from rmtc.store.sql.dialect import SqlDialect
from rmtc.store.sql.entities import require_entities
from rmtc.store.sql.schema import aliases, dataset_staging, flags

# -- dataset staging ---------------------------------------------------------------------------------


def _member(member: Mapping[str, Any]) -> dict[str, Any]:
    keys = set(member)
    if keys == {"asset"}:
        asset = codec.as_id(member["asset"], "staged asset")
        return {"member_key": f"asset:{asset}", "asset": asset, "input": None, "target": None}
    if keys == {"input", "target"}:
        inp = codec.as_id(member["input"], "staged input")
        tgt = codec.as_id(member["target"], "staged target")
        return {"member_key": f"pair:{inp}:{tgt}", "asset": None, "input": inp, "target": tgt}
    raise InvalidInput(
        f"dataset member {dict(member)!r} is neither {{'asset': id}} nor {{'input': id, 'target': id}}",
        hint="stage plain members as {'asset': id} and paired ones as {'input': id, 'target': id}",
    )


def stage_members(
    conn: sa.Connection, d: SqlDialect, dataset: EntityId, members: Sequence[Mapping[str, Any]]
) -> int:
    ds = codec.as_id(dataset, "dataset")
    rows = list({m["member_key"]: {**m, "dataset": ds} for m in map(_member, members)}.values())
    used = {i for r in rows for i in (r["asset"], r["input"], r["target"]) if i is not None}
    require_entities(conn, d, {ds} | used, "a staged dataset member")
    if not rows:
        return 0
    stmt = d.insert(dataset_staging).on_conflict_do_nothing().returning(dataset_staging.c.seq)
    return len(conn.execute(stmt, rows).all())


def unstage_members(conn: sa.Connection, d: SqlDialect, dataset: EntityId, assets: Sequence[EntityId]) -> int:
    ds = codec.as_id(dataset, "dataset")
    ids = codec.as_ids(assets, "asset")
    if not ids:
        return 0
    s = dataset_staging.c
    uses = sa.or_(d.in_list(s.asset, ids), d.in_list(s.input, ids), d.in_list(s.target, ids))
    stmt = sa.delete(dataset_staging).where(s.dataset == ds, uses).returning(s.seq)
    return len(conn.execute(stmt).all())


def staged_members(conn: sa.Connection, dataset: EntityId) -> list[dict[str, Any]]:
    ds = codec.as_id(dataset, "dataset")
    s = dataset_staging.c
    rows = conn.execute(sa.select(s.asset, s.input, s.target).where(s.dataset == ds).order_by(s.seq))
    return [
        {"asset": EntityId(r.asset)}
        if r.asset is not None
        else {"input": EntityId(r.input), "target": EntityId(r.target)}
        for r in rows
    ]


# -- aliases -----------------------------------------------------------------------------------------


def set_alias(
    conn: sa.Connection, d: SqlDialect, target_kind: str, name: str, alias: str, entity: EntityId | None
) -> None:
    for value, what in ((target_kind, "alias kind"), (name, "alias name"), (alias, "alias")):
        if not value:
            raise InvalidInput(
                f"{what} is empty",
                hint="aliases are kind, name and alias, e.g. model_version matte production",
            )
        codec.text(value, what)
    a = aliases.c
    key = (a.target_kind == target_kind, a.name == name, a.alias == alias)
    if entity is None:
        conn.execute(sa.delete(aliases).where(*key))
        return
    eid = codec.as_id(entity, "alias target")
    require_entities(conn, d, {eid}, f"alias {name}@{alias}")
    row = {"target_kind": target_kind, "name": name, "alias": alias, "entity": eid, "updated_at": codec.now()}
    stmt = d.insert(aliases)
    stmt = stmt.on_conflict_do_update(
        index_elements=[a.target_kind, a.name, a.alias],
        set_={"entity": stmt.excluded.entity, "updated_at": stmt.excluded.updated_at},
    )
    conn.execute(stmt, row)


def get_alias(conn: sa.Connection, target_kind: str, name: str, alias: str) -> EntityId | None:
    a = aliases.c
    found = conn.execute(
        sa.select(a.entity).where(a.target_kind == target_kind, a.name == name, a.alias == alias)
    ).scalar_one_or_none()
    return EntityId(found) if found is not None else None


def aliases_of(conn: sa.Connection, entity: EntityId) -> list[str]:
    a = aliases.c
    rows = conn.execute(
        sa.select(a.alias).where(a.entity == codec.as_id(entity)).distinct().order_by(a.alias)
    )
    return [r.alias for r in rows]


# -- flags -------------------------------------------------------------------------------------------


def set_flag(
    conn: sa.Connection, d: SqlDialect, entity: EntityId, flag: str, value: Mapping[str, Any] | None
) -> None:
    eid = codec.as_id(entity)
    if not flag:
        raise InvalidInput("flag name is empty", hint="name the flag: blocked, revoked, purged, undecodable")
    codec.text(flag, "flag")
    f = flags.c
    if value is None:
        conn.execute(sa.delete(flags).where(f.entity == eid, f.flag == flag))
        return
    require_entities(conn, d, {eid}, f"flag {flag!r}")
    row = {"entity": eid, "flag": flag, "value": dict(value), "updated_at": codec.now()}
    stmt = d.insert(flags)
    stmt = stmt.on_conflict_do_update(
        index_elements=[f.entity, f.flag],
        set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
    )
    conn.execute(stmt, row)


def get_flags(
    conn: sa.Connection, d: SqlDialect, entities: Sequence[EntityId]
) -> dict[EntityId, dict[str, dict[str, Any]]]:
    ids = codec.as_ids(entities)
    if not ids:
        return {}
    f = flags.c
    out: dict[EntityId, dict[str, dict[str, Any]]] = {}
    for r in conn.execute(
        sa.select(f.entity, f.flag, f.value).where(d.in_list(f.entity, ids)).order_by(f.flag)
    ):
        out.setdefault(EntityId(r.entity), {})[r.flag] = dict(r.value)
    return out
