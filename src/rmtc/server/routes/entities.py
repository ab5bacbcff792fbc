"""Entities: search and listing, one entity as ``rmtc show --json`` prints it, its files, thumbnails.

Files are the blobs an entity names (an asset's bytes, weights, a model version's variants); they are
served only through the entity that names them, re-hashed before the first byte is sent, and always as
attachments, so nothing a user stored is ever rendered in the Explorer's origin.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, StreamingResponse

from rmtc.api.tracker import Tracker
from rmtc.cli.commands.entities import details
from rmtc.core.entities import Asset, Checkpoint, Entity, ModelVersion, Weights
from rmtc.core.kinds import Kind
from rmtc.errors import AmbiguousReference, IntegrityError, InvalidInput, NotFound
from rmtc.server.deps import Role, project_tracker
from rmtc.server.routes._common import RefParam, attachment
from rmtc.server.thumbnails import Thumbnailer
from rmtc.services.lineage import KIND_COLOURS

router = APIRouter(tags=["entities"])
Viewer = Annotated[Tracker, Depends(project_tracker(Role.viewer))]

_CHUNK = 1 << 20
_LOOKS_LIKE_ID = re.compile(r"^[0-9a-fA-F-]{8,36}$")
_EXTENSIONS = {"safetensors": ".safetensors", "torchscript": ".pt", "onnx": ".onnx", "cat": ".cat"}


@router.get("/kinds")
def kinds(t: Viewer) -> dict[str, Any]:
    """Every kind of entity and its colour in graphs (the DOT export's and the report's colours)."""
    return {"kinds": [k.value for k in Kind], "colours": KIND_COLOURS}


@router.get("/entities")
def search(
    t: Viewer,
    q: Annotated[str, Query(max_length=500, description="Part of a name, or a reference")] = "",
    kind: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict[str, Any]:
    """Entities whose name contains ``q`` (any kind, or ``kind``), oldest first, a page at a time.

    A ``q`` that reads as a reference (``model_version:matte@production``, a UUID or a prefix of one)
    also finds the entity it names.
    """
    wanted = Kind.parse(kind) if kind else None
    items: list[Entity] = []
    if q and cursor is None and (":" in q or _LOOKS_LIKE_ID.match(q)):
        try:
            named = t.resolve(q)
            if wanted is None or named.kind is wanted:
                items.append(named)
        except (NotFound, AmbiguousReference, InvalidInput):
            pass
    page = t.find(wanted, name_like=q or None, limit=limit, cursor=cursor)
    items += [e for e in page.items if all(e.id != x.id for x in items)]
    flags = t.store.get_flags([e.id for e in items])
    return {
        "items": [{**e.to_json(), "label": e.label, "flags": flags.get(e.id, {})} for e in items],
        "next": page.next_cursor,
    }


@router.get("/entities/{ref}")
def show(ref: RefParam, t: Viewer) -> dict[str, Any]:
    """One entity as ``rmtc show REF --json`` prints it (fields, flags, edges, run state), with its
    label and aliases."""
    e = t.resolve(ref)
    return {**e.to_json(), **details(t, e), "label": e.label, "aliases": t.store.aliases_of(e.id)}


def files_of(e: Entity) -> list[dict[str, Any]]:
    """The blobs an entity names, each with the file name a download gets."""
    base = e.name.replace("\\", "/").rsplit("/", 1)[-1]
    if isinstance(e, Asset):
        if e.storage != "copy" or not e.content_hash:
            return []
        return [{"digest": e.content_hash, "filename": base, "role": "asset", "size": e.size}]
    if isinstance(e, Weights | Checkpoint) and e.content_hash:
        return [{"digest": e.content_hash, "filename": base, "role": e.kind.value, "size": e.size}]
    if isinstance(e, ModelVersion):
        return [
            {
                "digest": digest,
                "filename": f"{base}-v{e.version}{_EXTENSIONS.get(fmt, '.' + re.sub(r'[^a-z0-9]', '', fmt))}",
                "role": f"variant {fmt}",
                "size": None,
            }
            for fmt, digest in sorted(e.variants.items())
        ]
    return []


@router.get("/entities/{ref}/files")
def files(ref: RefParam, t: Viewer) -> dict[str, Any]:
    """The files of an entity that this store holds, to download one by one."""
    e = t.resolve(ref)
    found = []
    for f in files_of(e):
        if t.blobs.exists(f["digest"]):
            found.append({**f, "size": f["size"] if f["size"] is not None else t.blobs.size(f["digest"])})
    return {"entity": {"id": str(e.id), "kind": e.kind.value, "label": e.label}, "files": found}


@router.get("/entities/{ref}/files/{digest}")
def download(
    ref: RefParam, digest: Annotated[str, Path(min_length=8, max_length=128)], t: Viewer
) -> StreamingResponse:
    """One file of an entity, as an attachment, after re-hashing it (nothing corrupt is ever served)."""
    e = t.resolve(ref)
    match = next((f for f in files_of(e) if f["digest"] == digest), None)
    if match is None:
        raise NotFound(f"{e.label} has no file {digest[:80]}", hint="list them with GET …/files")
    if not t.blobs.verify(digest):
        raise IntegrityError(
            f"the bytes of {e.label} no longer hash to {digest}; not served",
            hint="run `rmtc verify`, then restore the blob from its source or a backup",
        )
    stream = t.blobs.open(digest, verify=True)

    def chunks() -> Iterator[bytes]:
        with stream:
            while block := stream.read(_CHUNK):
                yield block

    headers = {**attachment(match["filename"]), "Content-Length": str(t.blobs.size(digest))}
    return StreamingResponse(chunks(), media_type="application/octet-stream", headers=headers)


@router.get("/entities/{ref}/thumbnail", response_class=FileResponse)
def thumbnail(ref: RefParam, t: Viewer, request: Request) -> FileResponse:
    """A PNG thumbnail of an image asset, decoded in a sandboxed worker process and cached by hash."""
    e = t.resolve(ref)
    if not isinstance(e, Asset):
        raise InvalidInput(f"{e.label} is a {e.kind.value}, not an image asset", hint="ask for an asset")
    png = _thumbnailer(request).png(t.blobs, e)
    return FileResponse(png, media_type="image/png", headers={"Cache-Control": "private, max-age=86400"})


_THUMBNAILER_LOCK = threading.Lock()


def _thumbnailer(request: Request) -> Thumbnailer:
    """The app's one thumbnailer (its cache and its limit on concurrent decodes), made on first use."""
    state = request.app.state
    with _THUMBNAILER_LOCK:
        thumbnailer = getattr(state, "rmtc_thumbnailer", None)
        if thumbnailer is None:
            thumbnailer = state.rmtc_thumbnailer = Thumbnailer()
    return thumbnailer
