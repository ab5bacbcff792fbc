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

from rmtc.core.entities import Entity, License, Party, Right
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
    #: how many assets depicting the talent the artefact derives from (``paths`` may show fewer)
    sources: int = 0

    @property
    def contains(self) -> bool:
        return self.sources > 0

    def to_json(self) -> dict[str, Any]:
        return {
            "artefact": _ref(self.artefact),
            "talent": _ref(self.talent),
            "contains": self.contains,
            "sources": self.sources,
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
        """One reason per (licence or talent, reason), each with the evidence path of the first source
        it was found on (breadth first: the nearest). A licence's verdict is computed once, however
        many entities it governs."""
        found: dict[tuple[str, str], tuple[EntityId, License | None, Relation | None, Party | None]] = {}
        verdicts: dict[EntityId, Any] = {}
        for entity_id, lic_ids in up.governed.items():
            for lic_id in lic_ids:
                lic = up.licenses.get(lic_id)
                if lic is None:
                    continue
                verdict = verdicts.get(lic_id)
                if verdict is None:
                    verdict = verdicts[lic_id] = evaluate(lic, right, ctx, up.revoked.get(lic_id))
                if not verdict.allowed:
                    found.setdefault(
                        (str(lic_id), verdict.reason), (entity_id, lic, Relation.GOVERNED_BY, None)
                    )
        ungoverned = [s for s in up.sources if not up.governed.get(s)]
        if ungoverned:
            loaded = up.load(ungoverned)
            for source in ungoverned:
                found.setdefault(
                    ("", f"no licence governs {loaded[source].label}"), (source, None, None, None)
                )
        talent_verdicts: dict[EntityId, tuple[str, str, License | None] | None] = {}
        for talent_id, talent in up.talents.items():
            agreements = [
                (up.licenses[x], up.revoked.get(x))
                for x in up.agreements.get(talent_id, [])
                if x in up.licenses
            ]
            if not agreements:
                reason = f"no agreement with talent {talent.name!r} covers their likeness"
                talent_verdicts[talent_id] = ("", reason, None)
                continue
            ok, why = any_allows(agreements, right, ctx)
            if not ok:
                reason = f"talent {talent.name!r}: " + "; ".join(v.reason for v in why)
                lic = agreements[0][0]
                talent_verdicts[talent_id] = (str(lic.id), reason, lic)
            else:
                talent_verdicts[talent_id] = None
        for asset_id, talents in up.depicts.items():
            for talent_id in talents:
                verdict_t = talent_verdicts.get(talent_id)
                if verdict_t is not None:
                    key, reason, lic = verdict_t
                    found.setdefault((key, reason), (asset_id, lic, Relation.DEPICTS, up.talents[talent_id]))
        if not found:
            return []
        chains = up.paths_to([source for source, _, _, _ in found.values()])
        out = []
        for ((_, reason), (_source, lic, last, party)), chain in zip(found.items(), chains, strict=True):
            path = _steps(chain)
            if last is not None and path:
                path[-1]["relation"] = last.value
                end = party if party is not None else lic
                if end is not None:
                    path.append({**_ref(end), "relation": None})
            out.append(Withholding(right, chain[-1][0], lic, reason, path))
        return out

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
    def contains(self, ref: RefLike, talent: RefLike, *, max_paths: int | None = 20) -> Containment:
        """Does the artefact derive from any asset depicting the talent? With the number of such
        assets and the evidence paths of the nearest ``max_paths`` of them (``None``: all)."""
        root = self.t.resolve(ref)
        party = self.t.parties.talent(talent)
        up = gather(self.t, root)
        hits = [asset_id for asset_id, talents in up.depicts.items() if party.id in talents]
        shown = hits if max_paths is None else hits[: max(0, max_paths)]
        paths = []
        for chain in up.paths_to(shown):
            path = _steps(chain)
            path[-1]["relation"] = Relation.DEPICTS.value
            path.append({**_ref(party), "relation": None})
            paths.append(path)
        return Containment(root, party, paths, sources=len(hits))


def _steps(chain: list[tuple[Entity, Relation | None]]) -> list[dict[str, Any]]:
    """An evidence path as JSON: each entity with the relation of the edge to the next one."""
    return [{**_ref(e), "relation": r.value if r else None} for e, r in chain]


def _ref(e: Entity) -> dict[str, Any]:
    return {"id": str(e.id), "kind": e.kind.value, "label": e.label}
