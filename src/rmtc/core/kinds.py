"""The vocabulary of the provenance graph: entity kinds and relations (DESIGN.md).

Kinds follow the RMTC proposal's names so facilities can map between the two; relations are W3C PROV
aligned so that a PROV export is a mapping, not a translation.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """What an entity is. The value is the stable spelling used in references and stores."""

    ASSET = "asset"
    DATASET = "dataset"
    DATASET_VERSION = "dataset_version"
    PARTY = "party"
    RIGHT = "right"
    LICENSE = "license"
    SOLUTION = "solution"
    RUN = "run"
    MODEL = "model"
    WEIGHTS = "weights"
    CHECKPOINT = "checkpoint"
    MODEL_VERSION = "model_version"
    INFERENCE = "inference"
    SESSION = "session"

    @classmethod
    def parse(cls, text: str) -> Kind:
        """Accept the spellings people type: ``model-version``, ``ModelVersion``, ``licence``, plurals."""
        from rmtc.errors import InvalidInput

        norm = text.strip().lower().replace("-", "_")
        norm = _ALIASES.get(norm, norm)
        try:
            return cls(norm)
        except ValueError:
            camel = "".join("_" + c.lower() if c.isupper() else c for c in text.strip()).lstrip("_")
            if camel in cls._value2member_map_:
                return cls(camel)
            known = ", ".join(k.value for k in cls)
            raise InvalidInput(f"unknown kind {text!r}", hint=f"use one of: {known}") from None


_ALIASES = {
    "assets": "asset",
    "datasets": "dataset",
    "dataset_versions": "dataset_version",
    "datasetversion": "dataset_version",
    "parties": "party",
    "talent": "party",
    "talents": "party",
    "rights": "right",
    "licence": "license",
    "licences": "license",
    "licenses": "license",
    "agreement": "license",
    "agreements": "license",
    "solutions": "solution",
    "runs": "run",
    "models": "model",
    "checkpoints": "checkpoint",
    "model_versions": "model_version",
    "modelversion": "model_version",
    "inferences": "inference",
    "sessions": "session",
}


class Relation(StrEnum):
    """An edge's meaning. Edges point from the newer/derived thing to what it came from or belongs to."""

    USED = "used"  # activity -> entity it consumed
    GENERATED_BY = "generated_by"  # entity -> activity that produced it
    DERIVED_FROM = "derived_from"  # entity -> ancestor (provenance not equivalent)
    VARIANT_OF = "variant_of"  # conversion with equivalent provenance (ONNX/TorchScript of weights)
    MEMBER_OF = "member_of"  # asset -> dataset version
    DEPICTS = "depicts"  # asset -> party (talent)
    GOVERNED_BY = "governed_by"  # asset / dataset / model -> license
    VERSION_OF = "version_of"  # dataset version -> dataset, model version -> model
    PART_OF = "part_of"  # run -> solution, inference -> session
    ATTRIBUTED_TO = "attributed_to"  # -> party or user

    @classmethod
    def parse(cls, text: str) -> Relation:
        from rmtc.errors import InvalidInput

        try:
            return cls(text.strip().lower().replace("-", "_"))
        except ValueError:
            known = ", ".join(r.value for r in cls)
            raise InvalidInput(f"unknown relation {text!r}", hint=f"use one of: {known}") from None


#: Relations along which material provenance flows upstream (what an artefact is made of). Edges such
#: as ``depicts`` and ``governed_by`` are annotations of a source, not ancestry, and ``attributed_to``
#: names a responsible party; walks that answer "what went into this?" follow these.
PROVENANCE_RELATIONS: frozenset[Relation] = frozenset(
    {
        Relation.USED,
        Relation.GENERATED_BY,
        Relation.DERIVED_FROM,
        Relation.VARIANT_OF,
        Relation.MEMBER_OF,
        Relation.VERSION_OF,
    }
)

#: Relations whose edge points from a part to the whole made of it (``asset member_of version``). For
#: every other relation the edge's dst is upstream of its src; for these the src is upstream of the dst,
#: so an upstream walk follows them from dst to src and a downstream walk from src to dst.
UPSTREAM_AT_SRC: frozenset[Relation] = frozenset({Relation.MEMBER_OF})


def upstream_of(relation: Relation) -> str:
    """Which end of an edge of ``relation`` is upstream: ``"dst"`` or ``"src"``."""
    return "src" if relation in UPSTREAM_AT_SRC else "dst"


#: What an artefact is *materially* made of (DESIGN.md, "Rights"): an edge of relation ``r`` carries
#: rights and likeness only when its downstream end is of one of ``MATERIAL[r]``'s kinds. So a dataset
#: version carries its members (``member_of``) and its dataset's terms (``version_of``), but not the
#: parent it was filtered from (its ``derived_from``/``generated_by`` history), so an asset a filter
#: dropped never taints it; a run carries its inputs; outputs carry the run or inference that made them;
#: variants carry exactly what they convert.
MATERIAL: dict[Relation, frozenset[Kind]] = {
    Relation.MEMBER_OF: frozenset({Kind.DATASET_VERSION}),
    Relation.VERSION_OF: frozenset({Kind.DATASET_VERSION, Kind.MODEL_VERSION}),
    Relation.USED: frozenset({Kind.RUN, Kind.INFERENCE}),
    Relation.GENERATED_BY: frozenset({Kind.ASSET, Kind.WEIGHTS, Kind.CHECKPOINT, Kind.MODEL_VERSION}),
    Relation.DERIVED_FROM: frozenset({Kind.ASSET, Kind.WEIGHTS, Kind.CHECKPOINT, Kind.MODEL_VERSION}),
    Relation.VARIANT_OF: frozenset({Kind.ASSET, Kind.WEIGHTS, Kind.MODEL_VERSION}),
}

#: The kinds an edge of a relation may join, as (source kinds, target kinds), for the relations whose
#: ends the vocabulary fixes: the store refuses an edge of one of these between other kinds. So a walk
#: looks for ``member_of`` edges only at dataset versions (upstream) and at assets (downstream), where
#: a trace would otherwise probe the index once for each of its thousand assets, and find nothing.
ENDS: dict[Relation, tuple[frozenset[Kind], frozenset[Kind]]] = {
    Relation.MEMBER_OF: (frozenset({Kind.ASSET}), frozenset({Kind.DATASET_VERSION})),
}
