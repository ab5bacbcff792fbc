"""Effective rights, enforcement, and ``contains``.

A right is held on an artefact only when, over everything it is materially made of (its upstream
closure through :data:`rmtc.core.kinds.MATERIAL`):

- every licence governing any of those entities allows it (licences are conjunctive);
- every raw source (an asset or weights made of nothing recorded) is governed by at least one licence;
- every talent depicted has at least one licence they are a party to that allows it (a talent's
  agreements are alternatives: one per production, say).

Each right not held comes with the reasons: the source, the licence (if any) and why, and the evidence
path from the artefact down to that source.

The licences, talents and unlicensed sources of an upstream come from the store's upstream facts (one
row per artefact, kept by every write) instead of a walk over its closure; only for the facts that
withhold a right does a walk look for the nearest source holding each, entering nothing that does not
lead to one. Reasons are listed licences first, then unlicensed sources, then talents, each group
nearest first. Enforcement (:meth:`Rights.require`) is called by the code
that trains, converts, publishes and infers before it starts; a refusal raises
:class:`~rmtc.errors.RightsViolation` carrying that path and is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import Entity, License, Right
from rmtc.core.ids import EntityId
from rmtc.core.kinds import MATERIAL, Kind, Relation
from rmtc.core.rights import BUILTIN_RIGHTS, Context, any_allows, evaluate
from rmtc.core.rights import terms as terms_of
from rmtc.errors import Conflict, InvalidInput, RightsViolation
from rmtc.services.reads import one_transaction
from rmtc.services.upstream import Governance, get_entities, governance
from rmtc.store.types import Closure, UpstreamFacts

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

    @one_transaction
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
        facts = self.facts(root)
        terms = governance(self.t, facts.licenses, facts.talents)
        ctx = self.context(at, project, jurisdiction)
        report = RightsReport(
            root,
            ctx,
            licenses=sorted(terms.licenses.values(), key=lambda x: x.name),
            talents=sorted(terms.talents.values(), key=lambda x: x.name),
        )
        report.requirements = sorted({r for lic in terms.licenses.values() for r in terms_of(lic).requires})
        failing = {right: self._failing(facts, terms, right, ctx) for right in names}
        wanted = {fact for reasons in failing.values() for fact, _, _, _ in reasons}
        reach, holders = self._holders(root, wanted)
        shown = self._load_paths(reach, [holders[f][0] for f in wanted if f in holders], terms)
        for right in names:
            reasons = [
                self._withholding(right, reach, holders, shown, *reason)
                for reason in sorted(
                    failing[right], key=lambda r: (_CATEGORY[r[1]], holders.get(r[0], _LAST)[2])
                )
            ]
            if reasons:
                report.withheld[right] = reasons
            else:
                report.held.append(right)
        return report

    def facts(self, root: Entity) -> UpstreamFacts:
        """What the artefact's material upstream holds: kept by the store for an entity of this
        project; an entity of another project has nothing upstream here (only itself)."""
        if root.project == self.t.project:
            kept = self.t.store.upstream_facts([root.id]).get(root.id)
            if kept is not None:
                return kept
        return UpstreamFacts.of_closure(Closure({root.id: root.kind}, {}, {}))

    @staticmethod
    def _failing(
        facts: UpstreamFacts, terms: Governance, right: str, ctx: Context
    ) -> list[tuple[EntityId, str, str, License | None]]:
        """The facts withholding ``right``: (fact, category, reason, licence to blame)."""
        out: list[tuple[EntityId, str, str, License | None]] = []
        for lic_id in facts.licenses:
            lic = terms.licenses.get(lic_id)
            if lic is not None:
                verdict = evaluate(lic, right, ctx, terms.revoked.get(lic_id))
                if not verdict.allowed:
                    out.append((lic_id, "license", verdict.reason, lic))
        out += [(source, "ungoverned", "", None) for source in facts.ungoverned]
        for talent_id, talent in terms.talents.items():
            agreements = [
                (terms.licenses[x], terms.revoked.get(x))
                for x in terms.agreements.get(talent_id, [])
                if x in terms.licenses
            ]
            if not agreements:
                out.append(
                    (
                        talent_id,
                        "talent",
                        f"no agreement with talent {talent.name!r} covers their likeness",
                        None,
                    )
                )
                continue
            ok, why = any_allows(agreements, right, ctx)
            if not ok:
                reason = f"talent {talent.name!r}: " + "; ".join(v.reason for v in why)
                out.append((talent_id, "talent", reason, agreements[0][0]))
        return out

    def _holders(
        self, root: Entity, wanted: set[EntityId]
    ) -> tuple[Closure, dict[EntityId, tuple[EntityId, Relation | None, tuple[int, int]]]]:
        """The nearest entity holding each fact directly (breadth first, then in recording order), with
        the relation it holds it by, from a walk that enters only what leads to those facts."""
        if not wanted or root.project != self.t.project:
            reach = Closure({root.id: root.kind}, {}, {})
        else:
            reach = self.t.store.closure(
                [root.id],
                "up",
                through=MATERIAL,
                project=self.t.project,
                annotate=[Relation.GOVERNED_BY, Relation.DEPICTS],
                having=wanted,
                nearest=True,
            )
        rank = {eid: n for n, eid in enumerate(reach.kinds)}
        best: dict[EntityId, tuple[EntityId, Relation | None, tuple[int, int]]] = {}
        for order, (src, relation, fact) in enumerate(reach.annotations):
            if fact not in wanted or (
                relation is Relation.DEPICTS and reach.kinds.get(src) is not Kind.ASSET
            ):
                continue
            key = (rank[src], order)
            if fact not in best or key < best[fact][2]:
                best[fact] = (src, relation, key)
        for fact in wanted:
            if fact in rank and fact not in best:  # an ungoverned source holds itself
                best[fact] = (fact, None, (rank[fact], -1))
        return reach, best

    def _load_paths(
        self, reach: Closure, holders: list[EntityId], terms: Governance
    ) -> dict[EntityId, Entity]:
        on_paths = {eid for holder in holders for eid, _ in reach.path(holder)}
        missing = [eid for eid in on_paths if eid not in terms.loaded]
        return {**terms.loaded, **get_entities(self.t, missing)}

    @staticmethod
    def _withholding(
        right: str,
        reach: Closure,
        holders: dict[EntityId, tuple[EntityId, Relation | None, tuple[int, int]]],
        loaded: dict[EntityId, Entity],
        fact: EntityId,
        category: str,
        reason: str,
        lic: License | None,
    ) -> Withholding:
        holder, relation, _ = holders.get(fact, (next(iter(reach.kinds)), None, _LAST[2]))
        path = _steps([(loaded[eid], rel) for eid, rel in reach.path(holder)])
        source = loaded[holder]
        if category == "ungoverned":
            reason = f"no licence governs {source.label}"
        else:
            path[-1]["relation"] = relation.value if relation else None
            end = loaded.get(fact) if category == "talent" else lic
            if end is not None:
                path.append({**_ref(end), "relation": None})
        return Withholding(right, source, lic, reason, path)

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
    @one_transaction
    def contains(self, ref: RefLike, talent: RefLike, *, max_paths: int | None = 20) -> Containment:
        """Does the artefact derive from any asset depicting the talent? With the number of such
        assets and the evidence paths of the nearest ``max_paths`` of them (``None``: all)."""
        root = self.t.resolve(ref)
        party = self.t.parties.talent(talent)
        if party.id not in self.facts(root).talents:
            return Containment(root, party, [], sources=0)
        reach = self.t.store.closure(
            [root.id],
            "up",
            through=MATERIAL,
            project=self.t.project,
            annotate=[Relation.DEPICTS],
            having=[party.id],
        )
        depicting = {src for src, _, _ in reach.annotations if reach.kinds.get(src) is Kind.ASSET}
        hits = [eid for eid in reach.kinds if eid in depicting]
        shown = hits if max_paths is None else hits[: max(0, max_paths)]
        chains = [reach.path(h) for h in shown]
        loaded = get_entities(self.t, list({eid for chain in chains for eid, _ in chain}))
        paths = []
        for chain in chains:
            path = _steps([(loaded[eid], rel) for eid, rel in chain])
            path[-1]["relation"] = Relation.DEPICTS.value
            path.append({**_ref(party), "relation": None})
            paths.append(path)
        return Containment(root, party, paths, sources=len(hits))


#: Reasons are listed licences first, then unlicensed sources, then talents; each group nearest first.
_CATEGORY = {"license": 0, "ungoverned": 1, "talent": 2}
_LAST = (None, None, (1 << 62, 0))


def _steps(chain: list[tuple[Entity, Relation | None]]) -> list[dict[str, Any]]:
    """An evidence path as JSON: each entity with the relation of the edge to the next one."""
    return [{**_ref(e), "relation": r.value if r else None} for e, r in chain]


def _ref(e: Entity) -> dict[str, Any]:
    return {"id": str(e.id), "kind": e.kind.value, "label": e.label}
