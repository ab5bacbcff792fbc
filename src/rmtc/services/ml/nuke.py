"""The tracking side of Nuke: the TorchScript a model version gives Nuke, ``.cat`` files, CopyCat runs.

Nothing here imports Nuke. A ``.cat`` made by CatFileCreator from a version's TorchScript is recorded as
:class:`~rmtc.core.entities.Weights` of format ``cat``, a ``variant_of`` that model version (it inherits
its rights exactly), so renders through an Inference node that loads it lead back to the version.

A CopyCat data directory holds a ``.cat`` every checkpoint interval and a ``.png`` contact sheet every
contact-sheet interval. Importing it records a ``training`` :class:`~rmtc.core.entities.Run`: each
``.cat`` a :class:`~rmtc.core.entities.Checkpoint` (its step read from the last number in its name), the
latest also as ``cat`` weights ready to publish, the sheets as assets, all ``generated_by`` the run;
and, when the frames it was trained on are named, the run ``used`` them (ingested by reference), so the
rights and talents of those frames reach every model CopyCat made.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import Asset, Checkpoint, Entity, ModelVersion, Run, Weights
from rmtc.core.hashing import hash_file
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import InvalidInput, NotFound
from rmtc.services.ml.convert import Conversions, variants_of
from rmtc.services.ml.models import resolve_version
from rmtc.services.ml.solutions import Solutions
from rmtc.store.types import RunStatus

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker

_NUMBER = re.compile(r"(\d+)")


@dataclass(frozen=True, slots=True)
class CopyCatFile:
    path: Path
    step: int | None


@dataclass(frozen=True)
class CopyCatDir:
    """What a CopyCat data directory holds: its ``.cat`` checkpoints (by step) and contact sheets."""

    root: Path
    cats: tuple[CopyCatFile, ...]
    sheets: tuple[CopyCatFile, ...]

    @property
    def final(self) -> CopyCatFile:
        return self.cats[-1]


def step_of(name: str) -> int | None:
    """The training step a CopyCat file name carries: the last number in its stem, if any."""
    numbers = _NUMBER.findall(Path(name).stem)
    return int(numbers[-1]) if numbers else None


def scan_copycat(directory: str | Path) -> CopyCatDir:
    """The ``.cat`` files (oldest step first; unnumbered last) and ``.png`` sheets of a data directory.

    Raises:
        NotFound: no such directory. InvalidInput: it holds no ``.cat`` file.
    """
    root = Path(directory).expanduser().resolve()
    if not root.is_dir():
        raise NotFound(f"no CopyCat data directory at {root}", hint="give CopyCat's Data Directory")

    def files(suffix: str) -> tuple[CopyCatFile, ...]:
        found = [CopyCatFile(p, step_of(p.name)) for p in root.rglob(f"*{suffix}") if p.is_file()]
        big = 1 << 62
        return tuple(sorted(found, key=lambda f: (f.step if f.step is not None else big, f.path.name)))

    cats = files(".cat")
    if not cats:
        raise InvalidInput(
            f"{root} holds no .cat file: it is not a CopyCat data directory (or CopyCat saved nothing yet)",
            hint="train in CopyCat until it writes a checkpoint, then import its Data Directory",
        )
    return CopyCatDir(root, cats, files(".png"))


@dataclass
class CopyCatImport:
    run: Run
    checkpoints: list[Checkpoint]
    weights: Weights
    sheets: list[Asset]
    frames: list[EntityId] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run.to_json(),
            "checkpoints": [c.to_json() for c in self.checkpoints],
            "weights": self.weights.to_json(),
            "contact_sheets": [s.to_json() for s in self.sheets],
            "frames": [str(f) for f in self.frames],
        }


class NukeRecords:
    def __init__(self, tracker: Tracker):
        self.t = tracker

    def torchscript_for(self, ref: RefLike, **convert_options: Any) -> tuple[ModelVersion, str]:
        """A model version and the blob hash of the TorchScript Nuke takes from it: its published
        variant, else a recorded conversion of its weights, else one made now."""
        version = resolve_version(self.t, ref)
        digest = version.variants.get("torchscript")
        if digest:
            return version, digest
        sources = [w for w in self.t.neighbours(version, Relation.DERIVED_FROM) if isinstance(w, Weights)]
        if not sources:
            raise InvalidInput(
                f"{version.label} has no TorchScript variant and no source weights to convert",
                hint="publish it from safetensors weights or a TorchScript model",
            )
        variant = variants_of(self.t, sources[0]).get("torchscript")
        if variant is None:
            variant = Conversions(self.t).convert(sources[0], "torchscript", **convert_options)
        assert variant.content_hash is not None
        return version, variant.content_hash

    def register_cat(self, path: str | Path, model_version: RefLike) -> Weights:
        """Record a ``.cat`` file (made by CatFileCreator) as a variant of its model version.

        Raises:
            NotFound: no such file. InvalidInput: not a ``.cat`` file.
        """
        p = Path(path).expanduser().resolve()
        if not p.is_file():
            raise NotFound(f"no .cat file at {p}", hint="check the path")
        if p.suffix.lower() != ".cat":
            raise InvalidInput(f"{p.name} is not a .cat file", hint="register the file CatFileCreator wrote")
        version = resolve_version(self.t, model_version)
        info = self.t.blobs.put_file(p)
        cat = self.t.new(
            Weights,
            p.name,
            content_hash=info.digest,
            size=info.size,
            format="cat",
            attrs={"model_version": str(version.id), "made_by": "CatFileCreator", "path": str(p)},
        )
        result = self.t.record(
            [cat],
            [self.t.edge(cat, Relation.VARIANT_OF, version, made_by="CatFileCreator")],
            action="nuke.register_cat",
            target=version,
            detail={"cat": info.digest, "path": str(p)},
        )
        stored = result.entities[0]
        assert isinstance(stored, Weights)
        return stored

    def version_of_cat(self, path: str | Path) -> ModelVersion | None:
        """The model version a registered ``.cat`` file is a variant of (by its bytes), or ``None``."""
        digest, _ = hash_file(path)
        for cat in self.t.find(Kind.WEIGHTS, content_hash=digest, limit=10).items:
            for mv in self.t.neighbours(cat, Relation.VARIANT_OF):
                if isinstance(mv, ModelVersion):
                    return mv
        return None

    def import_copycat(
        self,
        directory: str | Path,
        *,
        frames: Sequence[str] = (),
        name: str | None = None,
        solution: RefLike | None = None,
        params: dict[str, Any] | None = None,
    ) -> CopyCatImport:
        """Record a CopyCat data directory as a finished training run (see the module docstring).

        Args:
            frames: sequences it was trained on (``input.####.exr``, ``truth.####.exr``), ingested by
                reference when not yet known.
            params: CopyCat's settings to record (epochs, model size, crop size ...).
        """
        found = scan_copycat(directory)
        sol = Solutions(self.t).get(solution) if solution is not None else None
        frame_ids: list[EntityId] = []
        for pattern in frames:
            report = self.t.ingestor.ingest([pattern], by_reference=True)
            if report.failed:
                raise InvalidInput(f"cannot read {report.failed[0][0]}: {report.failed[0][1]}", hint="fix it")
            frame_ids += [f.asset for f in report.files]
        run = self.t.new(
            Run,
            name or f"copycat-{found.root.name}",
            run_type="training",
            params={
                "tool": "CopyCat",
                "data_directory": str(found.root),
                "checkpoints": [c.step for c in found.cats],
                "frames": list(frames),
                **(params or {}),
            },
        )
        entities: list[Entity] = [run]
        edges = [self.t.edge(run, Relation.USED, i) for i in dict.fromkeys(frame_ids)]
        if sol is not None:
            edges.append(self.t.edge(run, Relation.PART_OF, sol))
        for cat in found.cats:
            info = self.t.blobs.put_file(cat.path)
            ckpt = self.t.new(
                Checkpoint,
                cat.path.name,
                content_hash=info.digest,
                step=cat.step or 0,
                size=info.size,
                attrs={"format": "cat", "path": str(cat.path)},
            )
            entities.append(ckpt)
            edges.append(self.t.edge(ckpt, Relation.GENERATED_BY, run))
        final = found.final
        final_info = self.t.blobs.put_file(final.path)
        weights = self.t.new(
            Weights,
            final.path.name,
            content_hash=final_info.digest,
            size=final_info.size,
            format="cat",
            attrs={"made_by": "CopyCat", "step": final.step, "path": str(final.path)},
        )
        entities.append(weights)
        edges.append(self.t.edge(weights, Relation.GENERATED_BY, run))
        for sheet in found.sheets:
            info = self.t.blobs.put_file(sheet.path)
            asset = self.t.new(
                Asset,
                sheet.path.name,
                content_hash=info.digest,
                size=info.size,
                uri=str(sheet.path),
                media={"format": "png"},
                attrs={"role": "contact_sheet", "step": sheet.step, "made_by": "CopyCat"},
            )
            entities.append(asset)
            edges.append(self.t.edge(asset, Relation.GENERATED_BY, run))
        status = RunStatus(run.id, "finished", self.t.clock.now(), "imported from CopyCat")
        stored = self.t.record(
            entities,
            edges,
            action="nuke.import_copycat",
            target=run,
            detail={"directory": str(found.root), "cats": len(found.cats), "frames": len(frame_ids)},
            statuses=[status],
        ).entities
        return CopyCatImport(
            run=next(e for e in stored if isinstance(e, Run)),
            checkpoints=[e for e in stored if isinstance(e, Checkpoint)],
            weights=next(e for e in stored if isinstance(e, Weights)),
            sheets=[e for e in stored if isinstance(e, Asset)],
            frames=frame_ids,
        )
