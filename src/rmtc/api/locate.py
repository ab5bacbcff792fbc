"""Where a project lives: ``--store``, ``RMTC_STORE``, or the nearest ``.rmtc/`` folder upwards.

A project folder is ``<dir>/.rmtc/`` holding ``config.toml`` (which metadata store and blob store to
use), and by default the SQLite database ``rmtc.db`` and the blob directory ``blobs/`` beside it. A
facility's shared project is the same folder whose config names a PostgreSQL URL and an object-store
URL, or simply a URL given directly.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from rmtc.errors import InvalidInput, NotFound

PROJECT_DIR = ".rmtc"
CONFIG_FILE = "config.toml"
CONFIG_LABEL = "rmtc.Config/1"
ENV_STORE = "RMTC_STORE"
ENV_BLOBS = "RMTC_BLOBS"
#: Store URLs that name an rmtc service, which serves blobs too.
SERVICE_SCHEMES = ("http", "https")


@dataclass(frozen=True, slots=True)
class Location:
    """A resolved project: the metadata store URL, the blob store URL and the folder, if any."""

    store_url: str
    blobs_url: str | None
    root: Path | None = None


def is_url(text: str) -> bool:
    return "://" in text


def project_dir(path: str | os.PathLike[str]) -> Path:
    """The ``.rmtc`` folder for a path that is either a project folder or its parent."""
    p = Path(path).expanduser().resolve()
    return p if p.name == PROJECT_DIR else p / PROJECT_DIR


def default_config(root: Path) -> dict[str, str]:
    return {
        "format": CONFIG_LABEL,
        "store": f"sqlite:///{root / 'rmtc.db'}",
        "blobs": str(root / "blobs"),
    }


def write_config(root: Path, config: dict[str, str]) -> None:
    lines = [f'{key} = "{value}"' for key, value in config.items()]
    tmp = root / (CONFIG_FILE + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(root / CONFIG_FILE)


def read_config(root: Path) -> Location:
    path = root / CONFIG_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFound(
            f"{str(root)!r} is not an rmtc project (no {CONFIG_FILE})", hint="run `rmtc init`"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{str(path)!r} is not valid TOML: {exc}", hint="fix or recreate it") from None
    fmt = data.get("format", CONFIG_LABEL)
    if fmt != CONFIG_LABEL:
        raise InvalidInput(
            f"{str(path)!r} has format {fmt!r}, this rmtc reads {CONFIG_LABEL!r}", hint="upgrade rmtc"
        )
    store = data.get("store")
    if not isinstance(store, str):
        raise InvalidInput(f"{str(path)!r} names no store", hint='add store = "sqlite:///…"')
    blobs = data.get("blobs")
    return Location(store, blobs if isinstance(blobs, str) else None, root)


def find_project(start: Path | None = None) -> Path | None:
    """The nearest ``.rmtc`` folder at or above ``start`` (the working directory by default)."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / PROJECT_DIR / CONFIG_FILE).is_file():
            return candidate / PROJECT_DIR
    return None


def resolve_location(location: str | os.PathLike[str] | None, *, blobs: str | None = None) -> Location:
    """Turn what the user gave (or nothing) into a :class:`Location`.

    Precedence: the explicit ``location``, then ``RMTC_STORE``, then the nearest ``.rmtc/`` upwards.
    ``blobs`` (or ``RMTC_BLOBS``) overrides the blob store of a project or names one for a URL.
    """
    chosen = location if location is not None else os.environ.get(ENV_STORE) or None
    blobs = blobs or os.environ.get(ENV_BLOBS) or None
    if chosen is None:
        found = find_project()
        if found is None:
            raise NotFound(
                "no rmtc project here or in any parent folder",
                hint="run `rmtc init`, pass --store, or set RMTC_STORE",
            )
        loc = read_config(found)
    elif isinstance(chosen, str) and is_url(chosen) and not chosen.startswith("file://"):
        if blobs is None and chosen.split("://", 1)[0].lower() in SERVICE_SCHEMES:
            blobs = chosen  # a service keeps its blobs beside its store
        return Location(chosen, blobs, None)
    else:
        text = str(chosen)
        root = project_dir(text[len("file://") :] if text.startswith("file://") else text)
        loc = read_config(root)
    return Location(loc.store_url, blobs or loc.blobs_url, loc.root)
