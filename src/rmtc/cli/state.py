"""What every command shares: the global options and the tracker they open (lazily, once)."""

from __future__ import annotations

from dataclasses import dataclass, field

import typer

from rmtc.api.tracker import Tracker


@dataclass
class CliState:
    store: str | None = None
    blobs: str | None = None
    project: str = "default"
    user: str | None = None
    _tracker: Tracker | None = field(default=None, repr=False)

    def tracker(self, *, create: bool = False) -> Tracker:
        if self._tracker is None:
            from rmtc.api.compose import open_tracker

            self._tracker = open_tracker(
                self.store, create=create, blobs=self.blobs, user=self.user, project=self.project
            )
        return self._tracker

    def close(self) -> None:
        if self._tracker is not None:
            self._tracker.close()
            self._tracker = None


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def tracker(ctx: typer.Context) -> Tracker:
    return state(ctx).tracker()
