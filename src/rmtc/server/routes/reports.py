"""Reports for legal and production (``rmtc report``), always downloaded as attachments: an HTML report
is never rendered in the Explorer's origin, whatever names and licence texts it quotes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from rmtc.api.tracker import Tracker
from rmtc.server.deps import Role, project_tracker
from rmtc.server.routes._common import AtParam, RefParam, attachment, day
from rmtc.services.report import build_report, render

router = APIRouter(tags=["reports"])
Viewer = Annotated[Tracker, Depends(project_tracker(Role.viewer))]

_MEDIA = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
}


@router.get("/reports/{ref}", response_class=Response)
def report(
    ref: RefParam, t: Viewer, format: Literal["html", "md", "json"] = "html", at: AtParam = None
) -> Response:
    """Sources, talent, licences and their status, runs and metrics, effective rights and the graph."""
    built = build_report(t, ref, at=day(at))
    name = f"rmtc-report-{built.artefact.label.replace(':', '-')}.{format}"
    headers = {**attachment(name), "Content-Security-Policy": "sandbox; default-src 'none'"}
    return Response(render(built, format), media_type=_MEDIA[format], headers=headers)
