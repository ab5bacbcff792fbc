"""Datasets: a named collection, a working set being assembled, and immutable versions.

Members are added to a dataset's working set (operational state, freely edited) and frozen by a
snapshot into a :class:`DatasetVersion`: a fact that never changes, identified by the hash of its
sorted member hashes, so snapshotting the same members twice yields the same version. Paired datasets
(input -> target, as an image-to-image trainer needs) stage pairs; a plain dataset stages assets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import Asset, Dataset, DatasetVersion, Entity
from rmtc.core.hashing import combine
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import Conflict, InvalidInput

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker

_SNAPSHOT_RETRIES = 5


@dataclass(frozen=True, slots=True)
class Member:
    """One member of a version: an asset, or a pair (``asset`` is the input, ``target`` the target)."""

    asset: EntityId
    target: EntityId | None = None
    pair: int | None = None


class Datasets:
    def __init__(self, tracker: Tracker):
        self.t = tracker

    def create(self, name: str, *, description: str = "", paired: bool = False) -> Dataset:
        """Create a dataset; a name already taken is a ``Conflict``."""
        ds = self.t.new(Dataset, name, description=description, paired=paired)
        try:
            result = self.t.record([ds], action="dataset.create", target=ds, detail={"paired": paired})
        except Conflict:
            raise Conflict(
                f"dataset {name!r} already exists",
                hint="choose another name, or add to it with `rmtc dataset add`",
            ) from None
        stored = result.entities[0]
        assert isinstance(stored, Dataset)
        return stored

    def get_or_create(self, name: str, *, paired: bool = False) -> Dataset:
        page = self.t.find(Kind.DATASET, name=name, limit=1)
        if page.items:
            found = page.items[0]
            assert isinstance(found, Dataset)
            return found
        try:
            return self.create(name, paired=paired)
        except Conflict:  # created by a concurrent process in between
            found = self.t.find(Kind.DATASET, name=name, limit=1).items[0]
            assert isinstance(found, Dataset)
            return found

    def get(self, ref: RefLike) -> Dataset:
        entity = self.t.resolve_named(ref, Kind.DATASET)
        if isinstance(entity, DatasetVersion):
            entity = self.dataset_of(entity)
        if not isinstance(entity, Dataset):
            raise InvalidInput(f"{entity.label} is not a dataset", hint="give dataset:NAME")
        return entity

    def add(self, dataset: RefLike, assets: Sequence[RefLike]) -> int:
        """Stage assets into a plain dataset's working set; returns how many were new."""
        ds = self.get(dataset)
        if ds.paired:
            raise InvalidInput(f"dataset {ds.name!r} is paired", hint="add input/target pairs instead")
        ids = [self._asset(a).id for a in assets]
        added = self.t.store.stage_members(ds.id, [{"asset": str(i)} for i in ids])
        self._audit("dataset.add", ds, {"staged": added})
        return added

    def add_pairs(self, dataset: RefLike, pairs: Sequence[tuple[RefLike, RefLike]]) -> int:
        """Stage (input, target) pairs into a paired dataset's working set."""
        ds = self.get(dataset)
        if not ds.paired:
            raise InvalidInput(
                f"dataset {ds.name!r} is not paired",
                hint="create it with --paired to hold input/target pairs",
            )
        members = [{"input": str(self._asset(i).id), "target": str(self._asset(t).id)} for i, t in pairs]
        added = self.t.store.stage_members(ds.id, members)
        self._audit("dataset.add", ds, {"staged": added, "paired": True})
        return added

    def remove(self, dataset: RefLike, assets: Sequence[RefLike]) -> int:
        ds = self.get(dataset)
        removed = self.t.store.unstage_members(ds.id, [self._asset(a).id for a in assets])
        self._audit("dataset.remove", ds, {"unstaged": removed})
        return removed

    def staged(self, dataset: RefLike) -> list[Member]:
        ds = self.get(dataset)
        return [_member(m, i) for i, m in enumerate(self.t.store.staged_members(ds.id))]

    def snapshot(self, dataset: RefLike, *, message: str = "") -> DatasetVersion:
        """Freeze the working set into a new immutable version, or return the latest version when
        nothing changed since (same members, same hash).

        Raises:
            InvalidInput: the working set is empty.
        """
        ds = self.get(dataset)
        members = self.staged(ds)
        if not members:
            raise InvalidInput(
                f"dataset {ds.name!r} has no members to snapshot", hint="add assets with `rmtc dataset add`"
            )
        assets = self.t.store.get_entities(
            {m.asset for m in members} | {m.target for m in members if m.target}
        )
        digest = version_hash(members, assets)
        for _ in range(_SNAPSHOT_RETRIES):
            latest = self.t.latest_version(Kind.DATASET, ds.name)
            if latest is not None and latest.content_hash == digest:
                assert isinstance(latest, DatasetVersion)
                return latest
            number = (latest.version or 0) + 1 if latest is not None else 1
            try:
                return self._write_version(ds, number, members, digest, message)
            except Conflict:  # another process took this number: try the next one
                continue
        raise Conflict(f"could not snapshot {ds.name!r}: too many concurrent snapshots", hint="try again")

    def _write_version(
        self, ds: Dataset, number: int, members: list[Member], digest: str, message: str
    ) -> DatasetVersion:
        version = self.t.new(
            DatasetVersion,
            ds.name,
            version=number,
            content_hash=digest,
            member_count=len(members),
            paired=ds.paired,
            attrs={"message": message} if message else {},
        )
        edges = [self.t.edge(version, Relation.VERSION_OF, ds)]
        for m in members:
            if m.target is None:
                edges.append(self.t.edge(m.asset, Relation.MEMBER_OF, version))
            else:
                edges.append(self.t.edge(m.asset, Relation.MEMBER_OF, version, role="input", pair=m.pair))
                edges.append(self.t.edge(m.target, Relation.MEMBER_OF, version, role="target", pair=m.pair))
        result = self.t.record(
            [version], edges, action="dataset.snapshot", target=version, detail={"members": len(members)}
        )
        stored = result.entities[0]
        assert isinstance(stored, DatasetVersion)
        return stored

    def versions(self, dataset: RefLike) -> list[DatasetVersion]:
        ds = self.get(dataset)
        found = [
            v
            for v in self.t.neighbours(ds, Relation.VERSION_OF, direction="in")
            if isinstance(v, DatasetVersion)
        ]
        return sorted(found, key=lambda v: v.version or 0)

    def dataset_of(self, version: DatasetVersion) -> Dataset:
        parents = [d for d in self.t.neighbours(version, Relation.VERSION_OF) if isinstance(d, Dataset)]
        if not parents:
            raise InvalidInput(f"{version.label} belongs to no dataset", hint="it was recorded without one")
        return parents[0]

    def members(self, version: RefLike) -> list[Member]:
        """A version's members in pair order (paired) or recording order (plain)."""
        v = self.t.resolve(version, Kind.DATASET_VERSION)
        edges = self.t.store.find_edges(dst=[v.id], relations=[Relation.MEMBER_OF])
        plain = [Member(e.src) for e in edges if "role" not in e.attrs]
        inputs = {e.attrs.get("pair"): e.src for e in edges if e.attrs.get("role") == "input"}
        targets = {e.attrs.get("pair"): e.src for e in edges if e.attrs.get("role") == "target"}
        paired = [Member(inputs[p], targets.get(p), p) for p in sorted(inputs, key=lambda p: p or 0)]
        return paired + plain

    def _asset(self, ref: RefLike) -> Entity:
        return self.t.resolve(ref, Kind.ASSET)

    def _audit(self, action: str, target: Entity, detail: dict[str, Any]) -> None:
        self.t.record(action=action, target=target, detail=detail)


def version_hash(members: Sequence[Member], assets: dict[EntityId, Entity]) -> str:
    """The identity of a set of members: their content hashes, sorted (pairs as ``input:target``)."""

    def digest(i: EntityId) -> str:
        a = assets[i]
        assert isinstance(a, Asset) and a.content_hash
        return a.content_hash

    return combine(
        digest(m.asset) if m.target is None else f"{digest(m.asset)}:{digest(m.target)}" for m in members
    )


def _member(raw: dict[str, Any], index: int) -> Member:
    if "input" in raw:
        return Member(EntityId(_uuid(raw["input"])), EntityId(_uuid(raw["target"])), index)
    return Member(EntityId(_uuid(raw["asset"])))


def _uuid(text: str) -> Any:
    import uuid

    return uuid.UUID(str(text))
