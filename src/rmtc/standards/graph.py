"""The slice of the provenance graph one export describes, read once and shared by every format.

An export describes an entity together with its upstream closure (everything it came from: runs,
dataset versions, member assets, the talents they depict, the licences that govern them) and, when
asked, its downstream closure too; plus what each of its activities used and generated, and the
agreements of every party it names. :func:`collect` walks the lineage, then reads *every* edge
between the entities it reached (a walk keeps only the one edge that first reached each entity), their
operational flags (a licence's revocation, a model version's block) and the runs' status and latest
metrics. The format modules only translate this value; none of them reads the store.
"""

from __future__ import annotations

import importlib
import json
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from rmtc.core.entities import Entity
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import InvalidInput, NotFound
from rmtc.store.types import Edge, RunStatus

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker
    from rmtc.store.protocol import MetadataStore

#: The version of rmtc's mapping onto the standards, written into every exported document. Bump it
#: when an entity, relation or attribute maps differently, so a reader can tell the two apart.
MAPPING = "rmtc.Export/1"
#: The namespace of rmtc's identifiers and vocabulary: an entity is ``urn:rmtc:<uuid>`` (``rmtc:<uuid>``
#: in PROV), a term ``urn:rmtc:<Term>``. A URN, not a URL: UUIDs are facility-agnostic and nothing
#: is meant to be fetched from it.
NAMESPACE = "urn:rmtc:"
#: How to get the standards' libraries, for the error raised when they are missing.
INSTALL_HINT = "pip install 'rmtc[standards]'"

ExportDirection = Literal["up", "down", "both"]
_CHUNK = 500
_ACTIVITY_KINDS = frozenset({Kind.RUN, Kind.INFERENCE})


