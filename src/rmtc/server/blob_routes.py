"""``/api/v1/blobs/…``: the :class:`~rmtc.blobs.protocol.BlobStore` over HTTP.

Uploads stream: the body goes straight into the server's blob store (a temp file in the store's own
directory, hashed while written, fsynced, renamed under its hash) and the answer is sent only once
the blob is durable, so an acknowledged upload survives a crash and an interrupted one leaves no
blob. Downloads re-hash the blob before the first byte is sent; a corrupt blob is never served.

Blob names are digests computed by rmtc, checked before anything touches the filesystem. Blobs are
content-addressed and shared by every project (the same bytes are stored once): reading one needs a
token (``viewer``), storing one ``artist``; listing and deleting (purge) need ``admin``.
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.requests import ClientDisconnect

from rmtc.blobs._common import check_digest, corrupt
from rmtc.errors import IntegrityError, InvalidInput
from rmtc.server.deps import Principal, Role, ServerContext
from rmtc.server.deps import require as _require
from rmtc.server.errors import error_response

router = APIRouter(prefix="/api/v1/blobs", tags=["blobs"])
viewer = Depends(_require(Role.viewer))
artist = Depends(_require(Role.artist))
admin = Depends(_require(Role.admin))
EXPECTED_HEADER = "x-rmtc-expected-digest"
DIGEST_HEADER = "X-Rmtc-Digest"
CHUNK = 1 << 20


class PayloadTooLarge(InvalidInput):
    """A body over the service's limit (413; clients raise it as ``InvalidInput``)."""

    http_status = 413


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the upload is larger than this service accepts ({limit} bytes)",
        hint="ask the admin to raise the limit (ServerSettings.max_blob_size)",
    )


class _BodyReader(io.RawIOBase):
    """The request body as a blocking stream, for the blob store running in a worker thread: each
    ``readinto`` pulls the next chunk from the event loop. Refuses bytes beyond ``limit``."""

    def __init__(self, chunks: AsyncIterator[bytes], limit: int):
        super().__init__()
        self._chunks = chunks
        self._limit = limit
        self._pending = memoryview(b"")
        self._total = 0
        self._done = False

    def readable(self) -> bool:
        return True

    async def _next(self) -> bytes:
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            return b""

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._pending and not self._done:
            chunk = anyio.from_thread.run(self._next)
            if not chunk:
                self._done = True
            self._total += len(chunk)
            if self._total > self._limit:
                raise too_large(self._limit)
            self._pending = memoryview(chunk)
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _ctx(principal: Principal) -> ServerContext:
    assert principal.context is not None
    return principal.context


@router.post("", status_code=201)
async def upload(request: Request, principal: Principal = artist) -> Response:
    """Store the request body as a blob (``X-Rmtc-Expected-Digest``: refuse other bytes)."""
    ctx = _ctx(principal)
    expected = request.headers.get(EXPECTED_HEADER)
    if expected is not None:
        check_digest(expected, "expected digest")
    limit = ctx.settings.max_blob_size
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise too_large(limit)
    reader = _BodyReader(request.stream().__aiter__(), limit)
    put = functools.partial(ctx.blobs.put_stream, reader, expected_digest=expected)  # type: ignore[arg-type]
    try:
        info = await anyio.to_thread.run_sync(put)
    except ClientDisconnect:
        return Response(status_code=400)
    except IntegrityError as exc:  # the client's bytes missed its expected digest: its error, not ours
        return error_response(exc, 422)
    return JSONResponse(
        {"digest": info.digest, "size": info.size, "created": info.created},
        status_code=201 if info.created else 200,
    )


@router.get("")
def list_digests(principal: Principal = admin) -> StreamingResponse:
    """Every stored blob's digest, one JSON string per line."""
    blobs = _ctx(principal).blobs

    def lines() -> Iterator[bytes]:
        for digest in blobs.iter_digests():
            yield (json.dumps(digest) + "\n").encode()

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.get("/{digest}")
def download(digest: str, principal: Principal = viewer) -> StreamingResponse:
    """The blob's bytes, re-hashed before the first byte is sent (500 ``integrity`` if corrupt)."""
    blobs = _ctx(principal).blobs
    check_digest(digest)
    if not blobs.verify(digest):
        raise corrupt(digest, "the service's blob store")
    size = blobs.size(digest)
    stream = blobs.open(digest, verify=True)

    def chunks() -> Iterator[bytes]:
        with stream:
            while piece := stream.read(CHUNK):
                yield piece

    return StreamingResponse(
        chunks(),
        media_type="application/octet-stream",
        headers={
            "Content-Length": str(size),
            DIGEST_HEADER: digest,
            "Content-Disposition": f'attachment; filename="{digest}"',
        },
    )


@router.get("/{digest}/size")
def size(digest: str, principal: Principal = viewer) -> JSONResponse:
    check_digest(digest)
    return JSONResponse({"digest": digest, "size": _ctx(principal).blobs.size(digest)})


@router.post("/{digest}/verify")
def verify(digest: str, principal: Principal = viewer) -> JSONResponse:
    check_digest(digest)
    return JSONResponse({"digest": digest, "ok": _ctx(principal).blobs.verify(digest)})


@router.delete("/{digest}")
def delete(digest: str, principal: Principal = admin) -> JSONResponse:
    check_digest(digest)
    return JSONResponse({"digest": digest, "deleted": _ctx(principal).blobs.delete(digest)})
