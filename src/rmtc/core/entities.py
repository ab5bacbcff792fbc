"""The entities of the provenance graph, as frozen dataclasses.

Every entity shares the base fields (id, kind, name, project, creation, natural key, content hash,
free attributes); each kind adds typed fields of its own. :func:`to_record` and :func:`from_record`
turn any entity into the one generic row shape every store keeps, so a store needs no code per kind
and a new kind needs no migration.

Facts are immutable: a changed fact is a new entity (a new dataset version, a new model version), and
state that really changes (run status, aliases, revocations) lives on the operational side of the
store, never in these rows.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from rmtc.core.frozen import assembler
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind
from rmtc.errors import InvalidInput

Json = dict[str, Any]


def label_of(kind: Kind, name: str, version: int | None) -> str:
    """``kind:name[@version]``: how people refer to an entity, from what names it."""
    suffix = f"@{version}" if version is not None else ""
    return f"{kind.value}:{name}{suffix}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Entity:
    """Base of every entity. ``key`` is its natural identity within a project and kind, if it has one:
    a content hash for assets and weights, ``name`` for datasets and licences, ``name@version`` for
    versions. Writing an entity whose key exists returns the existing one when the content hash is the
    same, and is a conflict otherwise."""

    KIND: ClassVar[Kind]

    id: EntityId
    name: str
    created_at: datetime
    created_by: str
    project: str = "default"
    version: int | None = None
    content_hash: str | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> Kind:
        return self.KIND

    @property
    def key(self) -> str | None:
        return self.name

    @property
    def label(self) -> str:
        """How people refer to it: ``kind:name[@version]``."""
        return label_of(self.KIND, self.name, self.version)

    def to_json(self) -> Json:
        """A JSON-ready dict: ``id`` and ``kind`` first, then every field."""
        rec = to_record(self)
        out: Json = {"id": str(self.id), "kind": self.KIND.value}
        out.update({k: v for k, v in rec.items() if k not in ("id", "kind", "fields")})
        out["created_at"] = self.created_at.isoformat()
        out.update(rec["fields"])
        return out


@dataclass(frozen=True, kw_only=True, slots=True)
class Asset(Entity):
    """One immutable file: a frame, a reference image, a model file.

    Stored by ``copy`` (its bytes in the blob store under its hash) or by ``reference`` (its ``uri``
    and hash recorded, bytes left where they are). ``sequence`` names the frame sequence it belongs to
    (``/shots/sh010/plate.####.exr``) and ``frame`` its number there. ``media`` holds what OpenImageIO
    read from the header (width, height, channels, pixel type, colourspace) or ``undecodable``.
    """

    KIND = Kind.ASSET
    size: int = 0
    storage: Literal["copy", "reference", "purged"] = "copy"
    uri: str | None = None
    sequence: str | None = None
    frame: int | None = None
    media: Mapping[str, Any] | None = None

    @property
    def key(self) -> str | None:
        return self.content_hash


@dataclass(frozen=True, kw_only=True, slots=True)
class Dataset(Entity):
    """A named collection; its immutable snapshots are :class:`DatasetVersion` entities."""

    KIND = Kind.DATASET
    description: str = ""
    paired: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class DatasetVersion(Entity):
    """An immutable snapshot of members, plain or paired (input -> target).

    ``content_hash`` is the hash of the sorted member hashes (pairs hashed as ``input:target``), so
    the same members always make the same version hash. ``transformation`` records how a derived
    version was made from its parents.
    """

    KIND = Kind.DATASET_VERSION
    member_count: int = 0
    paired: bool = False
    transformation: Mapping[str, Any] | None = None

    @property
    def key(self) -> str | None:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Party(Entity):
    """A person (talent, artist) or an organisation (studio, vendor). Talent: a person whose likeness
    assets depict."""

    KIND = Kind.PARTY
    party_type: Literal["person", "organisation"] = "person"
    talent: bool = False
    contact: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Right(Entity):
    """A named use: ``training``, ``inference``, ``commercial``, ``derivatives`` or the facility's own."""

    KIND = Kind.RIGHT
    description: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class License(Entity):
    """Grants, excludes and requires rights, for parties, in jurisdictions, between two dates.

    ``mode`` says how an unnamed right is read: ``allow`` (only what is granted is held) or ``deny``
    (everything not excluded is held). A talent agreement is a licence between a talent and a
    production. Revocation is a later fact recorded apart, never an edit of this row.
    """

    KIND = Kind.LICENSE
    grants: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()
    jurisdictions: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    start: date | None = None
    finish: date | None = None
    mode: Literal["allow", "deny"] = "allow"
    spdx_id: str | None = None
    agreement: bool = False
    text: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Solution(Entity):
    """A problem to solve: what goes in and out, and the rights the work needs."""

    KIND = Kind.SOLUTION
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    rights_needed: tuple[str, ...] = ()
    jurisdiction: str | None = None
    description: str = ""


RunType = Literal[
    "training", "fine-tuning", "curation", "conversion", "inference", "import", "ingest", "evaluation"
]


@dataclass(frozen=True, kw_only=True, slots=True)
class Run(Entity):
    """An activity. ``params`` are the facts it was started with; ``environment`` what it ran on.
    Status and metric series are operational and live apart (``MetadataStore.set_run_status``)."""

    KIND = Kind.RUN
    run_type: str = "training"
    params: Mapping[str, Any] = field(default_factory=dict)
    environment: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str | None:
        return None


@dataclass(frozen=True, kw_only=True, slots=True)
class Model(Entity):
    """An architecture: the code that turns weights into a function."""

    KIND = Kind.MODEL
    framework: str = "pytorch"
    architecture: str = ""
    code_hash: str | None = None
    channels_in: int | None = None
    channels_out: int | None = None
    scale: float = 1.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Weights(Entity):
    """Parameters in a file (safetensors, or a TorchScript/ONNX file that carries them)."""

    KIND = Kind.WEIGHTS
    format: str = "safetensors"
    size: int = 0

    @property
    def key(self) -> str | None:
        return self.content_hash


@dataclass(frozen=True, kw_only=True, slots=True)
class Checkpoint(Entity):
    """Weights plus optimizer, RNG and trainer state at a step, so training resumes exactly."""

    KIND = Kind.CHECKPOINT
    step: int = 0
    size: int = 0

    @property
    def key(self) -> str | None:
        return self.content_hash


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelVersion(Entity):
    """A published, immutable release of weights and model; ``variants`` maps format -> blob hash."""

    KIND = Kind.MODEL_VERSION
    variants: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str | None:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Inference(Entity):
    """An activity applying a model version to input assets, producing output assets."""

    KIND = Kind.INFERENCE
    frames: str | None = None
    knobs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str | None:
        return None


@dataclass(frozen=True, kw_only=True, slots=True)
class Session(Entity):
    """A DCC or CLI session that inferences belong to."""

    KIND = Kind.SESSION
    application: str = "cli"
    host: str = ""

    @property
    def key(self) -> str | None:
        return None


ENTITY_CLASSES: dict[Kind, type[Entity]] = {
    cls.KIND: cls
    for cls in (
        Asset,
        Dataset,
        DatasetVersion,
        Party,
        Right,
        License,
        Solution,
        Run,
        Model,
        Weights,
        Checkpoint,
        ModelVersion,
        Inference,
        Session,
    )
}

_BASE_FIELDS = frozenset(f.name for f in dataclasses.fields(Entity))
_CLASS_OF_VALUE: dict[str, type[Entity]] = {kind.value: cls for kind, cls in ENTITY_CLASSES.items()}


def to_record(entity: Entity) -> Json:
    """The generic row: base columns plus ``fields``, the kind's own fields as JSON-ready values."""
    fields = {name: _encode(getattr(entity, name)) for name in _own_fields(type(entity))}
    return {
        "id": entity.id,
        "kind": entity.KIND.value,
        "name": entity.name,
        "project": entity.project,
        "version": entity.version,
        "key": entity.key,
        "content_hash": entity.content_hash,
        "created_at": entity.created_at,
        "created_by": entity.created_by,
        "attrs": _encode(dict(entity.attrs)),
        "fields": fields,
    }


def from_record(rec: Mapping[str, Any]) -> Entity:
    """Rebuild the typed entity from a generic row (the inverse of :func:`to_record`), through the
    same per-kind builder as :func:`from_columns`: fields this version does not know (written by a
    newer one) are left out, missing ones take their defaults."""
    rid = rec["id"]
    return from_columns(
        rec["kind"],
        EntityId(rid if isinstance(rid, uuid.UUID) else uuid.UUID(str(rid))),
        rec["name"],
        rec["project"],
        rec["version"],
        rec["content_hash"],
        rec["created_at"],
        rec["created_by"],
        rec.get("fields") or {},
        dict(rec.get("attrs") or {}),
    )


def from_columns(
    kind: str,
    id: EntityId,
    name: str,
    project: str,
    version: int | None,
    content_hash: str | None,
    created_at: datetime,
    created_by: str,
    fields: Mapping[str, Any],
    attrs: Mapping[str, Any],
) -> Entity:
    """The typed entity from a store's columns, already converted (``id`` a UUID, ``fields`` and
    ``attrs`` mappings of its own): what :func:`from_record` and a store's bulk reads both call. Built
    without ``__init__`` (see :mod:`rmtc.core.frozen`), which is what a trace of two thousand entities
    would otherwise pay most per entity; unknown fields are left out, missing ones take their defaults."""
    try:
        cls = _CLASS_OF_VALUE[kind]
    except (KeyError, TypeError):
        cls = ENTITY_CLASSES[Kind(kind)]
    return _builder(cls)(id, name, project, version, content_hash, created_at, created_by, fields, attrs)


@functools.cache
def _builder(cls: type[Entity]) -> Callable[..., Entity]:
    """:func:`from_columns` for one class, written out once: for each own field, its stored value
    (``fields.get`` with the default), decoded where the field needs it, then the class's assembler.
    Generated rather than a loop over the fields, which cost as much again per entity."""
    base = [f.name for f in dataclasses.fields(Entity)]
    if [f.name for f in dataclasses.fields(cls)][: len(base)] != base:  # pragma: no cover
        raise TypeError(f"{cls.__name__}'s fields do not start with Entity's")
    decoders = _decoders(cls)
    namespace: dict[str, Any] = {"_assemble": assembler(cls), "_missing": object()}
    lines = []
    for f in dataclasses.fields(cls)[len(base) :]:
        n, decode = f.name, decoders.get(f.name)
        if f.default_factory is not dataclasses.MISSING:
            namespace[f"_make_{n}"] = f.default_factory
            missing = f"_make_{n}()"
        elif f.default is not dataclasses.MISSING:
            namespace[f"_default_{n}"] = f.default
            missing = f"_default_{n}"
        else:  # pragma: no cover - every own field has a default (kw_only subclasses of a defaulted base)
            raise TypeError(f"{cls.__name__}.{n} has no default")
        if decode is None and missing.startswith("_default_"):
            lines.append(f"    v_{n} = get({n!r}, {missing})")
            continue
        lines += [f"    v_{n} = get({n!r}, _missing)", f"    if v_{n} is _missing:"]
        lines.append(f"        v_{n} = {missing}")
        if decode is not None:
            namespace[f"_decode_{n}"] = decode
            lines += [f"    elif v_{n} is not None:", f"        v_{n} = _decode_{n}(v_{n})"]
    own = "".join(f", v_{f.name}" for f in dataclasses.fields(cls)[len(base) :])
    source = "\n".join(
        [
            "def build(id, name, project, version, content_hash, created_at, created_by, fields, attrs):",
            "    get = fields.get",
            *lines,
            "    return _assemble(id, name, created_at, created_by, project, version, content_hash, attrs"
            f"{own})",
        ]
    )
    exec(source, namespace)  # noqa: S102 - generated from the dataclass's field names only
    build: Callable[..., Entity] = namespace["build"]
    return build


def entity_class(kind: Kind) -> type[Entity]:
    return ENTITY_CLASSES[kind]


def kind_fields(kind: Kind) -> list[str]:
    """The names of a kind's own typed fields (for filters and display)."""
    return list(_own_fields(ENTITY_CLASSES[kind]))


@functools.cache
def _own_fields(cls: type[Entity]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.name not in _BASE_FIELDS)


@functools.cache
def _hints(cls: type[Entity]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


_PLAIN = (str, int, float, bool, type(None))


def _encode(value: Any) -> Any:
    if type(value) in _PLAIN:  # the common case first: most fields are plain values
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any, hint: Any) -> Any:
    """A stored JSON value back as the type ``hint`` names (a date from its ISO text, a tuple from a
    list); ``None`` stays ``None``."""
    if value is None:
        return None
    decode = _decoder(hint)
    return value if decode is None else decode(value)


@functools.cache
def _decoders(cls: type[Entity]) -> dict[str, Callable[[Any], Any] | None]:
    """For every annotated name of ``cls``, the function that decodes its non-null stored value, or
    ``None`` where the stored value is used as it is."""
    return {name: _decoder(hint) for name, hint in _hints(cls).items()}


@functools.cache
def _decoder(hint: Any) -> Callable[[Any], Any] | None:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _decoder(args[0]) if len(args) == 1 else None
    if hint is date:
        return date.fromisoformat
    if hint is datetime:
        return datetime.fromisoformat
    if origin is tuple:
        return tuple
    return None


def parse_date(text: str, what: str) -> date:
    """Parse an ISO date (``2027-12-31``) or raise an error naming the field."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{what} {text!r} is not a date", hint="write it as YYYY-MM-DD") from None
