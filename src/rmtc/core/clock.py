"""Time, injected. Tests hand the tracker a :class:`ManualClock` instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to (or by ``tick`` on every read, for unique timestamps)."""

    def __init__(self, start: datetime | None = None, tick: timedelta = timedelta(0)):
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._tick = tick

    def now(self) -> datetime:
        current = self._now
        self._now = current + self._tick
        return current

    def advance(self, delta: timedelta) -> None:
        self._now += delta
