"""Publishing: weights become an immutable, numbered model version that DCCs and ``rmtc infer`` run.

``publish(weights, name)`` records :class:`~rmtc.core.entities.ModelVersion` ``NAME@n+1``,
``derived_from`` the weights and a ``version_of`` the :class:`~rmtc.core.entities.Model` ``NAME``
(created on first publish, from the weights' channels and scale; later versions must match them). Its
``variants`` map each format to a blob hash: the weights themselves, and each converted variant asked
for (TorchScript by default, so Nuke can take it), converting now when none is recorded.

Publishing needs the ``inference`` right on the weights: a published model exists to be run, so
weights whose sources forbid inference are refused here, not at the first shot that tries them (the
conversions it makes need ``derivatives`` too). Aliases (``production``, ``candidate``) are operational
pointers, moved in one store write each; a blocked version is never given one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import Entity, Model, ModelVersion, Run, Weights
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import Conflict, InvalidInput, RightsViolation
from rmtc.services.ml.convert import Conversions, weights_of
from rmtc.services.ml.models import blocked_reason, check_model_fits, config_of, resolve_version

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker

_RETRIES = 5
DEFAULT_VARIANTS = ("torchscript",)


def facts_of(weights: Weights) -> dict[str, Any]:
    """Channel counts and scale of weights, from their config or what their push or conversion read."""
    config = config_of(weights)
    if config is not None:
        return {
            "in_channels": config.get("in_channels"),
            "out_channels": config.get("out_channels"),
            "scale": config.get("scale", 1),
            "architecture": f"{config.get('architecture')}-{config.get('size')}",
        }
    nuke = weights.attrs.get("nuke")
    source = nuke if isinstance(nuke, dict) else weights.attrs
    return {
        "in_channels": source.get("in_channels"),
        "out_channels": source.get("out_channels"),
        "scale": source.get("scale", 1),
        "architecture": weights.format,
    }


class Publisher:
    def __init__(self, tracker: Tracker, conversions: Conversions | None = None):
        self.t = tracker
        self.conversions = conversions or Conversions(tracker)

    def publish(
        self,
        ref: RefLike,
        name: str,
        *,
        alias: str | None = None,
        variants: Sequence[str] | None = None,
        description: str = "",
        **convert_options: Any,
    ) -> ModelVersion:
        """Publish weights as the next version of model ``name``.

        Args:
            variants: formats to include besides the weights' own (default: TorchScript for safetensors
                weights; none for weights pushed as TorchScript or ONNX).
            alias: point this alias at the new version.
            convert_options: passed to converters that run now (e.g. ``exporter="legacy"``).

        Raises:
            RightsViolation: ``inference`` (or, to convert, ``derivatives``) is not held.
            Conflict: model ``name`` takes other channels. InvalidInput: a variant cannot be made.
        """
        source = weights_of(self.t, ref)
        if not name.strip() or "@" in name or ":" in name:
            raise InvalidInput(f"model name {name!r} is not valid", hint="use a name without '@' or ':'")
        self.t.rights.require(source, "inference", action="publish")
        wanted = (
            list(variants)
            if variants is not None
            else (list(DEFAULT_VARIANTS) if source.format == "safetensors" else [])
        )
        assert source.content_hash is not None
        formats: dict[str, str] = {source.format: source.content_hash}
        converted: dict[str, Weights] = {}
        for fmt in wanted:
            if fmt in formats:
                continue
            variant = self.conversions.convert(source, fmt, **convert_options)
            assert variant.content_hash is not None
            formats[fmt], converted[fmt] = variant.content_hash, variant
        facts = facts_of(source)
        attrs: dict[str, Any] = {
            "weights": str(source.id),
            **{k: v for k, v in facts.items() if v is not None},
        }
        if "torchscript" in converted:
            attrs["min_nuke_version"] = converted["torchscript"].attrs.get("min_nuke_version")
        run = next((r for r in self.t.neighbours(source, Relation.GENERATED_BY) if isinstance(r, Run)), None)
        if run is not None:
            attrs["run"] = str(run.id)
            attrs["metrics"] = self.t.store.latest_metrics([run.id]).get(run.id, {})
        if description:
            attrs["description"] = description
        version = self._record(source, name, formats, attrs, facts)
        if alias:
            self.set_alias(version, alias)
        return version

    def _record(
        self,
        source: Weights,
        name: str,
        formats: dict[str, str],
        attrs: dict[str, Any],
        facts: dict[str, Any],
    ) -> ModelVersion:
        for _ in range(_RETRIES):
            model, new_model = self._model(name, facts)
            latest = self.t.latest_version(Kind.MODEL, name)
            number = (latest.version or 0) + 1 if latest is not None else 1
            version = self.t.new(ModelVersion, name, version=number, variants=formats, attrs=attrs)
            entities: list[Entity] = [model, version] if new_model else [version]
            edges = [
                self.t.edge(version, Relation.DERIVED_FROM, source),
                self.t.edge(version, Relation.VERSION_OF, model),
            ]
            try:
                result = self.t.record(
                    entities,
                    edges,
                    action="model.publish",
                    target=version,
                    detail={"weights": str(source.id), "variants": sorted(formats)},
                )
            except Conflict:  # another publisher took this number (or created the model): try again
                continue
            stored = result.entities[-1]
            assert isinstance(stored, ModelVersion)
            return stored
        raise Conflict(f"could not publish {name!r}: too many concurrent publishes", hint="try again")

    def _model(self, name: str, facts: dict[str, Any]) -> tuple[Model, bool]:
        found = self.t.find(Kind.MODEL, name=name, limit=1).items
        if found:
            model = found[0]
            assert isinstance(model, Model)
            check_model_fits(model, facts["in_channels"], facts["out_channels"], facts["scale"] or 1)
            return model, False
        model = self.t.new(
            Model,
            name,
            framework="pytorch",
            architecture=str(facts.get("architecture") or ""),
            channels_in=facts["in_channels"],
            channels_out=facts["out_channels"],
            scale=float(facts["scale"] or 1),
        )
        return model, True

    def set_alias(self, ref: RefLike, alias: str) -> ModelVersion:
        """Point ``NAME@alias`` at a version (one store write: readers see the old or the new target).

        Raises:
            RightsViolation: the version is blocked. InvalidInput: the alias is a number or ``latest``.
        """
        version = resolve_version(self.t, ref)
        if not alias.strip() or alias.isdigit() or alias == "latest" or "@" in alias or ":" in alias:
            raise InvalidInput(
                f"{alias!r} cannot be an alias", hint="use a word such as production or candidate"
            )
        why = blocked_reason(self.t, version)
        if why is not None:
            raise RightsViolation(
                f"{version.label} is {why}: a blocked version is never aliased",
                hint="alias another version",
            )
        previous = self.t.store.get_alias(Kind.MODEL_VERSION.value, version.name, alias)
        self.t.store.set_alias(Kind.MODEL_VERSION.value, version.name, alias, version.id)
        self.t.record(
            action="model.alias",
            target=version,
            detail={"alias": alias, "previous": str(previous) if previous else None},
        )
        return version

    def remove_alias(self, name: str, alias: str) -> None:
        previous = self.t.store.get_alias(Kind.MODEL_VERSION.value, name, alias)
        if previous is None:
            raise InvalidInput(f"model {name!r} has no alias {alias!r}", hint="nothing to remove")
        self.t.store.set_alias(Kind.MODEL_VERSION.value, name, alias, None)
        self.t.record(action="model.alias", target=previous, detail={"alias": alias, "removed": True})
