"""Models brought in from elsewhere, and the checks every use of a model version makes first.

``push`` wraps a file trained outside rmtc (TorchScript, ONNX, or safetensors with an architecture name)
as a :class:`~rmtc.core.entities.Model` and its :class:`~rmtc.core.entities.Weights`. A pushed model is
a raw source: nothing recorded here says where its parameters came from, so it must come with a licence,
and the weights (and the model, when this push creates it) are ``governed_by`` it; the weights are a
``version_of`` the model. Each format is checked before anything is recorded: TorchScript against
Nuke's contract (it runs, in this process only, on a test image), ONNX by its protobuf metadata alone
(external data never followed), safetensors by rebuilding the named architecture from the tensors.

:func:`usable_version` is what inference, aliasing and the Nuke export call first: a blocked model
version (its licence revoked, a source purged) is refused, naming the revocation, and the refusal is
written to the audit log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import Entity, License, Model, ModelVersion, Weights
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import Conflict, InvalidInput, NotFound, RightsViolation

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker

FORMATS = ("torchscript", "onnx", "safetensors")
_SUFFIXES = {
    ".pt": "torchscript",
    ".pth": "torchscript",
    ".ts": "torchscript",
    ".torchscript": "torchscript",
    ".onnx": "onnx",
    ".safetensors": "safetensors",
}


@dataclass(frozen=True, slots=True)
class Pushed:
    """What a push recorded: the model, its weights, and the facts read from the file."""

    model: Model
    weights: Weights
    facts: dict[str, Any]
    created: bool

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model.to_json(), "weights": self.weights.to_json(), "facts": self.facts}


def resolve_version(t: Tracker, ref: RefLike) -> ModelVersion:
    """A model version from ``matte@production``, ``matte@3``, ``model_version:…``, a UUID, or a bare
    model name (its latest version)."""
    entity = t.resolve_named(ref, Kind.MODEL)
    if isinstance(entity, Model):
        latest = t.latest_version(Kind.MODEL, entity.name)
        if latest is None:
            raise NotFound(f"{entity.label} has no published versions", hint="publish weights first")
        entity = latest
    if not isinstance(entity, ModelVersion):
        raise InvalidInput(
            f"{entity.label} is a {entity.kind.value}, not a model version",
            hint="name MODEL@VERSION or MODEL@ALIAS (e.g. matte@production)",
        )
    return entity


def blocked_reason(t: Tracker, version: Entity) -> str | None:
    """Why a model version is blocked, in words, or ``None`` when it is not."""
    flag = t.store.get_flags([version.id]).get(version.id, {}).get("blocked")
    if flag is None:
        return None
    parts = [f"blocked since {flag.get('at', '?')}"]
    if flag.get("licenses"):
        parts.append(f"licence(s) {', '.join(map(str, flag['licenses']))} revoked")
    if flag.get("purged_asset"):
        parts.append(f"source asset {flag['purged_asset']} purged")
    if flag.get("reason"):
        parts.append(f"reason: {flag['reason']}")
    return "; ".join(parts)


def usable_version(t: Tracker, ref: RefLike, *, action: str) -> ModelVersion:
    """The model version ``ref`` names, refused (and the refusal audited) when it is blocked.

    Raises:
        RightsViolation: the version is blocked; the message says since when and why.
    """
    version = resolve_version(t, ref)
    why = blocked_reason(t, version)
    if why is not None:
        t.record(action="rights.refused", target=version, detail={"action": action, "blocked": why})
        raise RightsViolation(
            f"{action} refused: {version.label} is {why}",
            hint="use another version (`rmtc ls model_version`), or retrain without the revoked sources",
            details={"blocked": why},
        )
    return version


def detect_format(path: Path) -> str:
    """The model format of a file, by extension (then by content for a zip archive)."""
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is not None:
        return fmt
    with path.open("rb") as f:
        head = f.read(4)
    if head == b"PK\x03\x04":
        return "torchscript"
    raise InvalidInput(
        f"cannot tell the model format of {path.name}",
        hint="give a TorchScript (.pt), ONNX (.onnx) or safetensors (.safetensors) file",
    )


class Models:
    def __init__(self, tracker: Tracker):
        self.t = tracker

    def push(
        self,
        path: str | Path,
        *,
        name: str,
        license: RefLike,
        source: str | None = None,
        architecture: str | None = None,
        scale: int = 1,
        in_channels: int | None = None,
    ) -> Pushed:
        """Record an existing model file as Model + Weights governed by ``license``.

        Args:
            path: a TorchScript, ONNX or safetensors file.
            name: the model's name (reused when a model of that name takes the same channels).
            license: the licence the file came under: required, a pushed model is a raw source.
            source: where it came from (a URL), recorded on the weights.
            architecture: for safetensors without rmtc metadata: the architecture name (``unet``).
            scale: for such safetensors: the output scale. in_channels: for TorchScript that does not
                record its input channel count: the count to probe with.

        Raises:
            NotFound: no such file or licence. InvalidInput: an unknown format, a TorchScript that does
                not fit Nuke's contract, an ONNX model with external data, safetensors that do not fit
                the architecture. Conflict: a model of that name takes other channels.
        """
        p = Path(path)
        if not p.is_file():
            raise NotFound(f"no model file at {p}", hint="check the path")
        lic = self.t.parties.license(license)
        fmt = detect_format(p)
        facts = self._inspect(p, fmt, architecture, scale, in_channels)
        model, new_model = self._model(name, facts)
        info = self.t.blobs.put_file(p)
        attrs: dict[str, Any] = {"file": p.name, "pushed": True, **facts["attrs"]}
        if source:
            attrs["source"] = source
        weights = self.t.new(
            Weights, p.name, content_hash=info.digest, size=info.size, format=fmt, attrs=attrs
        )
        entities: list[Entity] = [model, weights] if new_model else [weights]
        edges = [
            self.t.edge(weights, Relation.GOVERNED_BY, lic),
            self.t.edge(weights, Relation.VERSION_OF, model),
        ]
        if new_model:
            edges.append(self.t.edge(model, Relation.GOVERNED_BY, lic))
        result = self.t.record(
            entities,
            edges,
            action="model.push",
            target=weights,
            detail={"format": fmt, "model": name, "license": lic.name, "source": source},
        )
        stored = result.entities[-1]
        assert isinstance(stored, Weights)
        return Pushed(model, stored, facts["model"], created=stored.id == weights.id)

    def _model(self, name: str, facts: dict[str, Any]) -> tuple[Model, bool]:
        wanted = facts["model"]
        page = self.t.find(Kind.MODEL, name=name, limit=1)
        if page.items:
            existing = page.items[0]
            assert isinstance(existing, Model)
            check_model_fits(existing, wanted["in_channels"], wanted["out_channels"], wanted["scale"])
            return existing, False
        model = self.t.new(
            Model,
            name,
            framework=wanted["framework"],
            architecture=wanted["architecture"],
            channels_in=wanted["in_channels"],
            channels_out=wanted["out_channels"],
            scale=float(wanted["scale"]),
        )
        return model, True

    def _inspect(
        self, path: Path, fmt: str, architecture: str | None, scale: int, in_channels: int | None
    ) -> dict[str, Any]:
        cin: int | None
        cout: int | None
        if fmt == "torchscript":
            from rmtc.ml.nukecheck import check_nuke_contract

            contract = check_nuke_contract(path, in_channels=in_channels)
            cin, cout, s = contract.in_channels, contract.out_channels, contract.scale
            attrs = {"nuke": {k: v for k, v in contract.to_dict().items() if k != "metadata"}}
            if contract.metadata.get("config"):
                attrs["config"] = contract.metadata["config"]
            arch, framework = architecture or "torchscript", "torchscript"
        elif fmt == "onnx":
            from rmtc.ml.onnxinfo import read_onnx_info

            info = read_onnx_info(path)
            if info["external_data"]:
                raise InvalidInput(
                    f"{path.name} keeps its weights in external files "
                    f"({', '.join(info['external_data'][:3])})",
                    hint="save the model with its weights inside (onnx.save(model, path, "
                    "save_as_external_data=False))",
                )
            cin, cout, s = _onnx_channels(path.name, info)
            attrs, arch, framework = {"onnx": info}, architecture or "onnx", "onnx"
        else:
            config = self._safetensors_config(path, architecture, scale)
            cin, cout, s = config["in_channels"], config["out_channels"], config["scale"]
            attrs, arch, framework = {"config": config}, config["architecture"], "pytorch"
        model = {
            "format": fmt,
            "framework": framework,
            "architecture": arch,
            "in_channels": cin,
            "out_channels": cout,
            "scale": s,
        }
        return {"model": model, "attrs": attrs}

    @staticmethod
    def _safetensors_config(path: Path, architecture: str | None, scale: int) -> dict[str, Any]:
        from rmtc.ml.weights import load_model, read_weights_metadata

        meta = read_weights_metadata(path)
        if "config" in meta and architecture is None:
            model = load_model(path)
        else:
            model = load_model(path, architecture=architecture, scale=scale)
        config: dict[str, Any] = model.config.to_dict()
        return config


def _onnx_channels(name: str, info: dict[str, Any]) -> tuple[int | None, int | None, int]:
    """Channel counts (and scale, when the sizes are fixed) from an NCHW model's one input and output."""
    if len(info["inputs"]) != 1 or len(info["outputs"]) != 1:
        raise InvalidInput(
            f"{name} has {len(info['inputs'])} input(s) and {len(info['outputs'])} output(s); an "
            "image-to-image model has one of each",
            hint="concatenate inputs along channels",
        )
    ins, outs = info["inputs"][0]["shape"], info["outputs"][0]["shape"]
    if len(ins) != 4 or len(outs) != 4:
        raise InvalidInput(
            f"{name} takes a {len(ins)}-D tensor and returns a {len(outs)}-D one; expected N x C x H x W",
            hint="export the model with NCHW image tensors",
        )
    cin = ins[1] if isinstance(ins[1], int) else None
    cout = outs[1] if isinstance(outs[1], int) else None
    fixed = all(isinstance(v, int) and v > 0 for v in (ins[2], outs[2]))
    scale = int(outs[2]) // int(ins[2]) if fixed and int(outs[2]) % int(ins[2]) == 0 else 1
    return cin, cout, scale


def check_model_fits(model: Model, cin: int | None, cout: int | None, scale: float) -> None:
    """Refuse weights whose channels or scale contradict the model of the name they are filed under."""
    have = (model.channels_in, model.channels_out, float(model.scale))
    want = (cin, cout, float(scale))
    if any(a is not None and b is not None and a != b for a, b in zip(have, want, strict=True)):
        raise Conflict(
            f"{model.label} takes {have[0]} -> {have[1]} channels at scale {have[2]:g}; these weights are "
            f"{want[0]} -> {want[1]} at scale {want[2]:g}",
            hint="file them under another model name",
        )


def licence_of(t: Tracker, weights: Entity) -> list[License]:
    """The licences governing an entity directly."""
    return [x for x in t.neighbours(weights, Relation.GOVERNED_BY) if isinstance(x, License)]


def config_of(weights: Weights) -> dict[str, Any] | None:
    """The network config recorded with weights (their rmtc header, or the architecture at push)."""
    config = weights.attrs.get("config")
    if isinstance(config, str):
        config = json.loads(config)
    return dict(config) if isinstance(config, dict) else None
