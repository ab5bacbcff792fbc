"""Printing: Rich tables for people, JSON (each entity with at least ``id`` and ``kind``) for programs."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from rmtc.core.entities import Entity

console = Console(highlight=False, soft_wrap=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, sort_keys=False) + "\n")


def short(entity_id: object) -> str:
    return str(entity_id)[:8]


def entity_table(entities: Sequence[Entity], *, title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False, header_style="bold")
    for col in ("id", "kind", "name", "version", "created", "by", "summary"):
        table.add_column(col, overflow="fold")
    for e in entities:
        table.add_row(
            short(e.id),
            e.kind.value,
            e.name,
            "" if e.version is None else str(e.version),
            e.created_at.strftime("%Y-%m-%d %H:%M"),
            e.created_by,
            summary(e),
        )
    return table


def summary(e: Entity) -> str:
    """A one-line description of an entity's most telling fields."""
    data = e.to_json()
    keys = {
        "asset": ("size", "storage", "frame"),
        "dataset_version": ("member_count", "paired"),
        "dataset": ("paired",),
        "party": ("party_type", "talent"),
        "license": ("grants", "excludes", "finish"),
        "run": ("run_type",),
        "weights": ("format", "size"),
        "checkpoint": ("step",),
    }.get(e.kind.value, ())
    parts = [f"{k}={_fmt(data.get(k))}" for k in keys if data.get(k) not in (None, "", [], ())]
    return " ".join(parts)


def _fmt(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def show_entity(e: Entity, extra: Mapping[str, Any] | None = None) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold cyan")
    table.add_column(overflow="fold")
    for key, value in e.to_json().items():
        if value in (None, "", [], {}):
            continue
        table.add_row(key, _pretty(value))
    for key, value in (extra or {}).items():
        table.add_row(key, _pretty(value))
    console.print(table)


def _pretty(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def lines(rows: Iterable[str]) -> None:
    for row in rows:
        console.print(row)


def write_or_print(text: str, out: str | None) -> None:
    """Print ``text``, or write it to ``out`` atomically (a temp file beside it, then a rename), so a
    report or export interrupted half way never leaves a truncated file under the final name."""
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    from pathlib import Path

    target = Path(out)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    err_console.print(f"wrote {target}")
