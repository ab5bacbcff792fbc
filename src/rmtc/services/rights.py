"""Effective rights, enforcement, and ``contains``.

A right is held on an artefact only when, over everything it is materially made of (its upstream
closure through :data:`rmtc.core.kinds.MATERIAL`):

- every licence governing any of those entities allows it (licences are conjunctive);
- every raw source (an asset or weights made of nothing recorded) is governed by at least one licence;
- every talent depicted has at least one licence they are a party to that allows it (a talent's
  agreements are alternatives: one per production, say).

Each right not held comes with the reasons: the source, the licence (if any) and why, and the evidence
path from the artefact down to that source. Enforcement (:meth:`Rights.require`) is called by the code
that trains, converts, publishes and infers before it starts; a refusal raises
:class:`~rmtc.errors.RightsViolation` carrying that path and is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import Entity, Right
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind, Relation
from rmtc.core.rights import BUILTIN_RIGHTS, Context, any_allows, evaluate, terms
from rmtc.errors import Conflict, InvalidInput, RightsViolation
from rmtc.services.upstream import Upstream, gather

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker


@dataclass(frozen=True, slots=True)
class Withholding:
    """Why a right is not held: the source it comes from, the licence (if one is to blame), the reason
    and the evidence path from the artefact to the source."""

    right: str
    source: Entity
    license: Entity | None
    reason: str
    path: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {
            "right": self.right,
            "source": _ref(self.source),
            "license": _ref(self.license) if self.license else None,
            "reason": self.reason,
            "path": self.path,
        }


@dataclass
class RightsReport:
    artefact: Entity
    context: Context
    held: list[str] = field(default_factory=list)
    withheld: dict[str, list[Withholding]] = field(default_factory=dict)
    licenses: list[Entity] = field(default_factory=list)
    talents: list[Entity] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)

    def allows(self, right: str) -> bool:
        return right in self.held

    def to_json(self) -> dict[str, Any]:
        return {
            "artefact": _ref(self.artefact),
            "at": self.context.at.isoformat(),
            "project": self.context.project,
            "jurisdiction": self.context.jurisdiction,
            "held": self.held,
            "withheld": {r: [w.to_json() for w in ws] for r, ws in self.withheld.items()},
            "licenses": [_ref(x) for x in self.licenses],
            "talents": [_ref(x) for x in self.talents],
            "requirements": self.requirements,
        }


@dataclass
class Containment:
    artefact: Entity
    talent: Entity
    paths: list[list[dict[str, Any]]]

    @property
    def contains(self) -> bool:
        return bool(self.paths)

    def to_json(self) -> dict[str, Any]:
        return {
            "artefact": _ref(self.artefact),
            "talent": _ref(self.talent),
            "contains": self.contains,
            "paths": self.paths,
        }


class Rights:
    def __init__(self, tracker: Tracker):
        self.t = tracker

    # -- the vocabulary ---------------------------------------------------------------------------
    def define(self, name: str, description: str = "") -> Right:
        """Add a facility right (``face-swap``, ``de-age``); built-in names are refused as duplicates."""
        if name in BUILTIN_RIGHTS:
            raise Conflict(f"{name!r} is a built-in right", hint="use it as it is")
        right = self.t.new(Right, name, description=description)
        try:
            stored = self.t.record([right], action="right.add", target=right).entities[0]
        except Conflict:
            raise Conflict(f"a right named {name!r} already exists", hint="use it as it is") from None
        assert isinstance(stored, Right)
        return stored

    def known(self) -> list[str]:
        custom = [r.name for r in self.t.iter(self.t.query(Kind.RIGHT))]
        return [*BUILTIN_RIGHTS, *sorted(custom)]

    def validate(self, rights: Sequence[str]) -> None:
        """Refuse rights nobody defined (a typo must not become a right that is never granted)."""
        known = set(self.known())
        unknown = [r for r in rights if r not in known]
        if unknown:
            raise InvalidInput(
                f"unknown right(s): {', '.join(unknown)}",
                hint=f"known rights: {', '.join(sorted(known))}; add one with `rmtc right add NAME`",
            )

    # -- evaluation -------------------------------------------------------------------------------
    def context(
        self, at: date | None = None, project: str | None = None, jurisdiction: str | None = None
    ) -> Context:
        return Context(at or self.t.clock.now().date(), project, jurisdiction)

    def effective(
        self,
        ref: RefLike,
        *,
        at: date | None = None,
        project: str | None = None,
        jurisdiction: str | None = None,
        rights: Sequence[str] | None = None,
    ) -> RightsReport:
        """The rights held on an artefact, and for each one not held, who withholds it and why."""
        names = list(rights) if rights is not None else self.known()
        self.validate(names)
        root = self.t.resolve(ref)
        up = gather(self.t, root)
        ctx = self.context(at, project, jurisdiction)
        report = RightsReport(
            root,
            ctx,
            licenses=sorted(up.licenses.values(), key=lambda x: x.name),
            talents=sorted(up.talents.values(), key=lambda x: x.name),
        )
        requires: set[str] = set()
        for lic in up.licenses.values():
            requires.update(terms(lic).requires)
        report.requirements = sorted(requires)
        for right in names:
            reasons = self._withheld(up, right, ctx)
            if reasons:
                report.withheld[right] = reasons
            else:
                report.held.append(right)
        return report

    def _withheld(self, up: Upstream, right: str, ctx: Context) -> list[Withholding]:
        out: list[Withholding] = []
        for entity_id, lic_ids in up.governed.items():
            for lic_id in lic_ids:
                lic = up.licenses.get(lic_id)
                if lic is None:
                    continue
                verdict = evaluate(lic, right, ctx, up.revoked.get(lic_id))  # type: ignore[arg-type]
                if not verdict.allowed:
                    out.append(self._why(up, right, entity_id, lic, verdict.reason, Relation.GOVERNED_BY))
        for source in up.sources:
            if not up.governed.get(source):
                name = up.entities[source].label
                out.append(self._why(up, right, source, None, f"no licence governs {name}", None))
        for asset_id, talents in up.depicts.items():
            for talent_id in talents:
                talent = up.talents.get(talent_id)
                if talent is None:
                    continue
                agreements = [
                    (up.licenses[x], up.revoked.get(x))
                    for x in up.agreements.get(talent_id, [])
                    if x in up.licenses
                ]
                if not agreements:
                    reason = f"no agreement with talent {talent.name!r} covers their likeness"
                    out.append(self._why(up, right, asset_id, None, reason, Relation.DEPICTS, talent))
                    continue
                ok, verdicts = any_allows(agreements, right, ctx)  # type: ignore[arg-type]
                if not ok:
                    reason = f"talent {talent.name!r}: " + "; ".join(v.reason for v in verdicts)
                    lic = agreements[0][0]
                    out.append(self._why(up, right, asset_id, lic, reason, Relation.DEPICTS, talent))
        return _dedupe(out)

    def _why(
        self,
        up: Upstream,
        right: str,
        source: EntityId,
        lic: Entity | None,
        reason: str,
        last: Relation | None,
        talent: Entity | None = None,
    ) -> Withholding:
        path = [{**_ref(e), "relation": rel.value if rel else None} for e, rel in up.path_to(source)]
        if last is not None and path:
            path[-1]["relation"] = last.value
            end = talent if talent is not None else lic
            if end is not None:
                path.append({**_ref(end), "relation": None})
        return Withholding(right, up.entities[source], lic, reason, path)

    def check(self, ref: RefLike, right: str, **ctx: Any) -> RightsReport:
        return self.effective(ref, rights=[right], **ctx)

    def require(self, refs: Sequence[RefLike] | RefLike, right: str, *, action: str, **ctx: Any) -> None:
        """Refuse work the rights do not allow: raise ``RightsViolation`` naming the source and the
        licence, with the evidence path, and write the refusal to the audit log."""
        targets = refs if isinstance(refs, list | tuple) else [refs]
        for ref in targets:
            report = self.check(ref, right, **ctx)
            reasons = report.withheld.get(right)
            if not reasons:
                continue
            first = reasons[0]
            self.t.record(
                action="rights.refused",
                target=report.artefact,
                detail={"right": right, "action": action, "reasons": [w.to_json() for w in reasons[:20]]},
            )
            more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
            raise RightsViolation(
                f"{action} refused: {report.artefact.label} lacks the {right!r} right: "
                f"{first.reason} (source {first.source.label}){more}",
                hint="see `rmtc rights " + str(report.artefact.id)[:8] + "` for every reason",
                evidence=first.path,
                details={"right": right, "reasons": [w.to_json() for w in reasons[:20]]},
            )

    # -- contains ---------------------------------------------------------------------------------
    def contains(self, ref: RefLike, talent: RefLike) -> Containment:
        """Does the artefact derive from any asset depicting the talent? With every evidence path."""
        root = self.t.resolve(ref)
        party = self.t.parties.talent(talent)
        up = gather(self.t, root)
        paths = []
        for asset_id, talents in up.depicts.items():
            if party.id in talents:
                path = [{**_ref(e), "relation": r.value if r else None} for e, r in up.path_to(asset_id)]
                path[-1]["relation"] = Relation.DEPICTS.value
                path.append({**_ref(party), "relation": None})
                paths.append(path)
        return Containment(root, party, paths)


def _ref(e: Entity) -> dict[str, Any]:
    return {"id": str(e.id), "kind": e.kind.value, "label": e.label}


def _dedupe(items: list[Withholding]) -> list[Withholding]:
    """One reason per (licence or talent, reason) pair: a licence on a thousand frames is one reason."""
    seen: set[tuple[str, str]] = set()
    out = []
    for w in items:
        key = (str(w.license.id) if w.license else "", w.reason)
        if key not in seen:
            seen.add(key)
            out.append(w)
    return out
