"""A paired dataset version as the trainer's frame source.

:class:`DatasetPairs` is a :class:`rmtc.ml.data.PairSource` over the members of a paired
:class:`~rmtc.core.entities.DatasetVersion`: each pair's input and target assets are read (EXR, or any
format OpenImageIO reads) from the blob store or, for footage stored by reference, where it lives.
Pairs are labelled by their frames (``plate.1001.exr -> matte.1001.exr``), so every error the trainer
raises about a frame (size mismatch, NaN, a damaged file) names it.

:func:`training_version` turns what a recipe names into the version to train on, refusing what cannot
be trained on before anything is recorded: a plain (unpaired) version, an empty one, one whose pairs
lack a target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import Asset, Dataset, DatasetVersion, Entity
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind
from rmtc.errors import InvalidInput, NotFound, RmtcError
from rmtc.services.ml.files import asset_file

if TYPE_CHECKING:
    import numpy as np

    from rmtc.api.tracker import RefLike, Tracker


@dataclass(frozen=True, slots=True)
class Pair:
    input: Asset
    target: Asset

    @property
    def label(self) -> str:
        return f"{self.input.name} -> {self.target.name}"


def training_version(t: Tracker, ref: RefLike | None) -> DatasetVersion:
    """The dataset version a recipe's ``data.dataset`` names; a dataset means its latest version.

    Raises:
        InvalidInput: nothing named, or not a dataset. NotFound: no such dataset, or it has no versions.
    """
    if ref is None or (isinstance(ref, str) and not ref.strip()):
        raise InvalidInput(
            "recipe.data.dataset: missing; name the paired dataset version to train on",
            hint='add data.dataset = "dataset:NAME@VERSION" to the recipe',
        )
    entity = t.resolve_named(ref, Kind.DATASET)
    if isinstance(entity, Dataset):
        latest = t.latest_version(Kind.DATASET, entity.name)
        if latest is None:
            raise NotFound(
                f"{entity.label} has no versions to train on",
                hint=f"snapshot it first: `rmtc dataset snapshot {entity.name}`",
            )
        entity = latest
    if not isinstance(entity, DatasetVersion):
        raise InvalidInput(f"{entity.label} is not a dataset version", hint="name dataset:NAME@VERSION")
    return entity


def training_pairs(t: Tracker, version: DatasetVersion) -> list[Pair]:
    """The version's (input, target) pairs in pair order, checked to be trainable.

    Raises:
        InvalidInput: the version is not paired, is empty, or has inputs without targets (or the reverse).
    """
    if not version.paired:
        raise InvalidInput(
            f"{version.label} is not a paired dataset: training needs input -> target frame pairs",
            hint="create a paired dataset (`rmtc dataset create NAME --paired`) and add "
            "`--input`/`--target` sequences",
        )
    members = t.datasets.members(version)
    if not members:
        raise InvalidInput(f"{version.label} has no members", hint="snapshot a dataset with frame pairs")
    unpaired = [m for m in members if m.target is None]
    targets = sum(1 for m in members if m.target is not None)
    if unpaired:
        ids: set[EntityId] = {m.asset for m in unpaired}
        names = sorted(a.name for a in t.store.get_entities(ids).values())
        raise InvalidInput(
            f"{version.label} has {len(members)} input frame(s) but {targets} target frame(s): "
            f"{', '.join(names[:5])}{' …' if len(names) > 5 else ''} have no target",
            hint="pair every input frame with a target frame, then snapshot a new version",
        )
    assets = t.store.get_entities({m.asset for m in members} | {m.target for m in members if m.target})
    pairs = []
    for m in members:
        a, b = assets.get(m.asset), assets.get(m.target) if m.target else None
        if not isinstance(a, Asset) or not isinstance(b, Asset):
            raise InvalidInput(
                f"{version.label} pair {m.pair} names entities that are not assets",
                hint="snapshot a dataset of image assets",
            )
        pairs.append(Pair(a, b))
    return pairs


class DatasetPairs:
    """The frame pairs of a dataset version, read on demand (a :class:`rmtc.ml.data.PairSource`)."""

    def __init__(self, t: Tracker, pairs: list[Pair]):
        self.t = t
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def label(self, index: int) -> str:
        return self.pairs[index].label

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        pair = self.pairs[index]
        return self._read(pair.input, pair, "input"), self._read(pair.target, pair, "target")

    def _read(self, asset: Entity, pair: Pair, role: str) -> Any:
        from rmtc.vfx.imageio import read_image

        try:
            with asset_file(self.t, asset) as path:
                image = read_image(path)
        except RmtcError as exc:
            raise type(exc)(
                f"{pair.label} ({role} {asset.label}): {exc.message}", hint=exc.hint, details=exc.details
            ) from exc
        return image.pixels
