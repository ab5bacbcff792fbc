"""Renders through Nuke's Inference node, as rmtc sees them: plain data and functions, no Nuke import.

The callbacks (:mod:`rmtc.integrations.nuke.callbacks`) collect, for each Write node being rendered,
the frames written and the files read upstream (:class:`RenderLog`), and the Inference nodes upstream
with their knob values. Everything else is here and works on plain values and duck-typed nodes
(anything with ``Class()``, ``name()``, ``knob(name)`` and ``dependencies()``):

- :func:`upstream` finds nodes of a class above a node;
- :func:`inference_of` reads an Inference node into an :class:`InferenceNode`;
- :func:`model_version_of` finds the model version it runs: the UUID the exported snippet put in its
  ``rmtc`` tab, else the registered ``.cat`` file with the same bytes;
- :func:`check` refuses a render whose model version is blocked or lacks the ``inference`` right;
- :func:`record` records the render as an Inference in the Nuke session, its inputs and outputs
  ingested by reference (renders stay where Nuke wrote them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import ModelVersion, Session
from rmtc.errors import NotFound
from rmtc.integrations.nuke.templates import MODEL_LABEL_KNOB, MODEL_VERSION_KNOB

if TYPE_CHECKING:
    from rmtc.api.tracker import Tracker
    from rmtc.services.ml.infer import InferOutcome

#: Knobs of the Inference node that are settings, not the model's own knobs.
_NODE_KNOBS = frozenset(
    {"modelFile", "useGPUIfAvailable", "name", "label", MODEL_VERSION_KNOB, MODEL_LABEL_KNOB}
)


@dataclass(frozen=True)
class InferenceNode:
    """An Inference node's settings: its ``.cat``, the model version it is tagged with, its knobs."""

    name: str
    model_file: str
    model_version: str | None
    use_gpu: bool
    knobs: dict[str, Any] = field(default_factory=dict)


@dataclass
class RenderLog:
    """What one Write node rendered: frame numbers, files written, files read upstream."""

    write: str
    frames: list[int] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)

    def add(self, frame: int, output: str, inputs: Iterable[str]) -> None:
        self.frames.append(int(frame))
        self.outputs.append(output)
        for path in inputs:
            if path not in self.inputs:
                self.inputs.append(path)

    @property
    def frame_range(self) -> str | None:
        if not self.frames:
            return None
        from fileseq.frameset import FrameSet

        return str(FrameSet(sorted(set(self.frames))))


def upstream(node: Any, node_class: str) -> list[Any]:
    """Nodes of ``node_class`` above ``node`` (through every input), nearest first, each once."""
    found: list[Any] = []
    seen: set[int] = {id(node)}
    queue = list(node.dependencies())
    while queue:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if current.Class() == node_class:
            found.append(current)
        queue.extend(current.dependencies())
    return found


def _value(node: Any, name: str) -> Any:
    knob = node.knob(name)
    return knob.value() if knob is not None else None


def inference_of(node: Any) -> InferenceNode:
    """An Inference node's settings and the values of its model knobs."""
    knobs: dict[str, Any] = {}
    for name, knob in node.knobs().items():
        if name not in _NODE_KNOBS:
            value = knob.value()
            if isinstance(value, bool | int | float | str):
                knobs[name] = value
    version = _value(node, MODEL_VERSION_KNOB)
    return InferenceNode(
        name=node.name(),
        model_file=str(_value(node, "modelFile") or ""),
        model_version=str(version) if version else None,
        use_gpu=bool(_value(node, "useGPUIfAvailable")),
        knobs=knobs,
    )


def model_version_of(t: Tracker, node: InferenceNode) -> ModelVersion:
    """The model version an Inference node runs.

    Raises:
        NotFound: the node carries no rmtc tag and its ``.cat`` is not registered.
    """
    from rmtc.services.ml.models import resolve_version
    from rmtc.services.ml.nuke import NukeRecords

    if node.model_version:
        return resolve_version(t, node.model_version)
    if node.model_file and Path(node.model_file).is_file():
        found = NukeRecords(t).version_of_cat(node.model_file)
        if found is not None:
            return found
    raise NotFound(
        f"Inference node {node.name}: {node.model_file or 'its model file'} is not a registered .cat",
        hint="register it with `rmtc nuke register-cat FILE.cat --model-version MODEL@VERSION`",
    )


def check(t: Tracker, node: InferenceNode) -> ModelVersion:
    """The node's model version, if it may run: refused when blocked or without ``inference``."""
    from rmtc.services.ml.models import usable_version

    version = usable_version(t, model_version_of(t, node), action="nuke render")
    t.rights.require(version, "inference", action="nuke render")
    return version


def ingest_frames(t: Tracker, paths: list[str]) -> list[Any]:
    """Ingest files by reference (known ones are found by hash), as frame sequences where they form
    one, so their assets carry their sequence and frame number; returns the asset ids."""
    from fileseq.filesequence import FileSequence

    from rmtc.services.ingest.scan import PAD

    ids: list[Any] = []
    if not paths:
        return ids
    for seq in FileSequence.yield_sequences_in_list(paths, pad_style=PAD):
        frames = seq.frameSet()
        if frames is not None and seq.zfill():
            pattern = f"{seq.dirname()}{seq.basename()}{'#' * seq.zfill()}{seq.extension()}"
            report = t.ingestor.ingest([pattern], frames=str(frames), by_reference=True)
        else:
            report = t.ingestor.ingest([str(seq)], by_reference=True)
        ids += [f.asset for f in report.files]
    return ids


def record(
    t: Tracker, node: InferenceNode, log: RenderLog, session: Session, *, script: str = ""
) -> InferOutcome | None:
    """Record one Write node's render through one Inference node as an Inference in ``session``;
    ``None`` (nothing recorded) when none of its frames was written."""
    from rmtc.services.ml.infer import Inferences

    outputs = [Path(p) for p in dict.fromkeys(log.outputs) if Path(p).is_file()]
    if not outputs:
        return None
    version = model_version_of(t, node)
    inputs = ingest_frames(t, [p for p in log.inputs if Path(p).is_file()])
    return Inferences(t).record(
        version,
        inputs=inputs,
        outputs=outputs,
        frames=log.frame_range,
        session=session,
        knobs=node.knobs,
        attrs={
            "application": "nuke",
            "script": script,
            "write": log.write,
            "inference_node": node.name,
            "model_file": node.model_file,
            "use_gpu": node.use_gpu,
        },
        outputs_by_reference=True,
        application="nuke",
    )
