"""Plug-in registries fed by entry points; see :mod:`rmtc.plugins.registry`."""

from rmtc.plugins.registry import GROUPS, LoadFailure, PluginReport, Registry, registry_for

__all__ = ["GROUPS", "LoadFailure", "PluginReport", "Registry", "registry_for"]
