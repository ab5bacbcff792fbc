"""Runs: status and metric series for the Explorer's charts (the series of ``rmtc run show --json``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from rmtc.api.tracker import Tracker
from rmtc.errors import NotFound
from rmtc.server.deps import Role, project_tracker
from rmtc.server.routes._common import RefParam

router = APIRouter(tags=["runs"])
Viewer = Annotated[Tracker, Depends(project_tracker(Role.viewer))]


@router.get("/runs/{ref}/metrics")
def metrics(
    ref: RefParam,
    t: Viewer,
    keys: Annotated[list[str], Query(max_length=100, description="Only these metrics")] = [],  # noqa: B006
) -> dict[str, Any]:
    """``{"run", "status", "status_message", "series": {key: [{"step", "value"}]}}``, steps ascending."""
    run = t.runs.get(ref)
    try:
        status = t.runs.status(run)
        state, message = status.state, status.message
    except NotFound:
        state, message = None, ""
    series = t.runs.metrics(run, keys or None)
    return {
        "run": {"id": str(run.id), "kind": run.kind.value, "label": run.label},
        "status": state,
        "status_message": message,
        "series": {k: [{"step": p.step, "value": p.value} for p in pts] for k, pts in series.items()},
    }
