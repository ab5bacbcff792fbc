"""Stored bytes as files the ML core can open: blobs, referenced footage, directories of blobs.

Image readers, safetensors and TorchScript loaders want a path. A blob store that is a local folder
hands out the blob's own path (read-only, zero copy); any other store's blob is copied to a temporary
file first. Footage ingested by reference is read where it lives, after checking that its bytes still
hash to what was recorded, so a frame swapped on disk never trains a model under the old frame's name.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from rmtc.core.entities import Asset, Entity
from rmtc.core.hashing import hash_file
from rmtc.errors import IntegrityError, InvalidInput, NotFound

if TYPE_CHECKING:
    from rmtc.api.tracker import Tracker

_COPY_CHUNK = 1 << 20


@contextlib.contextmanager
def blob_file(t: Tracker, digest: str, suffix: str = "") -> Iterator[Path]:
    """A readable path holding the blob ``digest``: the store's own file, or a temporary copy.

    ``suffix`` names the copy's extension (``.pt``), for readers that go by it; the local store's own
    path has none. Never write to the path.

    Raises:
        NotFound: no such blob. IntegrityError: a copied blob's bytes do not match its hash.
    """
    local = t.blobs.local_path(digest)
    if local is not None and not suffix:
        if not Path(local).is_file():
            raise NotFound(f"blob {digest[:16]}… is missing from {t.blobs.url}", hint="run `rmtc verify`")
        yield Path(local)
        return
    with tempfile.TemporaryDirectory(prefix="rmtc-blob-") as tmp:
        path = Path(tmp) / f"{digest[:16]}{suffix}"
        copy_blob(t, digest, path)
        yield path


def copy_blob(t: Tracker, digest: str, dest: Path) -> Path:
    """Write the blob ``digest`` to ``dest`` (verified while read); returns ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    try:
        with t.blobs.open(digest, verify=True) as src, tmp.open("wb") as out:
            shutil.copyfileobj(src, out, _COPY_CHUNK)
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def copy_blobs(t: Tracker, files: Mapping[str, str], directory: Path) -> Path:
    """Rebuild a directory from ``{file name: blob digest}`` (a checkpoint's parts)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, digest in files.items():
        if "/" in name or "\\" in name or name in ("", ".", ".."):
            raise InvalidInput(f"refusing file name {name!r} from the store", hint="it is not a plain name")
        copy_blob(t, digest, directory / name)
    return directory


@contextlib.contextmanager
def asset_file(t: Tracker, asset: Entity) -> Iterator[Path]:
    """A readable path to an asset's bytes, wherever it is stored.

    Raises:
        InvalidInput: the asset was purged, or has no bytes recorded. NotFound: referenced footage is
            gone. IntegrityError: referenced footage changed since it was ingested.
    """
    if not isinstance(asset, Asset) or not asset.content_hash:
        raise InvalidInput(f"{asset.label} is not a file asset", hint="give an asset with recorded bytes")
    if asset.storage == "purged" or "purged" in t.store.get_flags([asset.id]).get(asset.id, {}):
        raise InvalidInput(f"{asset.label} was purged: its bytes are gone", hint="use other frames")
    if asset.storage == "reference":
        path = Path(asset.uri or "")
        if not asset.uri or not path.is_file():
            raise NotFound(
                f"{asset.label} is stored by reference and {asset.uri} no longer exists",
                hint="restore the file or re-ingest it",
            )
        digest, _ = hash_file(path)
        if digest != asset.content_hash:
            raise IntegrityError(
                f"{path} changed since it was ingested as {asset.label}",
                hint="ingest the new file as a new asset (and a new dataset version)",
                details={"path": str(path)},
            )
        yield path
        return
    with blob_file(t, asset.content_hash) as path:
        yield path
