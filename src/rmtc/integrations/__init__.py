"""Interfaces to the applications artists work in (Nuke; OpenAssetIO later): the top layer, beside the
CLI, built on the services."""
