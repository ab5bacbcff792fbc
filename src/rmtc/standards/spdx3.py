"""SPDX 3.0.1 with the AI and Dataset profiles, built with ``spdx-python-model`` and written as JSON-LD.

The mapping (each rmtc entity is one SPDX element whose ``spdxId`` is ``urn:rmtc:<uuid>``, the same
IRI the PROV export uses):

- weights, checkpoints and model versions are ``ai_AIPackage``; a model (architecture) is a
  ``software_Package`` of purpose ``source``;
- datasets and dataset versions are ``dataset_DatasetPackage`` (the size is the bytes of the members
  in the export; sensitive personal information is ``yes`` when a member depicts a party);
- assets are ``software_File`` with their BLAKE3 hash;
- runs and inferences are ``build_Build`` with their parameters, times and type;
- parties are ``Person`` or ``Organization``;
- a licence whose SPDX id rmtc knows is that licence expression; every other licence (a talent
  agreement, a studio licence, an unknown SPDX id) is an ``expandedlicensing_CustomLicense`` whose text
  states its terms. A licence's status (``active``, or ``revoked`` with date and reason) is its comment.

Relations: ``used`` -> ``hasInput`` and ``generated_by`` -> ``hasOutput`` (from the build),
``derived_from`` -> ``descendantOf``, ``variant_of`` -> ``hasVariant`` (from the original),
``member_of`` -> ``contains`` (from the dataset version), ``governed_by`` -> ``hasDeclaredLicense``;
``depicts``, ``attributed_to``, ``version_of`` and ``part_of`` have no SPDX type and are ``other``
relationships whose comment names the rmtc relation. An AI package is ``trainedOn`` the datasets and
files its training (or fine-tuning) run used, and what the packages it was converted, fine-tuned or
derived from were trained on; ``testedOn`` what an evaluation run that used it also used. The document
and its creation info carry ``rmtc:mapping=rmtc.Export/1`` as their comment.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from rmtc.core.entities import Entity
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind, Relation
from rmtc.standards.graph import MAPPING, Provenance, json_text, plain_value, require, term, user_local_name

SPEC_VERSION = "3.0.1"
_AI = frozenset({Kind.WEIGHTS, Kind.CHECKPOINT, Kind.MODEL_VERSION})
_DATA = frozenset({Kind.DATASET, Kind.DATASET_VERSION, Kind.ASSET})
_BUILDS = frozenset({Kind.RUN, Kind.INFERENCE})
_TRAINING = frozenset({"training", "fine-tuning"})
_TEST_ROLES = frozenset({"test", "validation", "evaluation"})
_ENDED = frozenset({"finished", "failed", "killed"})
_OTHER = (Relation.DEPICTS, Relation.ATTRIBUTED_TO, Relation.VERSION_OF, Relation.PART_OF)


def to_jsonld(graph: Provenance) -> str:
    """SPDX 3 JSON-LD text of ``graph``."""
    spdx = require("spdx_python_model.bindings.v3_0_1", "SPDX 3")
    objects = _Builder(spdx, graph).build()
    missing = objects.link()
    assert not missing, f"SPDX export refers to elements it does not hold: {sorted(missing)}"
    buffer = io.BytesIO()
    spdx.JSONLDSerializer(indent=1).write(objects, buffer)
    return buffer.getvalue().decode("utf-8")


class _Builder:
    def __init__(self, spdx: Any, graph: Provenance):
        self.s = spdx
        self.g = graph
        self.elements: dict[EntityId, Any] = {}
        self.extra: list[Any] = []
        self.relationships: list[Any] = []
        self.ci = spdx.CreationInfo(specVersion=SPEC_VERSION, created=graph.exported_at, comment=_label())
        self.agents: dict[str, Any] = {}
        self.ci.createdBy.append(self.agent(graph.exported_by or "rmtc"))
        tool = spdx.Tool(spdxId=term("tool-rmtc"), name=f"rmtc {graph.rmtc_version}", creationInfo=self.ci)
        self.ci.createdUsing.append(tool)
        self.extra.append(tool)

    def build(self) -> Any:
        s, g = self.s, self.g
        for entity in g.entities.values():
            element = self.element(entity)
            if element is not None:
                self.elements[entity.id] = element
        for edge in g.edges:
            self.relation(edge.src, edge.relation, edge.dst, dict(edge.attrs))
        self.training_relations()
        data_license = s.simplelicensing_LicenseExpression(
            spdxId=term(f"export-{g.root.id}/data-license"),
            creationInfo=self.ci,
            simplelicensing_licenseExpression="CC0-1.0",
        )
        profiles = s.ProfileIdentifierType
        root = self.elements.get(g.root.id)
        doc = s.SpdxDocument(
            spdxId=term(f"export-{g.root.id}"),
            creationInfo=self.ci,
            name=f"rmtc provenance of {g.root.label}",
            comment=_label(),
            dataLicense=data_license,
            profileConformance=[
                profiles.core,
                profiles.software,
                profiles.ai,
                profiles.dataset,
                profiles.build,
                profiles.simpleLicensing,
                profiles.expandedLicensing,
            ],
            rootElement=[root] if root is not None else [],
        )
        members = [*self.elements.values(), *self.agents.values(), *self.extra, *self.relationships]
        doc.element.extend(members)
        return s.SHACLObjectSet([doc, data_license, *members])

    # -- elements --------------------------------------------------------------------------------
    def agent(self, user: str) -> Any:
        if user not in self.agents:
            self.agents[user] = self.s.Agent(
                spdxId=term(user_local_name(user)), name=user, creationInfo=self.ci
            )
        return self.agents[user]

    def element(self, e: Entity) -> Any:
        s = self.s
        common: dict[str, Any] = {"spdxId": term(str(e.id)), "creationInfo": self.ci, "name": e.name}
        flags = self.g.flags.get(e.id, {})
        if flags:
            common["comment"] = "; ".join(f"rmtc:{name}={plain_value(dict(v))}" for name, v in flags.items())
        if e.kind in _AI:
            return self.ai_package(e, common)
        if e.kind in (Kind.DATASET, Kind.DATASET_VERSION):
            return self.dataset_package(e, common)
        if e.kind is Kind.ASSET:
            return _make(
                s.software_File,
                **common,
                software_primaryPurpose=s.software_SoftwarePurpose.data,
                builtTime=e.created_at,
                verifiedUsing=self.hashes(e),
            )
        if e.kind is Kind.MODEL:
            return _make(
                s.software_Package,
                **common,
                software_primaryPurpose=s.software_SoftwarePurpose.source,
                description=" ".join(x for x in (_get(e, "framework"), _get(e, "architecture")) if x) or None,
                releaseTime=e.created_at,
            )
        if e.kind is Kind.PARTY:
            cls = s.Person if _get(e, "party_type", "person") == "person" else s.Organization
            return _make(cls, **common)
        if e.kind is Kind.LICENSE:
            return self.license(e, common)
        if e.kind in _BUILDS:
            return self.build_element(e, common)
        return None

    def hashes(self, e: Entity) -> list[Any]:
        if not e.content_hash:
            return []
        return [self.s.Hash(algorithm=self.s.HashAlgorithm.blake3, hashValue=e.content_hash)]

    def ai_package(self, e: Entity, common: dict[str, Any]) -> Any:
        s = self.s
        version = e.version if e.version is not None else _get(e, "step")
        return _make(
            s.ai_AIPackage,
            **common,
            software_primaryPurpose=s.software_SoftwarePurpose.model,
            software_packageVersion=str(version) if version is not None else None,
            releaseTime=e.created_at,
            suppliedBy=self.agent(e.created_by),
            verifiedUsing=self.hashes(e) if e.kind is not Kind.MODEL_VERSION else [],
        )

    def dataset_package(self, e: Entity, common: dict[str, Any]) -> Any:
        s = self.s
        members = [self.g.entities[x.src] for x in self.g.edges_to(e.id, Relation.MEMBER_OF)]
        depicted = any(next(self.g.edges_from(m.id, Relation.DEPICTS), None) for m in members)
        images = any(isinstance(_get(m, "media"), dict) and "width" in _get(m, "media") for m in members)
        transformation = _get(e, "transformation")
        return _make(
            s.dataset_DatasetPackage,
            **common,
            software_primaryPurpose=s.software_SoftwarePurpose.data,
            software_packageVersion=str(e.version) if e.version is not None else None,
            releaseTime=e.created_at,
            description=_get(e, "description") or str(e.attrs.get("message", "")) or None,
            dataset_datasetType=[
                s.dataset_DatasetType.image if images else s.dataset_DatasetType.noAssertion
            ],
            dataset_datasetSize=sum(int(_get(m, "size", 0) or 0) for m in members) if members else None,
            dataset_hasSensitivePersonalInformation=(
                s.PresenceType.yes if depicted else s.PresenceType.noAssertion
            ),
            dataset_dataPreprocessing=[plain_value(dict(transformation))] if transformation else [],
        )

    def license(self, e: Entity, common: dict[str, Any]) -> Any:
        from rmtc.core import spdx as known

        s = self.s
        revoked = self.g.revocation(e.id)
        status = "rmtc:status=active"
        if revoked is not None:
            status = (
                f"rmtc:status=revoked; revoked_at={revoked.get('at')}; reason={revoked.get('reason', '')}"
            )
        common = {**common, "comment": status}
        spdx_id = _get(e, "spdx_id")
        if spdx_id and known.lookup(spdx_id) is not None:
            return _make(
                s.simplelicensing_LicenseExpression, **common, simplelicensing_licenseExpression=spdx_id
            )
        return _make(s.expandedlicensing_CustomLicense, **common, simplelicensing_licenseText=_terms_text(e))

    def build_element(self, e: Entity, common: dict[str, Any]) -> Any:
        s = self.s
        status = self.g.statuses.get(e.id)
        params = _get(e, "params") if e.kind is Kind.RUN else _get(e, "knobs")
        run_type = _get(e, "run_type", "inference") if e.kind is Kind.RUN else "inference"
        return _make(
            s.build_Build,
            **common,
            build_buildType=term(f"{e.kind.value}/{run_type}"),
            build_buildId=str(e.id),
            build_buildStartTime=e.created_at,
            build_buildEndTime=status.updated_at if status is not None and status.state in _ENDED else None,
            build_parameter=self.entries(params or {}),
            build_environment=self.entries(_get(e, "environment") or {}),
        )

    def entries(self, values: dict[str, Any]) -> list[Any]:
        return [self.s.DictionaryEntry(key=str(k), value=json_text(v)) for k, v in sorted(values.items())]

    # -- relationships ---------------------------------------------------------------------------
    def relation(self, src: EntityId, relation: Relation, dst: EntityId, attrs: dict[str, Any]) -> None:
        types = self.s.RelationshipType
        if src not in self.elements or dst not in self.elements:
            return
        if relation is Relation.USED:
            self.relate(src, types.hasInput, [dst])
        elif relation is Relation.GENERATED_BY:
            self.relate(dst, types.hasOutput, [src])
        elif relation is Relation.DERIVED_FROM:
            self.relate(src, types.descendantOf, [dst])
        elif relation is Relation.VARIANT_OF:
            self.relate(dst, types.hasVariant, [src])
        elif relation is Relation.MEMBER_OF:
            self.relate(dst, types.contains, [src])
        elif relation is Relation.GOVERNED_BY:
            self.relate(src, types.hasDeclaredLicense, [dst])
        elif relation in _OTHER:
            self.relate(src, types.other, [dst], comment=f"rmtc:{relation.value}")

    def relate(
        self, src: EntityId, kind: str, targets: Iterable[EntityId], *, comment: str | None = None
    ) -> None:
        to = [self.elements[t] for t in targets if t in self.elements]
        if not to:
            return
        self.relationships.append(
            _make(
                self.s.Relationship,
                spdxId=term(f"export-{self.g.root.id}/relationship-{len(self.relationships) + 1}"),
                creationInfo=self.ci,
                from_=self.elements[src],
                relationshipType=kind,
                to=to,
                comment=comment,
            )
        )

    def training_relations(self) -> None:
        types = self.s.RelationshipType
        memo: dict[EntityId, list[EntityId]] = {}
        for pkg in self.g.of_kind(*_AI):
            trained = self.trained_on(pkg.id, memo, set())
            self.relate(pkg.id, types.trainedOn, trained)
            self.relate(pkg.id, types.testedOn, self.tested_on(pkg.id))
            self.ai_details(pkg, trained)

    def trained_on(
        self, eid: EntityId, memo: dict[EntityId, list[EntityId]], seen: set[EntityId]
    ) -> list[EntityId]:
        """The data a package learnt from: its training runs' data inputs, and (through conversions,
        fine-tuning and derivation) what the packages it came from learnt from."""
        if eid in memo:
            return memo[eid]
        seen = seen | {eid}
        g = self.g
        found: list[EntityId] = []
        sources = [x.dst for x in g.edges_from(eid, Relation.DERIVED_FROM, Relation.VARIANT_OF)]
        for gen in g.edges_from(eid, Relation.GENERATED_BY):
            run = g.entities[gen.dst]
            for use in g.edges_from(run.id, Relation.USED):
                used = g.entities[use.dst]
                if used.kind in _DATA and _get(run, "run_type") in _TRAINING:
                    if use.attrs.get("role") not in _TEST_ROLES:
                        found.append(used.id)
                elif used.kind in _AI:
                    sources.append(used.id)
        for src in sources:
            if src not in seen and g.entities[src].kind in _AI:
                found += self.trained_on(src, memo, seen)
        memo[eid] = list(dict.fromkeys(found))
        return memo[eid]

    def tested_on(self, eid: EntityId) -> list[EntityId]:
        g = self.g
        found: list[EntityId] = []
        for use in g.edges_to(eid, Relation.USED):
            run = g.entities[use.src]
            evaluation = _get(run, "run_type") == "evaluation"
            for other in g.edges_from(run.id, Relation.USED):
                data = g.entities[other.dst].kind in _DATA
                if data and (evaluation or other.attrs.get("role") in _TEST_ROLES):
                    found.append(other.dst)
        return list(dict.fromkeys(found))

    def ai_details(self, pkg: Entity, trained: list[EntityId]) -> None:
        """Hyper-parameters, metrics and personal data of a package, from the run that trained it."""
        s, g = self.s, self.g
        element = self.elements[pkg.id]
        runs = [g.entities[x.dst] for x in g.edges_from(pkg.id, Relation.GENERATED_BY)]
        training = [r for r in runs if _get(r, "run_type") in _TRAINING]
        if training:
            run = training[0]
            element.ai_hyperparameter.extend(self.entries(_get(run, "params") or {}))
            element.ai_metric.extend(self.entries(dict(g.metrics.get(run.id, {}))))
            element.ai_informationAboutTraining = (
                f"{_get(run, 'run_type')} run {run.name} (urn:rmtc:{run.id})"
            )
        personal = False
        for data in trained:
            parts = [data, *(x.src for x in g.edges_to(data, Relation.MEMBER_OF))]
            personal = personal or any(next(g.edges_from(p, Relation.DEPICTS), None) for p in parts)
        element.ai_useSensitivePersonalInformation = (
            s.PresenceType.yes if personal else s.PresenceType.noAssertion
        )


def _terms_text(e: Entity) -> str:
    """A licence's terms in words, as the text of a custom licence (with its own text, if any)."""
    parts = [f"rmtc licence {e.name!r}"]
    for name in ("grants", "excludes", "requires", "jurisdictions", "projects"):
        values = _get(e, name) or ()
        if values:
            parts.append(f"{name}: {', '.join(values)}")
    parts.append(f"mode: {_get(e, 'mode', 'allow')}")
    for name in ("start", "finish"):
        value = _get(e, name)
        if value is not None:
            parts.append(f"{name}: {value.isoformat()}")
    if _get(e, "spdx_id") and not (_get(e, "grants") or _get(e, "excludes") or _get(e, "mode") == "deny"):
        parts.append(f"SPDX id {_get(e, 'spdx_id')} (unknown to rmtc: grants nothing)")
    if _get(e, "agreement"):
        parts.append("talent agreement")
    text = "; ".join(parts)
    own = _get(e, "text")
    return f"{text}\n\n{own}" if own else text


def _make(cls: Any, **values: Any) -> Any:
    """An SPDX object with the given properties; ``None`` and empty lists mean "not stated"."""
    return cls(**{k: v for k, v in values.items() if v is not None and v != []})


def _get(e: Entity, name: str, default: Any = None) -> Any:
    return getattr(e, name, default)


def _label() -> str:
    return f"rmtc:mapping={MAPPING}"
