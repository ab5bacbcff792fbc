"""Registries of implementations found through entry points.

Built-ins register through the very same entry points as third parties (``pyproject.toml``), so
nothing is special-cased and nothing is populated at import time: a registry scans its group the first
time it is asked. An entry point names a light factory; heavy imports happen inside the factory, when
it is called. A name claimed twice warns and names both sources (the first wins); a factory that fails
to load is kept as a :class:`LoadFailure` and shown by ``rmtc plugins``, never swallowed.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from rmtc.errors import InvalidInput

GROUPS: dict[str, str] = {
    "rmtc.stores": "metadata stores, by URL scheme",
    "rmtc.blobs": "blob stores, by URL scheme",
    "rmtc.trainers": "trainers, by name",
    "rmtc.converters": "model converters, by target format",
    "rmtc.inferers": "inference engines, by name",
    "rmtc.schedulers": "job schedulers, by name",
}


@dataclass(frozen=True, slots=True)
class LoadFailure:
    name: str
    source: str
    error: str


@dataclass(slots=True)
class PluginReport:
    group: str
    loaded: dict[str, str] = field(default_factory=dict)  # name -> "module:attr (dist)"
    failed: list[LoadFailure] = field(default_factory=list)


class Registry:
    """One entry-point group: name -> factory, loaded lazily and once."""

    def __init__(self, group: str, extra: dict[str, Callable[..., Any]] | None = None):
        self.group = group
        self._extra = dict(extra or {})
        self._factories: dict[str, Callable[..., Any]] | None = None
        self._sources: dict[str, str] = {}
        self._failed: list[LoadFailure] = []

    def _load(self) -> dict[str, Callable[..., Any]]:
        if self._factories is not None:
            return self._factories
        factories: dict[str, Callable[..., Any]] = {}
        for ep in sorted(entry_points(group=self.group), key=lambda e: (e.name, e.value)):
            source = _describe(ep)
            if ep.name in factories:
                warnings.warn(
                    f"{self.group}: {ep.name!r} is registered by both {self._sources[ep.name]} and "
                    f"{source}; using the first",
                    RuntimeWarning,
                    stacklevel=3,
                )
                continue
            try:
                factories[ep.name] = ep.load()
                self._sources[ep.name] = source
            except Exception as exc:  # a broken plug-in must not break the others
                self._failed.append(LoadFailure(ep.name, source, f"{type(exc).__name__}: {exc}"))
        for name, factory in self._extra.items():
            factories[name] = factory
            self._sources[name] = f"{factory.__module__}:{factory.__qualname__} (registered in code)"
        self._factories = factories
        return factories

    def register(self, name: str, factory: Callable[..., Any]) -> None:
        """Add a factory in code (tests, embedding applications); wins over entry points."""
        self._extra[name] = factory
        if self._factories is not None:
            self._factories[name] = factory
            self._sources[name] = f"{factory.__module__}:{factory.__qualname__} (registered in code)"

    def names(self) -> list[str]:
        return sorted(self._load())

    def get(self, name: str) -> Callable[..., Any]:
        factories = self._load()
        try:
            return factories[name]
        except KeyError:
            failed = [f for f in self._failed if f.name == name]
            if failed:
                raise InvalidInput(
                    f"the {name!r} plug-in of {self.group} failed to load: {failed[0].error}",
                    hint="run `rmtc plugins` and install what it needs",
                ) from None
            known = ", ".join(sorted(factories)) or "none"
            raise InvalidInput(
                f"no {GROUPS.get(self.group, self.group)} named {name!r}",
                hint=f"available: {known}",
            ) from None

    def report(self) -> PluginReport:
        self._load()
        return PluginReport(self.group, dict(self._sources), list(self._failed))


def _describe(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    owner = f"{dist.name} {dist.version}" if dist is not None else "unknown distribution"
    return f"{ep.value} ({owner})"


def registry_for(group: str) -> Registry:
    """A fresh registry for a group; the composition root (:func:`rmtc.open`) owns the instances."""
    if group not in GROUPS:
        raise InvalidInput(f"unknown plug-in group {group!r}", hint=f"use one of: {', '.join(GROUPS)}")
    return Registry(group)
