"""Rights: effective rights with the withholding evidence, ``contains``, and revoke (dry run or apply).

The answers are the JSON of ``rmtc rights|check|contains|revoke --json``; the rights answer adds each
licence's status (active, expired, revoked) and each talent's agreements, as the report lists them,
so the Explorer can show consent next to the rights. Applying a revocation needs an admin token.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from rmtc.api.tracker import Tracker
from rmtc.errors import Forbidden
from rmtc.server.deps import Principal, Role, project_tracker, require
from rmtc.server.routes._common import AtParam, RefParam, day
from rmtc.services.report import build_report

router = APIRouter(tags=["rights"])
Viewer = Annotated[Tracker, Depends(project_tracker(Role.viewer))]


@router.get("/rights/{ref}")
def rights(
    ref: RefParam,
    t: Viewer,
    at: AtParam = None,
    for_project: Annotated[str | None, Query(max_length=200, description="The production of the use")] = None,
    jurisdiction: Annotated[str | None, Query(max_length=200)] = None,
    right: Annotated[str | None, Query(max_length=200, description="Check this right only")] = None,
) -> dict[str, Any]:
    """What ``rmtc rights REF --json`` prints (or ``rmtc check REF --right R --json`` with ``right``),
    plus ``license_status`` and ``talent_status`` from the report."""
    when = day(at)
    summary = build_report(t, ref, at=when)
    context = {"at": when, "project": for_project, "jurisdiction": jurisdiction}
    if right is not None:
        report = t.rights.check(summary.artefact, right, **context)
        answer = {**report.to_json(), "right": right, "allowed": report.allows(right)}
    elif for_project is not None or jurisdiction is not None:
        answer = t.rights.effective(summary.artefact, **context).to_json()  # type: ignore[arg-type]
    else:
        answer = summary.rights.to_json()
    return {
        **answer,
        "license_status": summary.licenses,
        "talent_status": summary.talents,
        "flags": summary.flags,
    }


@router.get("/contains/{ref}")
def contains(
    ref: RefParam,
    t: Viewer,
    talent: Annotated[str, Query(min_length=1, max_length=512, description="The talent")],
) -> dict[str, Any]:
    """Does the artefact derive from any asset depicting the talent? ``rmtc contains --json``."""
    return t.rights.contains(ref, talent).to_json()


class RevokeRequest(BaseModel):
    """Revoke a licence, or every agreement of a talent."""

    target: str = Field(min_length=1, max_length=512, description="license:NAME, a talent, or an id")
    reason: str = Field("", max_length=4000, description="Why (recorded with the revocation)")
    dry_run: bool = Field(True, description="Show the impact and plan; change nothing")
    at: date | None = Field(None, description="Effective date; today by default")


@router.post("/revoke")
def revoke(
    body: RevokeRequest,
    t: Viewer,
    principal: Annotated[Principal, Depends(require(Role.viewer))],
) -> dict[str, Any]:
    """The impact downstream and the retrain plan (``rmtc revoke --json``); applied unless ``dry_run``,
    which needs an admin: it blocks every affected model version."""
    if not body.dry_run and principal.role < Role.admin:
        raise Forbidden(
            f"user {principal.user!r} is a {principal.role.name}; applying a revocation needs an admin",
            hint="show the impact with dry_run=true, and ask an admin to apply it",
        )
    impact = t.revoker.revoke(body.target, reason=body.reason, dry_run=body.dry_run, at=body.at)
    return impact.to_json()
