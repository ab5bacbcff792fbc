"""The composition root: builds a store, a blob store, registries and a clock, and hands them to a
:class:`~rmtc.api.tracker.Tracker`. Nothing else in rmtc constructs these (dependency injection: tests
and embedding applications pass their own)."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from urllib.parse import urlsplit

from rmtc.api.locate import Location, default_config, is_url, project_dir, resolve_location, write_config
from rmtc.api.tracker import Tracker
from rmtc.blobs.protocol import BlobStore
from rmtc.core.clock import Clock, SystemClock
from rmtc.errors import InvalidInput
from rmtc.plugins.registry import Registry
from rmtc.store.protocol import MetadataStore


def open_tracker(
    location: str | os.PathLike[str] | None = None,
    *,
    create: bool = False,
    blobs: str | None = None,
    user: str | None = None,
    project: str = "default",
    clock: Clock | None = None,
    stores: Registry | None = None,
    blob_stores: Registry | None = None,
) -> Tracker:
    """Open (or with ``create``, initialise) a project and return its tracker.

    Args:
        location: a project folder (``.rmtc`` or its parent), a database URL (``sqlite:///…``,
            ``postgresql://…``) or a service URL (``https://…``). ``None``: ``RMTC_STORE``, else the
            nearest ``.rmtc/`` upwards.
        create: make the project folder and the store's schema when missing.
        blobs: the blob store (a folder or an fsspec URL); a project folder's own by default.
        user: who the writes are attributed to; the OS user by default.
        project: the project scope inside a shared store.
        clock: injected time (tests use :class:`~rmtc.core.clock.ManualClock`).

    Raises:
        NotFound: no project at the location (and not ``create``). InvalidInput: unknown URL scheme.
        SchemaTooNew: the store was written by a newer rmtc.
    """
    if create and location is not None and not is_url(str(location)):
        root = project_dir(location)
        root.mkdir(parents=True, exist_ok=True)
        if not (root / "config.toml").exists():
            write_config(root, default_config(root))
    loc = resolve_location(location, blobs=blobs)
    store = open_store(loc, create=create, registry=stores)
    try:
        blob_store = open_blobs(loc, create=create, registry=blob_stores)
    except BaseException:
        store.close()
        raise
    return Tracker(
        store,
        blob_store,
        clock=clock or SystemClock(),
        user=user or _os_user(),
        project=project,
        root=loc.root,
    )


def open_store(loc: Location, *, create: bool, registry: Registry | None = None) -> MetadataStore:
    scheme = _scheme(loc.store_url)
    factory = (registry or Registry("rmtc.stores")).get(scheme)
    store: MetadataStore = factory(loc.store_url, create=create)
    return store


def open_blobs(loc: Location, *, create: bool, registry: Registry | None = None) -> BlobStore:
    if loc.blobs_url is None:
        raise InvalidInput(
            f"no blob store is configured for {loc.store_url}",
            hint="pass --blobs DIR|URL or set RMTC_BLOBS",
        )
    scheme = _scheme(loc.blobs_url) if is_url(loc.blobs_url) else "local"
    target = loc.blobs_url
    if scheme == "local" and loc.root is not None and not Path(target).is_absolute():
        target = str(loc.root / target)
    factory = (registry or Registry("rmtc.blobs")).get(scheme)
    blob_store: BlobStore = factory(target, create=create)
    return blob_store


def _scheme(url: str) -> str:
    return urlsplit(url).scheme.lower()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"
