"""The service as a child process: SIGKILLed in the middle of an upload it leaves no partial blob and a
retry succeeds; and whatever clients send, its log never holds a token."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from rmtc.blobs._common import TEMP_DIR
from rmtc.blobs.local import open_local
from rmtc.blobs.remote import open_remote_blobs
from rmtc.core.hashing import hash_bytes
from rmtc.errors import StoreError, Unauthorized
from rmtc.server.settings import ServerSettings
from rmtc.store.remote import open_remote
from rmtc.store.sql.auth import Role
from rmtc.testing.server import LiveServer, prepare_store


@pytest.fixture
def child(tmp_path) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path / 'rmtc.db'}"
    prepare_store(url, tmp_path / "blobs")
    live = LiveServer.spawn(
        ServerSettings(store=url, blobs=str(tmp_path / "blobs")), log=tmp_path / "server.log"
    )
    yield live
    live.stop()


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


def test_when_the_service_is_killed_mid_upload_then_no_blob_half_exists_and_the_retry_succeeds(
    child, tmp_path
):
    data = os.urandom(10 << 20)
    digest = hash_bytes(data)
    half_sent = threading.Event()
    never = threading.Event()

    def interrupted() -> Iterator[bytes]:
        yield data[: 6 << 20]  # more than the store's 4 MiB copy buffer: some bytes reach the disk
        half_sent.set()
        never.wait(timeout=120)
        yield data[6 << 20 :]

    blobs = open_remote_blobs(child.url, token=child.admin_token)
    failure: list[BaseException] = []

    def upload() -> None:
        try:
            blobs._request("POST", "/api/v1/blobs", content=interrupted())
        except BaseException as exc:
            failure.append(exc)

    uploading = threading.Thread(target=upload)
    uploading.start()
    temp = tmp_path / "blobs" / TEMP_DIR
    _wait_for(lambda: half_sent.is_set() and any(p.stat().st_size > 0 for p in temp.glob("*")), "the upload")
    child.kill()
    never.set()
    uploading.join(timeout=120)
    assert len(failure) == 1 and isinstance(failure[0], StoreError)
    served = open_local(tmp_path / "blobs")
    assert list(served.iter_digests()) == [] and not served.exists(digest)

    child.respawn()
    assert blobs.put_bytes(data).digest == digest
    assert blobs.read_bytes(digest) == data and served.verify(digest)


def test_tokens_never_appear_in_the_services_log(tmp_path):
    url = f"sqlite:///{tmp_path / 'rmtc.db'}"
    prepare_store(url, tmp_path / "blobs")
    log = tmp_path / "server.log"
    live = LiveServer.spawn(
        ServerSettings(store=url, blobs=str(tmp_path / "blobs")), log=log, log_level="debug"
    )
    try:
        viewer = live.make_token(Role.viewer)
        revoked = live.make_token(Role.artist)
        live.auth.revoke_token(revoked.split("_")[1])
        secrets = [live.admin_token, viewer, revoked]
        for token in secrets:
            headers = {"Authorization": f"Bearer {token}"}
            httpx.get(f"{live.url}/api/v1/store/info", headers=headers)
            httpx.get(f"{live.url}/api/v1/store/info?token={token}&access_token={token}", headers=headers)
            httpx.get(f"{live.url}/api/v1/store/entities/{token}", headers=headers)
            httpx.post(f"{live.url}/api/v1/store/write", content=token.encode(), headers=headers)
            httpx.get(f"{live.url}/api/v1/blobs/{token}", headers={"Authorization": token})
        remote = open_remote(live.url, token=viewer)
        remote.close()
        with pytest.raises(Unauthorized):
            open_remote(live.url, token=revoked)
    finally:
        live.stop()
    text = log.read_text()
    assert "GET /api/v1/store/info" in text  # the access log was written at all
    for token in secrets:
        assert token.split("_", 2)[2] not in text
