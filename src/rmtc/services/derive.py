"""Derived dataset versions: every transformation is an activity in the graph, so rights flow through it.

A derivation is a curation :class:`Run` that ``used`` its parent versions and ``generated`` the new
version, which keeps a ``derived_from`` history edge to each parent. What the new version carries in
rights and likeness is decided by its own members alone (``rmtc.core.kinds.MATERIAL``):

- a *filter* keeps a subset of the parents' members: the same assets, so a frame the filter dropped
  never taints the result;
- an image *transform* (crop, resize, colour conversion) writes new frames, each an asset
  ``derived_from`` its original and ``generated_by`` the run, so the originals' licences and talents
  flow into them;
- frames made by another model's inference are ordinary members whose provenance already leads through
  the inference to that model's sources.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import Asset, DatasetVersion, Entity
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import InvalidInput
from rmtc.services.datasets import Member

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker

TRANSFORMS = ("crop", "resize", "colour")


@dataclass(frozen=True)
class Derivation:
    """What to do: keep members matching every filter, then apply the transforms in order."""

    include_talent: Sequence[str] = ()
    exclude_talent: Sequence[str] = ()
    frames: str | None = None
    transforms: Sequence[tuple[str, str]] = field(default_factory=tuple)

    def describe(self) -> dict[str, Any]:
        return {
            "include_talent": list(self.include_talent),
            "exclude_talent": list(self.exclude_talent),
            "frames": self.frames,
            "transforms": [f"{k}={v}" for k, v in self.transforms],
        }


class Deriver:
    def __init__(self, tracker: Tracker):
        self.t = tracker

    def derive(
        self,
        dataset: str,
        parents: Sequence[RefLike],
        how: Derivation,
        *,
        message: str = "",
    ) -> DatasetVersion:
        """Make a new version of ``dataset`` (created when missing) from ``parents``; see the module doc."""
        if not parents:
            raise InvalidInput(
                "a derived version needs at least one parent", hint="pass --from DATASET@VERSION"
            )
        versions = [self.t.resolve_named(p, Kind.DATASET) for p in parents]
        for v in versions:
            if not isinstance(v, DatasetVersion):
                raise InvalidInput(
                    f"{v.label} is not a dataset version", hint="give NAME@VERSION, e.g. plates@2"
                )
        paired = {v.paired for v in versions if isinstance(v, DatasetVersion)}
        if len(paired) > 1:
            raise InvalidInput(
                "cannot merge paired and plain versions", hint="derive from versions of one kind"
            )
        members = self._filtered([m for v in versions for m in self.t.datasets.members(v)], how)
        if not members:
            raise InvalidInput(
                "the filters keep no member", hint="loosen --include-talent/--exclude-talent/--frames"
            )
        ds = self.t.datasets.get_or_create(dataset, paired=paired.pop())
        with self.t.runs.start(
            f"derive {dataset}",
            run_type="curation",
            params={"transformation": how.describe(), "parents": [v.label for v in versions]},
            inputs=versions,
        ) as run:
            if how.transforms:
                members = self._transformed(members, how.transforms, run.run)
            existing = self.t.datasets.staged(ds)
            if existing:
                self.t.store.unstage_members(ds.id, [m.asset for m in existing])
            if ds.paired:
                self.t.datasets.add_pairs(ds, [(m.asset, m.target) for m in members if m.target is not None])
            else:
                self.t.datasets.add(ds, [m.asset for m in members])
            version = self.t.datasets.snapshot(
                ds, message=message or f"derived from {', '.join(v.label for v in versions)}"
            )
            edges = [self.t.edge(version, Relation.GENERATED_BY, run.run)]
            edges += [self.t.edge(version, Relation.DERIVED_FROM, v) for v in versions]
            self.t.record(edges=edges, action="dataset.derive", target=version, detail=how.describe())
        return version

    def _filtered(self, members: list[Member], how: Derivation) -> list[Member]:
        keep = list(dict.fromkeys(members))
        if how.frames:
            from rmtc.services.ingest.scan import parse_frames

            wanted = {int(f) for f in parse_frames(how.frames)}
            assets = self.t.store.get_entities([m.asset for m in keep])
            keep = [m for m in keep if getattr(assets.get(m.asset), "frame", None) in wanted]
        if how.include_talent or how.exclude_talent:
            include = {self.t.parties.talent(x).id for x in how.include_talent}
            exclude = {self.t.parties.talent(x).id for x in how.exclude_talent}
            ids = [i for m in keep for i in (m.asset, m.target) if i is not None]
            shows: dict[EntityId, set[EntityId]] = {}
            for e in self.t.store.find_edges(src=ids, relations=[Relation.DEPICTS]):
                shows.setdefault(e.src, set()).add(e.dst)

            def talents(m: Member) -> set[EntityId]:
                return shows.get(m.asset, set()) | (shows.get(m.target, set()) if m.target else set())

            keep = [m for m in keep if not (talents(m) & exclude) and (not include or talents(m) & include)]
        return keep

    def _transformed(
        self, members: list[Member], transforms: Sequence[tuple[str, str]], run: Entity
    ) -> list[Member]:
        ops = [_operation(name, arg) for name, arg in transforms]
        out = []
        cache: dict[EntityId, EntityId] = {}
        for m in members:
            new_input = self._apply(m.asset, ops, run, transforms, cache)
            new_target = self._apply(m.target, ops, run, transforms, cache) if m.target else None
            out.append(Member(new_input, new_target, m.pair))
        return out

    def _apply(
        self,
        asset_id: EntityId,
        ops: list[Callable[[Any], Any]],
        run: Entity,
        transforms: Sequence[tuple[str, str]],
        cache: dict[EntityId, EntityId],
    ) -> EntityId:
        if asset_id in cache:
            return cache[asset_id]
        from rmtc.vfx.imageio import read_image, write_image

        src = self.t.get(asset_id)
        assert isinstance(src, Asset)
        path = self.t.blobs.local_path(src.content_hash or "") if src.storage == "copy" else src.uri
        if not path:
            raise InvalidInput(f"{src.label} has no readable bytes here", hint="ingest it by copy first")
        image = read_image(path)
        for op in ops:
            image = op(image)
        with tempfile.TemporaryDirectory(prefix="rmtc-derive-") as tmp:
            out_path = Path(tmp) / src.name
            write_image(out_path, image)
            info = self.t.blobs.put_file(out_path)
        asset = self.t.new(
            Asset,
            src.name,
            content_hash=info.digest,
            size=info.size,
            storage="copy",
            sequence=src.sequence,
            frame=src.frame,
            media={"width": image.width, "height": image.height, "channels": image.nchannels},
            attrs={"transform": [f"{k}={v}" for k, v in transforms]},
        )
        stored = self.t.record(
            [asset],
            [self.t.edge(asset, Relation.DERIVED_FROM, src), self.t.edge(asset, Relation.GENERATED_BY, run)],
        ).entities[0]
        cache[asset_id] = stored.id
        return stored.id


def _operation(name: str, arg: str) -> Callable[[Any], Any]:
    """An image operation from its CLI spelling: ``crop=x,y,w,h``, ``resize=w,h``, ``colour=src:dst``."""
    if name == "crop":
        x, y, w, h = _ints(arg, 4, "crop=x,y,w,h")

        def crop(img: Any) -> Any:
            if x < 0 or y < 0 or x + w > img.width or y + h > img.height:
                raise InvalidInput(
                    f"crop {arg} falls outside a {img.width}x{img.height} frame", hint="crop inside the frame"
                )
            return img.replace(pixels=img.pixels[y : y + h, x : x + w].copy())

        return crop
    if name == "resize":
        w, h = _ints(arg, 2, "resize=w,h")

        def resize(img: Any) -> Any:
            import numpy as np

            ys = (np.arange(h) * img.height / h).astype(int)
            xs = (np.arange(w) * img.width / w).astype(int)
            return img.replace(pixels=img.pixels[ys][:, xs].copy())

        return resize
    if name == "colour":
        src, _, dst = arg.partition(":")
        if not dst:
            raise InvalidInput(f"colour={arg} needs SRC:DST", hint="e.g. colour=ACEScg:sRGB - Texture")

        def colour(img: Any) -> Any:
            from rmtc.vfx.colour import convert_colour

            return convert_colour(img, dst, src=src or None)

        return colour
    raise InvalidInput(f"unknown transform {name!r}", hint=f"use one of {', '.join(TRANSFORMS)}")


def _ints(text: str, count: int, form: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != count or any(v < 0 for v in values):
        raise InvalidInput(f"transform argument {text!r} cannot be read", hint=f"write {form}")
    return values
