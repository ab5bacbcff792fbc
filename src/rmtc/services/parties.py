"""Parties and licences: who appears in the footage, and under what terms it may be used.

This module records the facts (a talent, a licence, which assets depict whom, which artefacts a licence
governs). Deciding what those facts allow is the rights service's job.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Literal

from rmtc.core import spdx
from rmtc.core.entities import License, Party
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import Conflict, InvalidInput, RmtcWarning

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker

BUILTIN_RIGHTS = ("training", "inference", "commercial", "derivatives")


class Parties:
    def __init__(self, tracker: Tracker):
        self.t = tracker

    def add_party(
        self,
        name: str,
        *,
        party_type: Literal["person", "organisation"] = "person",
        talent: bool = False,
        contact: str = "",
    ) -> Party:
        """Record a person or organisation; a name already taken is a ``Conflict``."""
        party = self.t.new(Party, name, party_type=party_type, talent=talent, contact=contact)
        try:
            stored = self.t.record([party], action="party.add", target=party).entities[0]
        except Conflict:
            raise Conflict(
                f"a party named {name!r} already exists", hint=f"refer to it as party:{name}"
            ) from None
        assert isinstance(stored, Party)
        return stored

    def add_talent(self, name: str, *, contact: str = "") -> Party:
        return self.add_party(name, party_type="person", talent=True, contact=contact)

    def talent(self, ref: RefLike) -> Party:
        """A talent by reference; a bare name is read as ``party:NAME``."""
        entity = self.t.resolve(self.t.resolve_named(ref, Kind.PARTY), Kind.PARTY)
        assert isinstance(entity, Party)
        return entity

    def add_license(
        self,
        name: str,
        *,
        grants: Sequence[str] = (),
        excludes: Sequence[str] = (),
        requires: Sequence[str] = (),
        parties: Sequence[RefLike] = (),
        jurisdictions: Sequence[str] = (),
        projects: Sequence[str] = (),
        start: date | None = None,
        finish: date | None = None,
        mode: Literal["allow", "deny"] = "allow",
        spdx_id: str | None = None,
        agreement: bool = False,
        text: str = "",
    ) -> License:
        """Record a licence. Its finish may not precede its start; a taken name is a ``Conflict``."""
        if start is not None and finish is not None and finish < start:
            raise InvalidInput(
                f"licence {name!r} finishes ({finish}) before it starts ({start})",
                hint="swap the dates or correct one",
            )
        self.t.rights.validate([*grants, *excludes])
        if spdx_id and not (grants or excludes or mode == "deny") and spdx.lookup(spdx_id) is None:
            warnings.warn(
                f"SPDX id {spdx_id!r} is not one rmtc knows: licence {name!r} is recorded as a custom "
                "licence "
                "that grants nothing; list its terms with --grants/--excludes",
                RmtcWarning,
                stacklevel=2,
            )
        overlap = set(grants) & set(excludes)
        if overlap:
            raise InvalidInput(
                f"licence {name!r} both grants and excludes {', '.join(sorted(overlap))}",
                hint="a right is either granted or excluded",
            )
        party_entities = [self.talent(p) for p in parties]
        lic = self.t.new(
            License,
            name,
            grants=tuple(grants),
            excludes=tuple(excludes),
            requires=tuple(requires),
            parties=tuple(str(p.id) for p in party_entities),
            jurisdictions=tuple(jurisdictions),
            projects=tuple(projects),
            start=start,
            finish=finish,
            mode=mode,
            spdx_id=spdx_id,
            agreement=agreement,
            text=text,
        )
        edges = [self.t.edge(lic, Relation.ATTRIBUTED_TO, p, role="party") for p in party_entities]
        try:
            stored = self.t.record([lic], edges, action="license.add", target=lic).entities[0]
        except Conflict:
            raise Conflict(
                f"a licence named {name!r} already exists", hint=f"refer to it as license:{name}"
            ) from None
        assert isinstance(stored, License)
        return stored

    def license(self, ref: RefLike) -> License:
        entity = self.t.resolve(self.t.resolve_named(ref, Kind.LICENSE), Kind.LICENSE)
        assert isinstance(entity, License)
        return entity

    def depicts(self, assets: Sequence[RefLike], talent: RefLike) -> int:
        """Record that assets show a talent's likeness; returns how many edges were new."""
        party = self.talent(talent)
        edges = [self.t.edge(self.t.resolve(a), Relation.DEPICTS, party) for a in assets]
        result = self.t.record(edges=edges, action="depicts", target=party, detail={"assets": len(edges)})
        return result.edges_created

    def govern(self, targets: Sequence[RefLike], license: RefLike) -> int:
        """Record that a licence governs assets, datasets or models; returns how many edges were new."""
        lic = self.license(license)
        edges = [self.t.edge(self.t.resolve(x), Relation.GOVERNED_BY, lic) for x in targets]
        result = self.t.record(edges=edges, action="govern", target=lic, detail={"targets": len(edges)})
        return result.edges_created
