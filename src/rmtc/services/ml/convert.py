"""Conversions: weights to TorchScript for Nuke, to ONNX, or to any format a converter plug-in makes.

Converters come from the ``rmtc.converters`` entry-point group (the built-ins register there too); each
is an object with ``name``, ``suffix`` and ``convert(model, path, **options) -> Conversion``. A
conversion needs the ``derivatives`` right on its source weights. The converted file is stored as a blob
and recorded as :class:`~rmtc.core.entities.Weights` of the converter's format, a ``variant_of`` its
source: equivalent provenance, so it inherits the source's rights exactly. Its attributes record what
the checks measured: channel counts, scale, the largest absolute difference from PyTorch, the exporter
and (for TorchScript) the minimum Nuke version.

Converting the same weights to the same format again returns the recorded variant.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import Entity, Weights
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import InvalidInput
from rmtc.plugins.registry import Registry
from rmtc.services.ml.files import blob_file
from rmtc.services.ml.models import config_of

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker

#: The facts every conversion records in its attributes, whatever the converter reports them as.
_FACTS = ("in_channels", "out_channels", "scale", "min_nuke_version", "exporter", "max_abs_diff")


def weights_of(t: Tracker, ref: RefLike) -> Weights:
    entity = t.resolve_named(ref, Kind.WEIGHTS)
    if not isinstance(entity, Weights):
        raise InvalidInput(f"{entity.label} is a {entity.kind.value}, not weights", hint="give weights")
    return entity


def variants_of(t: Tracker, weights: Entity) -> dict[str, Weights]:
    """The recorded conversions of ``weights``, by format (the first recorded of each format)."""
    out: dict[str, Weights] = {}
    for v in t.neighbours(weights, Relation.VARIANT_OF, direction="in"):
        if isinstance(v, Weights):
            out.setdefault(v.format, v)
    return out


class Conversions:
    def __init__(self, tracker: Tracker, registry: Registry | None = None):
        self.t = tracker
        self.registry = registry or Registry("rmtc.converters")

    def formats(self) -> list[str]:
        return self.registry.names()

    def convert(self, ref: RefLike, to: str, *, force: bool = False, **options: Any) -> Weights:
        """Convert weights with the ``to`` converter and record the result as their variant.

        Args:
            ref: the source weights (safetensors, as training and push record them).
            to: a converter name (``torchscript``, ``onnx``, or a plug-in's).
            force: convert again even when a variant of that format is recorded.
            options: passed to the converter (e.g. ``exporter="legacy"`` for ONNX).

        Raises:
            RightsViolation: the ``derivatives`` right is not held. InvalidInput: no such converter,
                source weights that are not safetensors, or a conversion whose checks failed.
        """
        source = weights_of(self.t, ref)
        converter = self.registry.get(to)()
        if source.format == to:
            return source
        if source.format != "safetensors":
            raise InvalidInput(
                f"{source.label} is {source.format}; converters take safetensors weights",
                hint="convert the safetensors the model was trained or pushed as",
            )
        if not force:
            existing = variants_of(self.t, source).get(to)
            if existing is not None:
                return existing
        self.t.rights.require(source, "derivatives", action=f"convert to {to}")
        if to == "torchscript":
            options.setdefault(
                "extra",
                {"weights": str(source.id), "weights_blake3": source.content_hash, "project": self.t.project},
            )
        with tempfile.TemporaryDirectory(prefix="rmtc-convert-") as tmp:
            model = self._model(source, Path(tmp))
            out = Path(tmp) / f"{Path(source.name).stem}{converter.suffix}"
            conversion = converter.convert(model, out, **options)
            info = self.t.blobs.put_file(conversion.path)
        meta = dict(conversion.metadata)
        facts = {k: _fact(meta, k) for k in _FACTS}
        facts["exporter"] = facts["exporter"] or (
            "torch.jit.script" if conversion.format == "torchscript" else None
        )
        variant = self.t.new(
            Weights,
            out.name,
            content_hash=info.digest,
            size=info.size,
            format=conversion.format,
            attrs={
                **{k: v for k, v in facts.items() if v is not None},
                "source": str(source.id),
                "conversion": meta,
            },
        )
        result = self.t.record(
            [variant],
            [self.t.edge(variant, Relation.VARIANT_OF, source, converter=to)],
            action="convert",
            target=variant,
            detail={"from": str(source.id), "to": to, "max_abs_diff": facts["max_abs_diff"]},
        )
        stored = result.entities[0]
        assert isinstance(stored, Weights)
        return stored

    def _model(self, source: Weights, tmp: Path) -> Any:
        """The source rebuilt as a model, from the config its header or its push recorded."""
        from rmtc.ml.nets import NetConfig
        from rmtc.ml.weights import load_model

        config = config_of(source)
        assert source.content_hash is not None
        with blob_file(self.t, source.content_hash) as path:
            if config is not None:
                return load_model(path, config=NetConfig.from_dict(config))
            return load_model(path)


def _fact(meta: dict[str, Any], key: str) -> Any:
    if key in meta:
        return meta[key]
    checks = meta.get("checks")
    if isinstance(checks, dict) and key in checks:
        return checks[key]
    return None
