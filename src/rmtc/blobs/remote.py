"""The blob store behind an rmtc service (``http``/``https`` in the ``rmtc.blobs`` entry-point group).

Uploads stream in 1 MiB pieces, hashed here while sent; the service stores them atomically (temp file
in its store's directory, fsync, rename) before answering, and the digest it answers must equal the
one computed here. Downloads are re-hashed by the service before it serves them and, with
``verify``, here as well, so neither a damaged disk nor a damaged transfer hands over wrong bytes.
Names are checked (64 lowercase hex) before any request is made. The token is ``RMTC_TOKEN``.
"""

from __future__ import annotations

import io
import json
import os
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, cast
from urllib.parse import urlsplit, urlunsplit

from rmtc.blobs._common import (
    ReadInto,
    check_digest,
    corrupt,
    mismatch,
    open_source,
    stream_reader,
    verifying,
)
from rmtc.blobs.protocol import BlobInfo
from rmtc.core.hashing import hash_bytes, hasher
from rmtc.errors import InvalidInput, NotFound, RmtcError, StoreError

if TYPE_CHECKING:
    import httpx

ENV_TOKEN = "RMTC_TOKEN"  # noqa: S105 - a variable name, not a secret
PIECE = 1 << 20
BLOBS = "/api/v1/blobs"


class RemoteBlobStore:
    """Blobs kept by the service at ``url``."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 300.0):
        import httpx

        self.url = _safe_url(url)
        self._httpx = httpx
        secret = (token or os.environ.get(ENV_TOKEN, "")).strip()
        headers = {"User-Agent": "rmtc-remote"}
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
        local = urlsplit(self.url).hostname in ("127.0.0.1", "localhost", "::1")
        self._client = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            trust_env=not local,
            follow_redirects=False,
        )
        # The BlobStore protocol has no close(): the connections go when the store does.
        weakref.finalize(self, self._client.close)

    def __repr__(self) -> str:
        return f"RemoteBlobStore({self.url!r})"

    def close(self) -> None:
        self._client.close()

    # -- writing -------------------------------------------------------------------------------------
    def put_file(self, path: str | os.PathLike[str], *, expected_digest: str | None = None) -> BlobInfo:
        if expected_digest is not None:
            check_digest(expected_digest, "expected digest")
        f, unchanged, read = open_source(path)
        with f:
            info = self._upload(read, expected_digest)
            unchanged(info.size)
        return info

    def put_files(self, paths: Sequence[str | os.PathLike[str]]) -> list[BlobInfo | RmtcError]:
        results: list[BlobInfo | RmtcError] = []
        for path in paths:
            try:
                results.append(self.put_file(path))
            except RmtcError as exc:
                results.append(exc)
        return results

    def put_stream(self, stream: BinaryIO, *, expected_digest: str | None = None) -> BlobInfo:
        if expected_digest is not None:
            check_digest(expected_digest, "expected digest")
        return self._upload(stream_reader(stream), expected_digest)

    def put_bytes(self, data: bytes) -> BlobInfo:
        return self._upload(io.BytesIO(data).readinto, None)

    def _upload(self, readinto: ReadInto, expected: str | None) -> BlobInfo:
        h = hasher()
        sent = 0

        def pieces() -> Iterator[bytes]:
            nonlocal sent
            buffer = bytearray(PIECE)
            view = memoryview(buffer)
            while n := readinto(view):
                h.update(view[:n])
                sent += n
                yield bytes(view[:n])

        headers = {"Content-Type": "application/octet-stream"}
        if expected is not None:
            headers["X-Rmtc-Expected-Digest"] = expected
        data = self._request("POST", BLOBS, content=pieces(), headers=headers).json()
        digest = h.hexdigest()
        if data.get("digest") != digest or data.get("size") != sent:
            raise mismatch(digest, str(data.get("digest")))
        return BlobInfo(digest, sent, bool(data.get("created")))

    # -- reading -------------------------------------------------------------------------------------
    def open(self, digest: str, *, verify: bool = False) -> BinaryIO:
        check_digest(digest)
        request = self._client.build_request("GET", f"{BLOBS}/{digest}")
        try:
            response = self._client.send(request, stream=True)
        except self._httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        try:
            _raise_for_error(response, self.url)
        except BaseException:
            response.close()
            raise
        raw = _ResponseReader(response, self._unreachable)
        if not verify:
            return cast(BinaryIO, io.BufferedReader(raw))
        size = int(response.headers.get("content-length", "-1"))
        return verifying(cast(BinaryIO, raw), digest, size, self.url)

    def read_bytes(self, digest: str, *, verify: bool = True) -> bytes:
        check_digest(digest)
        data = self._request("GET", f"{BLOBS}/{digest}").content
        if verify and hash_bytes(data) != digest:
            raise corrupt(digest, self.url)
        return data

    def exists(self, digest: str) -> bool:
        try:
            self.size(digest)
        except NotFound:
            return False
        return True

    def size(self, digest: str) -> int:
        check_digest(digest)
        return int(self._request("GET", f"{BLOBS}/{digest}/size").json()["size"])

    def verify(self, digest: str) -> bool:
        check_digest(digest)
        return bool(self._request("POST", f"{BLOBS}/{digest}/verify").json()["ok"])

    def delete(self, digest: str) -> bool:
        check_digest(digest)
        return bool(self._request("DELETE", f"{BLOBS}/{digest}").json()["deleted"])

    def iter_digests(self) -> Iterator[str]:
        with self._client.stream("GET", BLOBS) as response:
            _raise_for_error(response, self.url)
            for line in response.iter_lines():
                if line.strip():
                    yield check_digest(json.loads(line))

    def local_path(self, digest: str) -> str | None:
        check_digest(digest)
        return None

    # -- transport -------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, path, **kwargs)
        except self._httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        _raise_for_error(response, self.url)
        return response

    def _unreachable(self, exc: Exception) -> StoreError:
        return StoreError(
            f"cannot reach the rmtc service at {self.url}: {type(exc).__name__}: {exc}",
            hint="check the URL and that `rmtc serve` is running there; then retry",
        )


class _ResponseReader(io.RawIOBase):
    """A streamed response body as a raw binary stream (closing it closes the response)."""

    def __init__(self, response: httpx.Response, unreachable: Callable[[Exception], StoreError]):
        super().__init__()
        self._response = response
        self._pieces = response.iter_raw(PIECE)
        self._pending = memoryview(b"")
        self._unreachable = unreachable

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        import httpx

        view = memoryview(buffer).cast("B")
        while not self._pending:
            try:
                self._pending = memoryview(next(self._pieces))
            except StopIteration:
                return 0
            except httpx.HTTPError as exc:
                raise self._unreachable(exc) from None
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        try:
            self._response.close()
        finally:
            super().close()


def _raise_for_error(response: httpx.Response, url: str) -> None:
    if response.status_code < 400:
        return
    try:
        response.read()
        data = response.json()["error"]
        if not isinstance(data, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise StoreError(
            f"the rmtc service at {url} answered HTTP {response.status_code}", hint="check the service's log"
        ) from None
    raise RmtcError.from_dict(data)


def _safe_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"{url!r} is not a service URL", hint="write http(s)://host:port")
    netloc = f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def open_remote_blobs(url: str, *, create: bool = False, token: str | None = None) -> RemoteBlobStore:
    """The blob store of the service at ``url`` (``create`` changes nothing: the service owns it)."""
    return RemoteBlobStore(url, token)