@dataclass(frozen=True)
class Provenance:
    """An entity's provenance, ready to be written in any format.

    ``entities`` holds the root first, then the rest oldest first; ``edges`` every recorded edge whose
    two ends are both in ``entities``, oldest first. ``flags``, ``statuses`` and ``metrics`` carry the
    operational state that a reader of provenance needs (``revoked``, ``blocked``; a run's state and
    latest metric values), keyed by entity id and present only where there is some.
    """

    root: Entity
    direction: ExportDirection
    project: str
    entities: dict[EntityId, Entity]
    edges: list[Edge]
    flags: Mapping[EntityId, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    statuses: Mapping[EntityId, RunStatus] = field(default_factory=dict)
    metrics: Mapping[EntityId, Mapping[str, float]] = field(default_factory=dict)
    exported_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    exported_by: str = ""
    rmtc_version: str = "0+unknown"

    def of_kind(self, *kinds: Kind) -> list[Entity]:
        return [e for e in self.entities.values() if e.kind in kinds]

    def edges_from(self, eid: EntityId, *relations: Relation) -> Iterator[Edge]:
        return (e for e in self.edges if e.src == eid and (not relations or e.relation in relations))

    def edges_to(self, eid: EntityId, *relations: Relation) -> Iterator[Edge]:
        return (e for e in self.edges if e.dst == eid and (not relations or e.relation in relations))

    def users(self) -> list[str]:
        """Everyone who recorded an entity of the export, in order of first appearance."""
        return list(dict.fromkeys(e.created_by for e in self.entities.values()))

    def revocation(self, eid: EntityId) -> Mapping[str, Any] | None:
        """The ``revoked`` flag of a licence (``{"at": "YYYY-MM-DD", "reason": ...}``), if revoked."""
        return self.flags.get(eid, {}).get("revoked")


def collect(tracker: Tracker, ref: RefLike, direction: ExportDirection = "up") -> Provenance:
    """Read the provenance of ``ref`` from the tracker's store, scoped to its project.

    Raises:
        NotFound / InvalidInput: ``ref`` names nothing, or cannot be read.
    """
    if direction not in ("up", "down", "both"):
        raise InvalidInput(f"unknown export direction {direction!r}", hint="use up, down or both")
    trace = tracker.lineage.trace(ref, direction=direction)
    ordered = sorted(trace.entities()[1:], key=lambda e: (e.created_at, str(e.id)))
    entities = {trace.root.id: trace.root} | {e.id: e for e in ordered}
    store = tracker.store
    entities |= _activity_io(store, entities, tracker.project)
    entities |= _agreements(store, entities, tracker.project)
    ids = list(entities)
    edges = [e for chunk in _chunks(ids) for e in store.find_edges(src=chunk) if e.dst in entities]
    edges.sort(key=lambda e: (_when(e.created_at), e.relation.value, str(e.src), str(e.dst)))
    flags: dict[EntityId, Mapping[str, Mapping[str, Any]]] = {}
    for chunk in _chunks(ids):
        flags.update(store.get_flags(chunk))
    activities = [e.id for e in entities.values() if e.kind in _ACTIVITY_KINDS]
    statuses: dict[EntityId, RunStatus] = {}
    for eid in activities:
        try:
            statuses[eid] = store.get_run_status(eid)
        except NotFound:
            continue
    metrics = store.latest_metrics(activities) if activities else {}
    return Provenance(
        root=trace.root,
        direction=direction,
        project=tracker.project,
        entities=entities,
        edges=_unique(edges),
        flags=flags,
        statuses=statuses,
        metrics={k: v for k, v in metrics.items() if v},
        exported_at=tracker.clock.now(),
        exported_by=tracker.user,
        rmtc_version=_rmtc_version(),
    )


def _activity_io(
    store: MetadataStore, entities: Mapping[EntityId, Entity], project: str
) -> dict[EntityId, Entity]:
    """What the activities of an export used and generated that it lacks: every activity is shown
    whole (a training run with all the weights it wrote, an evaluation run with its test set), though
    not the provenance of those additions."""
    activities = [eid for eid, e in entities.items() if e.kind in _ACTIVITY_KINDS]
    found: list[EntityId] = []
    for chunk in _chunks(activities):
        found += [edge.dst for edge in store.find_edges(src=chunk, relations=[Relation.USED])]
        found += [edge.src for edge in store.find_edges(dst=chunk, relations=[Relation.GENERATED_BY])]
    return _in_project(store, [eid for eid in found if eid not in entities], project)


def _agreements(
    store: MetadataStore, entities: Mapping[EntityId, Entity], project: str
) -> dict[EntityId, Entity]:
    """The licences attributed to the parties of an export (a talent's agreements) that it lacks.

    An agreement points at its talent (``license attributed_to party``), so no upstream walk reaches
    it, yet it is what decides whether the talent's likeness may be used: an export that names a
    talent names the agreements too.
    """
    parties = [eid for eid, e in entities.items() if e.kind is Kind.PARTY]
    found = [
        edge.src
        for chunk in _chunks(parties)
        for edge in store.find_edges(dst=chunk, relations=[Relation.ATTRIBUTED_TO])
        if edge.src not in entities
    ]
    return {eid: e for eid, e in _in_project(store, found, project).items() if e.kind is Kind.LICENSE}


def _in_project(store: MetadataStore, ids: Iterable[EntityId], project: str) -> dict[EntityId, Entity]:
    found = store.get_entities(list(dict.fromkeys(ids)))
    ordered = sorted(found.values(), key=lambda e: (e.created_at, str(e.id)))
    return {e.id: e for e in ordered if e.project == project}


def require(module: str, what: str) -> ModuleType:
    """Import one of the standards' libraries, or say clearly how to install it.

    The libraries are imported here, when an export is asked for, never when :mod:`rmtc.standards` is
    imported, so the tracking layer stays light.

    Raises:
        InvalidInput: the library is not installed (the hint names the ``standards`` extra).
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise InvalidInput(
            f"exporting {what} needs the Python package {module.split('.')[0]!r}, which is not installed",
            hint=INSTALL_HINT,
        ) from None


def term(name: str) -> str:
    """The IRI of an rmtc id or term."""
    return NAMESPACE + name


def user_local_name(user: str) -> str:
    """A user name as a local name that every format accepts (PROV-N is the strictest): letters,
    digits, ``-`` and ``_`` kept, everything else percent-encoded."""
    return "user-" + urllib.parse.quote(user, safe="").replace(".", "%2E").replace("~", "%7E")


def plain_value(value: Any) -> Any:
    """A field value as JSON text when it is structured, else unchanged (for attribute values)."""
    if isinstance(value, Mapping) or (
        isinstance(value, list | tuple) and not all(isinstance(v, str | int | float) for v in value)
    ):
        return json.dumps(_jsonable(value), sort_keys=True, separators=(",", ":"))
    return value


def json_text(value: Any) -> str:
    """A value as text: strings unchanged, anything else as compact JSON (for key/value entries)."""
    if isinstance(value, str):
        return value
    return json.dumps(_jsonable(value), sort_keys=True, separators=(",", ":"))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _chunks(ids: Sequence[EntityId]) -> Iterator[list[EntityId]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])


def _unique(edges: Iterable[Edge]) -> list[Edge]:
    seen: set[tuple[EntityId, Relation, EntityId]] = set()
    out = []
    for e in edges:
        key = (e.src, e.relation, e.dst)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def _when(at: datetime | None) -> datetime:
    return at if at is not None else datetime.min.replace(tzinfo=UTC)


def _rmtc_version() -> str:
    import rmtc

    return str(getattr(rmtc, "__version__", "0+unknown"))
