"""Inference as a tracked activity: ``rmtc infer MODEL@ALIAS --input plate.####.exr --output out.####.exr``.

Before any frame is read: the model version must not be blocked (the refusal names the revocation) and
must hold the ``inference`` right. Frames then run through the ML core's tiled inference with reading,
compute and writing overlapped (:func:`rmtc.ml.infer.infer_sequence`), in bounded memory whatever the
resolution. Each output EXR carries ``rmtc/model_version`` and ``rmtc/inference`` (UUIDs) in its header,
so a frame found on a disk years later leads back to its provenance.

What is recorded, in one transaction once every frame is written: an
:class:`~rmtc.core.entities.Inference` ``part_of`` a :class:`~rmtc.core.entities.Session` (this CLI
call's, or one given), which ``used`` the model version and the input frames (ingested by reference
first when rmtc does not know them), and the output frames as assets ``generated_by`` it. An interrupted
inference records no inference (its UUID is only in the frames it wrote), so rerunning is safe.
:meth:`Inferences.record` records the same facts for frames rendered elsewhere (Nuke's Inference node).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fileseq.exceptions import ParseException
from fileseq.filesequence import FileSequence
from fileseq.frameset import FrameSet

from rmtc.core.entities import Asset, Entity, Inference, ModelVersion, Session, Weights
from rmtc.core.hashing import hash_file
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import InvalidInput
from rmtc.services.ingest.scan import PAD, is_pattern, scan
from rmtc.services.ml.files import blob_file
from rmtc.services.ml.models import config_of, usable_version

if TYPE_CHECKING:
    import numpy as np

    from rmtc.api.tracker import RefLike, Tracker

NONFINITE = ("error", "fix")
#: The variants ``rmtc infer`` can run, in the order tried when none is asked for (ONNX only on request).
_RUNNABLE = ("safetensors", "torchscript", "onnx")
_NAMES = {1: ("A",), 2: ("R", "G"), 3: ("R", "G", "B"), 4: ("R", "G", "B", "A")}


@dataclass
class InferOutcome:
    inference: Inference
    session: Session
    model_version: ModelVersion
    inputs: list[EntityId]
    outputs: list[Asset]
    stats: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "inference": self.inference.to_json(),
            "session": self.session.to_json(),
            "model_version": {"id": str(self.model_version.id), "label": self.model_version.label},
            "inputs": [str(i) for i in self.inputs],
            "outputs": [
                {"id": str(a.id), "kind": "asset", "path": a.uri, "frame": a.frame} for a in self.outputs
            ],
            "stats": self.stats,
        }


@dataclass(frozen=True, slots=True)
class _Frame:
    frame: int | None
    source: Path
    target: Path


def output_paths(pattern: str, frames: Sequence[int | None]) -> list[Path]:
    """Where each frame's result goes: ``out.####.exr`` (or ``%04d``, ``@@@@``) with the frame number.

    Raises:
        InvalidInput: several frames but no frame pattern in the output name.
    """
    if not is_pattern(pattern):
        if len(frames) > 1:
            raise InvalidInput(
                f"--output {pattern!r} names one file for {len(frames)} frames",
                hint="give a frame pattern such as out.####.exr",
            )
        return [Path(pattern).expanduser().resolve()]
    try:
        seq = FileSequence(str(Path(pattern).expanduser().resolve()), pad_style=PAD)
    except (ParseException, ValueError) as exc:
        raise InvalidInput(
            f"--output {pattern!r} cannot be read: {exc}", hint="write it as out.####.exr"
        ) from None
    return [Path(seq.frame(f if f is not None else 0)) for f in frames]


class Inferences:
    def __init__(self, tracker: Tracker):
        self.t = tracker

    def run(
        self,
        model: RefLike,
        *,
        input: str,
        output: str,
        frames: str | None = None,
        tile: int = 512,
        overlap: int = 64,
        device: str | None = None,
        session: RefLike | None = None,
        nonfinite: str = "error",
        variant: str | None = None,
    ) -> InferOutcome:
        """Run a model version over a frame sequence and record the inference (see the module docstring).

        ``variant`` picks what runs: ``safetensors`` (the PyTorch weights), ``torchscript`` or ``onnx``
        (through onnxruntime); by default the weights, else the TorchScript. The inference records it.

        Raises:
            RightsViolation: the version is blocked or lacks the ``inference`` right. NotFound: frames
                are missing. InvalidInput: a damaged frame, NaN/Inf pixels (with ``nonfinite="error"``),
                too few channels, an output that would overwrite an input, a bad tiling, a variant the
                version does not have.
        """
        from rmtc.ml.infer import infer_sequence

        if nonfinite not in NONFINITE:
            raise InvalidInput(f"unknown --nonfinite {nonfinite!r}", hint="use error or fix")
        version = usable_version(self.t, model, action="infer")
        self.t.rights.require(version, "inference", action="infer")
        sess, _ = self.session(session)
        sources = scan([input], frames=frames)
        targets = output_paths(output, [s.frame for s in sources])
        clash = {s.path for s in sources} & set(targets)
        if clash:
            raise InvalidInput(
                f"--output would overwrite the input frame {sorted(clash)[0]}", hint="write elsewhere"
            )
        net, variant = self._load(version, variant, device)
        cin = int(version.attrs.get("in_channels") or getattr(net, "in_channels", 0) or 0)
        report = self.t.ingestor.ingest([input], frames=frames, by_reference=True)
        if report.failed:
            path, error = report.failed[0]
            raise InvalidInput(f"cannot read input frame {path}: {error}", hint="fix or remove the frame")
        items = [_Frame(s.frame, s.path, p) for s, p in zip(sources, targets, strict=True)]
        for p in {p.parent for p in targets}:
            p.mkdir(parents=True, exist_ok=True)
        inference = self.t.new(Inference, f"infer-{version.name}-v{version.version}")
        headers: dict[Path, tuple[dict[str, Any], dict[str, str]]] = {}
        lock = threading.Lock()

        def read(item: _Frame) -> np.ndarray:
            pixels, meta, types = _read_frame(item.source, cin, version, nonfinite)
            with lock:
                headers[item.source] = (meta, types)
            return pixels

        def write(item: _Frame, result: np.ndarray) -> None:
            with lock:
                meta, types = headers.pop(item.source)
            _write_frame(item.target, result, meta, types, version, inference, item.frame)

        stats = infer_sequence(net, items, read, write, tile=tile, overlap=overlap, device=device)
        by_path = {f.path: f.asset for f in report.files}
        frame_numbers = [s.frame for s in sources if s.frame is not None]
        outcome = self.record(
            version,
            inputs=[by_path[s.path] for s in sources],
            outputs=targets,
            frames=str(FrameSet(frame_numbers)) if frame_numbers else None,
            session=sess,
            inference=inference,
            attrs={"tile": tile, "overlap": overlap, "variant": variant, "input": input, "output": output},
        )
        outcome.stats = {
            "frames": stats.frames,
            "read": stats.read,
            "compute": stats.compute,
            "write": stats.write,
            "wall": stats.wall,
        }
        return outcome

    def session(self, ref: RefLike | None = None, *, application: str = "cli") -> tuple[Session, bool]:
        """The session ``ref`` names, or a new one (not yet recorded) for this process."""
        if ref is not None:
            found = self.t.resolve(ref, Kind.SESSION)
            assert isinstance(found, Session)
            return found, False
        name = f"{application}-{self.t.user}"
        return self.t.new(
            Session, name, application=application, host=socket.gethostname(), attrs={"pid": os.getpid()}
        ), True

    def record(
        self,
        version: ModelVersion,
        *,
        inputs: Sequence[EntityId | Entity],
        outputs: Sequence[Path],
        frames: str | None = None,
        session: RefLike | Session | None = None,
        inference: Inference | None = None,
        knobs: dict[str, Any] | None = None,
        attrs: dict[str, Any] | None = None,
        outputs_by_reference: bool = False,
        application: str = "cli",
    ) -> InferOutcome:
        """Record an inference that already ran: its session, inputs, outputs, in one transaction.

        ``session`` may be an unrecorded :class:`Session` (recorded now) or a reference. Outputs are
        copied into the blob store unless ``outputs_by_reference`` (large renders stay where they are).
        """
        if isinstance(session, Session):
            existing = self.t.store.get_entities([session.id])
            sess, new_session = session, session.id not in existing
        else:
            sess, new_session = self.session(session, application=application)
        inf = inference or self.t.new(Inference, f"infer-{version.name}-v{version.version}")
        inf = dataclasses.replace(
            inf, frames=frames, knobs=dict(knobs or {}), attrs={**dict(inf.attrs), **(attrs or {})}
        )
        assets: list[Asset] = []
        for path in outputs:
            if outputs_by_reference:
                digest, size = hash_file(path)
                storage = "reference"
            else:
                info = self.t.blobs.put_file(path)
                digest, size, storage = info.digest, info.size, "copy"
            assets.append(
                self.t.new(
                    Asset,
                    path.name,
                    content_hash=digest,
                    size=size,
                    storage=storage,
                    uri=str(path),
                    sequence=_sequence_of(path),
                    frame=_frame_of(path),
                    media=_media(path),
                )
            )
        input_ids = [i.id if isinstance(i, Entity) else i for i in inputs]
        edges = [self.t.edge(inf, Relation.PART_OF, sess), self.t.edge(inf, Relation.USED, version)]
        edges += [self.t.edge(inf, Relation.USED, i) for i in dict.fromkeys(input_ids)]
        edges += [self.t.edge(a, Relation.GENERATED_BY, inf) for a in assets]
        entities: list[Entity] = [*([sess] if new_session else []), inf, *assets]
        result = self.t.record(
            entities,
            edges,
            action="infer",
            target=inf,
            detail={"model_version": str(version.id), "frames": frames, "outputs": len(assets)},
        )
        stored = list(result.entities)
        offset = 1 if new_session else 0
        recorded = stored[offset]
        assert isinstance(recorded, Inference)
        outs = [a for a in stored[offset + 1 :] if isinstance(a, Asset)]
        return InferOutcome(recorded, sess, version, input_ids, outs)

    def _load(self, version: ModelVersion, wanted: str | None, device: str | None) -> tuple[Any, str]:
        """The model to run: the variant asked for; else the safetensors weights, else the TorchScript."""
        variants = dict(version.variants)
        if wanted is not None and wanted not in variants:
            raise InvalidInput(
                f"{version.label} has no {wanted} variant (it has {', '.join(sorted(variants)) or 'none'})",
                hint=f"publish it with --variant {wanted}, or pick one of those",
            )
        order = [wanted] if wanted is not None else ["safetensors", "torchscript"]
        chosen = next((v for v in order if v in variants and v in _RUNNABLE), None)
        if chosen is None:
            raise InvalidInput(
                f"{version.label} has only {', '.join(sorted(variants)) or 'no'} variant(s); rmtc infer runs "
                "safetensors weights or TorchScript, and ONNX when asked (--variant onnx)",
                hint="pass --variant onnx"
                if "onnx" in variants
                else "publish safetensors weights (or a TorchScript model) to run it here",
            )
        config = self._config(version)
        with blob_file(self.t, variants[chosen]) as path:
            if chosen == "safetensors":
                from rmtc.ml.nets import NetConfig
                from rmtc.ml.weights import load_model

                model = load_model(path, config=NetConfig.from_dict(config)) if config else load_model(path)
                return model.eval(), chosen
            if chosen == "torchscript":
                from rmtc.ml.torchscript import load_torchscript

                module, _ = load_torchscript(path)
                return module.eval(), chosen
            from rmtc.ml.infer import model_alignment
            from rmtc.ml.nets import NetConfig, build_model
            from rmtc.ml.onnxrun import OnnxModel

            multiple = model_alignment(build_model(NetConfig.from_dict(config)).net) if config else 1
            cin = int(version.attrs.get("in_channels") or 0)
            return OnnxModel(path, multiple=multiple, in_channels=cin, device=device or "cpu"), chosen

    def _config(self, version: ModelVersion) -> dict[str, Any] | None:
        """The network config of the weights the version was published from (None when pushed bare)."""
        sources = [w for w in self.t.neighbours(version, Relation.DERIVED_FROM) if isinstance(w, Weights)]
        return config_of(sources[0]) if sources else None


def _read_frame(
    path: Path, cin: int, version: ModelVersion, nonfinite: str
) -> tuple[np.ndarray, dict[str, Any], dict[str, str]]:
    import numpy as np

    from rmtc.vfx.image import find_nonfinite, replace_nonfinite
    from rmtc.vfx.imageio import read_image

    image = read_image(path)
    if cin and image.nchannels < cin:
        raise InvalidInput(
            f"{path.name} has {image.nchannels} channel(s) ({', '.join(image.channel_names)}); "
            f"{version.label} takes {cin}",
            hint="give frames with the channels the model was trained on",
        )
    if cin and image.nchannels > cin:
        wanted = [c for c in ("R", "G", "B", "A") if c in image.channel_names][:cin]
        image = image.select(wanted) if len(wanted) == cin else image.select(image.channel_names[:cin])
    bad = find_nonfinite(image)
    if bad:
        if nonfinite == "error":
            raise InvalidInput(
                f"{path.name} has {bad.describe()}", hint="fix the frame, or pass --nonfinite fix"
            )
        image = replace_nonfinite(image)
    px = image.pixels
    pixels = px.astype(np.float32) / float(np.iinfo(px.dtype).max) if px.dtype.kind == "u" else px
    keep = {k: v for k, v in image.metadata.items() if not k.startswith("rmtc/")}
    types = {k: v for k, v in image.metadata_types.items() if k in keep}
    as_read = np.float16 if pixels.dtype == np.float16 else np.float32  # half stays half: half the memory
    return np.ascontiguousarray(pixels, dtype=as_read), keep, types


def _write_frame(
    path: Path,
    result: np.ndarray,
    meta: dict[str, Any],
    types: dict[str, str],
    version: ModelVersion,
    inference: Inference,
    frame: int | None,
) -> None:
    from rmtc.vfx.image import Image
    from rmtc.vfx.imageio import write_image

    count = int(result.shape[2])
    names = _NAMES.get(count, tuple(f"C{i}" for i in range(count)))
    extra: dict[str, Any] = {
        "rmtc/model_version": str(version.id),
        "rmtc/model": version.label,
        "rmtc/inference": str(inference.id),
    }
    if frame is not None:
        extra["rmtc/frame"] = str(frame)
    image = Image(pixels=result, channel_names=names, metadata=meta, metadata_types=types)
    write_image(path, image, pixel_type="half", metadata=extra)


def _media(path: Path) -> dict[str, Any]:
    from rmtc.vfx.media import probe

    try:
        return probe(path)
    except InvalidInput as exc:
        return {"undecodable": exc.message}


def _sequence_of(path: Path) -> str | None:
    try:
        seq = FileSequence(str(path), pad_style=PAD)
    except (ParseException, ValueError):
        return None
    if seq.frameSet() is None or not seq.zfill():
        return None
    return f"{seq.dirname()}{seq.basename()}{'#' * seq.zfill()}{seq.extension()}"


def _frame_of(path: Path) -> int | None:
    try:
        seq = FileSequence(str(path), pad_style=PAD)
        frames = seq.frameSet()
    except (ParseException, ValueError):
        return None
    return int(frames.start()) if frames is not None and len(frames) == 1 else None
