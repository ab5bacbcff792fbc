"""Questions answered in one read transaction.

The effective rights of an artefact take about nine reads of the store (the artefact, its kept facts,
the licences and talents, the guided walk, the entities on the evidence paths), a trace two. Each read
of a SQL store otherwise checks a connection out of the pool, pings it (PostgreSQL) and commits: about
half a millisecond each on PostgreSQL, a tenth of what the rights of a model version take. Inside
:meth:`~rmtc.store.protocol.MetadataStore.reading` they share one connection and transaction, and on
SQLite one snapshot as well.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Concatenate, ParamSpec, Protocol, TypeVar

if TYPE_CHECKING:
    from rmtc.api.tracker import Tracker

P = ParamSpec("P")
R = TypeVar("R")


class _Service(Protocol):
    t: Tracker


S = TypeVar("S", bound=_Service)


def one_transaction(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """A service method (of an object that holds its tracker as ``t``) whose reads share one
    transaction. For questions only: writes inside it go to transactions of their own."""

    @functools.wraps(method)
    def reading(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.t.store.reading():
            return method(self, *args, **kwargs)

    return reading
