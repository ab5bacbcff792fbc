"""Resource limits and response headers: oversize bodies get 413 (never a 5xx), the health check
answers while every upload is stuck, and every response carries the security headers."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from rmtc.blobs.remote import open_remote_blobs
from rmtc.errors import InvalidInput
from rmtc.store.remote import open_remote
from rmtc.store.types import EntityQuery
from rmtc.testing.server import serve_store


@pytest.fixture
def small(tmp_path):
    live = serve_store(
        f"sqlite:///{tmp_path / 'rmtc.db'}", tmp_path / "blobs", max_json_body=4096, max_blob_size=10_000
    )
    yield live
    live.stop()


def test_oversize_json_and_uploads_are_refused_with_413_and_nothing_is_stored(small):
    auth = {"Authorization": f"Bearer {small.admin_token}"}
    big = b'{"query": {"name": "' + b"x" * 5000 + b'"}}'
    answer = httpx.post(f"{small.url}/api/v1/store/entities/find", content=big, headers=auth)
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "invalid_input"

    def chunked() -> Iterator[bytes]:
        yield b"x" * 4000
        yield b"y" * 4000

    answer = httpx.post(f"{small.url}/api/v1/store/entities/find", content=chunked(), headers=auth)
    assert answer.status_code == 413
    blobs = open_remote_blobs(small.url, token=small.admin_token)
    with pytest.raises(InvalidInput, match="larger than this service accepts"):
        blobs.put_bytes(b"z" * 20_000)
    assert blobs.put_bytes(b"z" * 9_000).size == 9_000
    assert len(list(blobs.iter_digests())) == 1
    remote = open_remote(small.url, token=small.admin_token)
    try:
        assert remote.count_entities(EntityQuery()) == 0
    finally:
        remote.close()


def test_malformed_bodies_are_422_in_the_one_error_shape(served):
    auth = {"Authorization": f"Bearer {served.admin_token}", "Content-Type": "application/json"}
    for body in (b"not json", b"[]", b'{"entities": 5}', b'{"entities": [{"id": "x"}]}', b"{" * 1000):
        answer = httpx.post(f"{served.url}/api/v1/store/write", content=body, headers=auth)
        assert answer.status_code == 422, body
        assert set(answer.json()["error"]) == {"code", "message", "hint", "details"}


def test_the_health_check_answers_while_every_upload_is_stuck(served):
    # More stuck uploads than the server's worker threads (anyio's default: 40).
    n = 45
    release = threading.Event()
    started = threading.Barrier(n + 1)

    def stuck() -> Iterator[bytes]:
        yield b"first piece"
        started.wait(timeout=60)
        release.wait(timeout=60)
        yield b"last piece"

    def upload() -> None:
        httpx.post(
            f"{served.url}/api/v1/blobs",
            content=stuck(),
            headers={"Authorization": f"Bearer {served.admin_token}"},
            timeout=120,
        )

    uploads = [threading.Thread(target=upload) for _ in range(n)]
    for t in uploads:
        t.start()
    try:
        started.wait(timeout=60)
        answer = httpx.get(f"{served.url}/api/v1/health", timeout=30)
        assert answer.status_code == 200 and answer.json()["status"] == "ok"
    finally:
        release.set()
        for t in uploads:
            t.join(timeout=120)


@pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1/store/info", "/docs", "/no/such/route"])
def test_every_response_carries_the_security_headers(served, path):
    answer = httpx.get(served.url + path)
    csp = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    if path != "/docs":
        assert "'unsafe-inline'" not in csp
    if path.startswith("/api/"):
        assert answer.headers["cache-control"] == "no-store"
    assert "server" not in answer.headers


def test_the_openapi_document_lists_the_store_and_blob_routes(served):
    doc = httpx.get(f"{served.url}/openapi.json").json()
    assert {"/api/v1/store/write", "/api/v1/blobs/{digest}", "/api/v1/health"} <= set(doc["paths"])
    assert httpx.get(f"{served.url}/docs").status_code == 200
