"""W3C PROV (PROV-JSON, PROV-N) of an entity's provenance, built with the ``prov`` library.

rmtc's relations were chosen to be PROV-aligned (DESIGN.md), so this is a mapping, not a translation:

================  =====================================================================================
rmtc              PROV
================  =====================================================================================
asset, dataset,   ``entity``; a dataset version is also a ``prov:Collection`` of its members, a
dataset version,  solution a ``prov:Plan``; a licence carries its terms (grants, excludes, requires,
weights, check-   parties, jurisdictions, projects, dates, SPDX id) and its status (``active`` or
point, model,     ``revoked`` with date and reason) as attributes
model version,
licence, solution
run, inference,   ``activity`` with its start time and, once the run ended, its end time, status and
session           parameters
party, user       ``agent``: a party is a ``prov:Person`` or ``prov:Organization``; a user (who recorded
                  a fact) an agent of type ``rmtc:User``
used              ``used(activity, entity)``
generated_by      ``wasGeneratedBy(entity, activity, time)``
derived_from      ``wasDerivedFrom(derived, source)``
variant_of        ``alternateOf(variant, original)``: a conversion (ONNX or TorchScript of the same
                  weights) presents the same thing in another form; neither is a more specific
                  aspect of the other, so it is not ``specializationOf``
version_of        ``specializationOf(version, dataset or model)``: a version is the dataset (or model)
                  fixed at one state, PROV's very example of a specialisation
member_of         ``hadMember(dataset version, asset)``
attributed_to     ``wasAttributedTo(entity, agent)``, or ``wasAssociatedWith(activity, agent)``
depicts,          ``wasInfluencedBy(src, dst)`` typed ``rmtc:depicts`` / ``rmtc:governed_by`` /
governed_by,      ``rmtc:part_of``: PROV has no term for them, and an influence keeps them edges that
part_of           PROV tools can follow
================  =====================================================================================

Every entity is attributed to the user who recorded it and every activity associated with them.
Identifiers are ``rmtc:<uuid>`` in the namespace ``urn:rmtc:``. An entity ``rmtc:export-<root uuid>``
of type ``rmtc:Export`` names the root, when and by whom the document was made and the mapping
version (``rmtc:mapping = "rmtc.Export/1"``). PROV membership carries no attributes, so the
``input``/``target`` role of a paired member is not exported.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import Entity, kind_fields
from rmtc.core.kinds import Kind, Relation
from rmtc.standards.graph import MAPPING, NAMESPACE, Provenance, plain_value, require, user_local_name
from rmtc.store.types import Edge

if TYPE_CHECKING:
    from prov.model import ProvDocument

_ACTIVITIES = frozenset({Kind.RUN, Kind.INFERENCE, Kind.SESSION})
_AGENTS = frozenset({Kind.PARTY})
_ENDED = frozenset({"finished", "failed", "killed"})
Attributes = list[tuple[str, Any]]


def document(graph: Provenance) -> ProvDocument:
    """The PROV document of ``graph`` (see the module docstring for the mapping)."""
    model = require("prov.model", "PROV")
    doc: ProvDocument = model.ProvDocument()
    ns = doc.add_namespace("rmtc", NAMESPACE)
    builder = _Builder(doc, ns, model, graph)
    builder.export_record()
    for entity in graph.entities.values():
        builder.element(entity)
    for user in graph.users():
        doc.agent(ns[user_local_name(user)], [("prov:type", ns["User"]), ("prov:label", user)])
    for entity in graph.entities.values():
        builder.responsibility(entity)
    for edge in graph.edges:
        builder.relation(edge)
    return doc


def to_json(graph: Provenance) -> str:
    """PROV-JSON text."""
    return str(document(graph).serialize(format="json", indent=1))


def to_provn(graph: Provenance) -> str:
    """PROV-N text."""
    return str(document(graph).get_provn())


class _Builder:
    def __init__(self, doc: ProvDocument, ns: Any, model: Any, graph: Provenance):
        self.doc = doc
        self.ns = ns
        self.model = model
        self.graph = graph

    def q(self, entity_id: object) -> Any:
        return self.ns[str(entity_id)]

    def export_record(self) -> None:
        g = self.graph
        self.doc.entity(
            self.ns[f"export-{g.root.id}"],
            [
                ("prov:type", self.ns["Export"]),
                ("rmtc:mapping", MAPPING),
                ("rmtc:root", self.q(g.root.id)),
                ("rmtc:direction", g.direction),
                ("rmtc:project", g.project),
                ("rmtc:exported_at", g.exported_at),
                ("rmtc:exported_by", g.exported_by),
                ("rmtc:rmtc_version", g.rmtc_version),
            ],
        )

    def element(self, entity: Entity) -> None:
        attrs = [*self.types(entity), ("prov:label", entity.label), *self.attributes(entity)]
        if entity.kind in _ACTIVITIES:
            status = self.graph.statuses.get(entity.id)
            end = status.updated_at if status is not None and status.state in _ENDED else None
            if status is not None:
                attrs.append(("rmtc:status", status.state))
                if status.message:
                    attrs.append(("rmtc:status_message", status.message))
            metrics = self.graph.metrics.get(entity.id)
            if metrics:
                attrs.append(("rmtc:metrics", plain_value(dict(metrics))))
            self.doc.activity(self.q(entity.id), entity.created_at, end, attrs)
        elif entity.kind in _AGENTS:
            self.doc.agent(self.q(entity.id), attrs)
        else:
            self.doc.entity(self.q(entity.id), attrs)

    def types(self, entity: Entity) -> Attributes:
        prov = self.model.PROV
        types = [self.ns[_camel(entity.kind)]]
        if entity.kind is Kind.DATASET_VERSION:
            types.append(prov["Collection"])
        elif entity.kind is Kind.SOLUTION:
            types.append(prov["Plan"])
        elif entity.kind is Kind.PARTY:
            person = getattr(entity, "party_type", "person") == "person"
            types.append(prov["Person"] if person else prov["Organization"])
            if getattr(entity, "talent", False):
                types.append(self.ns["Talent"])
        return [("prov:type", t) for t in types]

    def attributes(self, entity: Entity) -> Iterator[tuple[str, Any]]:
        yield ("rmtc:name", entity.name)
        yield ("rmtc:project", entity.project)
        if entity.version is not None:
            yield ("rmtc:version", entity.version)
        if entity.content_hash:
            yield ("rmtc:content_hash", entity.content_hash)
        yield ("rmtc:created_at", entity.created_at)
        yield ("rmtc:created_by", entity.created_by)
        if entity.attrs:
            yield ("rmtc:attrs", plain_value(dict(entity.attrs)))
        for name in kind_fields(entity.kind):
            yield from self.field(name, getattr(entity, name))
        flags = self.graph.flags.get(entity.id, {})
        for flag in sorted(flags):
            yield ("rmtc:flag", flag)
        if entity.kind is Kind.LICENSE:
            revoked = self.graph.revocation(entity.id)
            yield ("rmtc:status", "revoked" if revoked is not None else "active")
            if revoked is not None:
                yield from self.field("revoked_at", _date(revoked.get("at")))
                yield from self.field("revoked_reason", revoked.get("reason"))
        if "blocked" in flags:
            yield from self.field("blocked_reason", flags["blocked"].get("reason"))

    def field(self, name: str, value: Any) -> Iterator[tuple[str, Any]]:
        key = f"rmtc:{name}"
        if value is None or value == "" or value == () or value == [] or value == {}:
            return
        if isinstance(value, datetime):
            yield (key, value)
        elif isinstance(value, date):
            yield (key, self.model.Literal(value.isoformat(), self.model.XSD["date"]))
        elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            yield from ((key, v) for v in value)
        else:
            yield (key, plain_value(value))

    def responsibility(self, entity: Entity) -> None:
        user = self.ns[user_local_name(entity.created_by)]
        if entity.kind in _ACTIVITIES:
            self.doc.wasAssociatedWith(self.q(entity.id), user)
        elif entity.kind not in _AGENTS:
            self.doc.wasAttributedTo(self.q(entity.id), user)

    def relation(self, edge: Edge) -> None:
        s, d = self.graph.entities[edge.src], self.graph.entities[edge.dst]
        a, b, relation, at = self.q(edge.src), self.q(edge.dst), edge.relation, edge.created_at
        extra = [kv for k, v in sorted(edge.attrs.items()) for kv in self.field(k, v)]
        src_is, dst_is = _base(s.kind), _base(d.kind)
        doc = self.doc
        if relation is Relation.USED and (src_is, dst_is) == ("activity", "entity"):
            doc.used(a, b, at, other_attributes=extra or None)
        elif relation is Relation.GENERATED_BY and (src_is, dst_is) == ("entity", "activity"):
            doc.wasGeneratedBy(a, b, s.created_at, other_attributes=extra or None)
        elif relation is Relation.DERIVED_FROM and (src_is, dst_is) == ("entity", "entity"):
            doc.wasDerivedFrom(a, b, other_attributes=extra or None)
        elif relation is Relation.VARIANT_OF and (src_is, dst_is) == ("entity", "entity"):
            doc.alternateOf(a, b)
        elif relation is Relation.VERSION_OF and (src_is, dst_is) == ("entity", "entity"):
            doc.specializationOf(a, b)
        elif relation is Relation.MEMBER_OF and (src_is, dst_is) == ("entity", "entity"):
            doc.hadMember(b, a)
        elif relation is Relation.ATTRIBUTED_TO and dst_is == "agent" and src_is == "entity":
            doc.wasAttributedTo(a, b, other_attributes=extra or None)
        elif relation is Relation.ATTRIBUTED_TO and dst_is == "agent" and src_is == "activity":
            doc.wasAssociatedWith(a, b, other_attributes=extra or None)
        else:
            doc.influence(a, b, other_attributes=[("prov:type", self.ns[relation.value]), *extra])


def _date(value: Any) -> Any:
    """A flag's ISO date as a date (typed ``xsd:date`` in the document), or the value as it was."""
    try:
        return date.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return value


def _base(kind: Kind) -> str:
    if kind in _ACTIVITIES:
        return "activity"
    if kind in _AGENTS:
        return "agent"
    return "entity"


def _camel(kind: Kind) -> str:
    return "".join(part.capitalize() for part in kind.value.split("_"))
