"""The right to be forgotten: erase an asset's bytes while provenance keeps its hash and a tombstone.

Rows are never deleted (history must stay provable): the asset keeps its id, name and hash; a ``purged``
flag records when, why and by whom; the blob is erased (or, for an asset stored by reference, the bytes
left where they live are reported as the owner's to remove). Everything downstream is flagged
``source_purged`` so nobody mistakes it for intact. Purging an asset that a published model version was
made from is refused unless forced, and forcing it blocks those model versions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import Asset, Entity
from rmtc.core.kinds import MATERIAL, Kind
from rmtc.errors import Conflict, InvalidInput
from rmtc.services.upstream import get_entities

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker


@dataclass
class PurgeReport:
    asset: Asset
    erased: bool
    flagged: list[Entity] = field(default_factory=list)
    blocked: list[Entity] = field(default_factory=list)
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "asset": {
                "id": str(self.asset.id),
                "kind": "asset",
                "label": self.asset.label,
                "content_hash": self.asset.content_hash,
            },
            "erased": self.erased,
            "flagged": [{"id": str(e.id), "kind": e.kind.value, "label": e.label} for e in self.flagged],
            "blocked": [{"id": str(e.id), "kind": e.kind.value, "label": e.label} for e in self.blocked],
            "note": self.note,
        }


class Purger:
    def __init__(self, tracker: Tracker):
        self.t = tracker

    def purge(self, ref: RefLike, *, reason: str, force: bool = False) -> PurgeReport:
        if not reason.strip():
            raise InvalidInput("a purge needs a reason", hint="pass --reason 'consent withdrawn by …'")
        asset = self.t.resolve(ref, Kind.ASSET)
        assert isinstance(asset, Asset)
        if "purged" in self.t.store.get_flags([asset.id]).get(asset.id, {}):
            raise Conflict(f"{asset.label} is already purged", hint="nothing to do")
        steps = self.t.store.walk([asset.id], "down", through=MATERIAL, project=self.t.project)
        downstream = list(get_entities(self.t, [s.entity for s in steps]).values())
        published = [e for e in downstream if e.kind is Kind.MODEL_VERSION]
        if published and not force:
            names = ", ".join(e.label for e in published[:5])
            raise Conflict(
                f"{asset.label} went into published model version(s) {names}",
                hint="revoke or retrain first, or pass --force to purge and block them",
            )
        now = self.t.clock.now()
        flag = {"at": now.date().isoformat(), "reason": reason, "by": self.t.user, "hash": asset.content_hash}
        erased, note = False, ""
        if asset.storage == "reference":
            note = f"stored by reference: the bytes at {asset.uri} belong to their owner and were not deleted"
        elif asset.content_hash:
            erased = self.t.blobs.delete(asset.content_hash)
        self.t.store.set_flag(asset.id, "purged", flag)
        for e in downstream:
            self.t.store.set_flag(e.id, "source_purged", {"asset": str(asset.id), "at": flag["at"]})
        for mv in published:
            self.t.store.set_flag(mv.id, "blocked", {**flag, "purged_asset": str(asset.id)})
        self.t.record(
            action="purge",
            target=asset,
            detail={
                "reason": reason,
                "erased": erased,
                "downstream": len(downstream),
                "blocked": len(published),
            },
        )
        return PurgeReport(asset, erased, downstream, published, note)
