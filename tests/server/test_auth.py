"""Users and tokens: stored only hashed, no default credentials, a revoked token fails at once, and the
CLI that manages them."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest
import sqlalchemy as sa

from rmtc.cli.main import main
from rmtc.errors import Conflict, InvalidInput, NotFound, Unauthorized
from rmtc.store.remote import open_remote
from rmtc.store.sql.auth import AuthStore, Role
from rmtc.testing.fixtures import open_store


@pytest.fixture
def auth(store):
    return AuthStore(store.database)


def test_a_token_is_stored_only_as_the_sha256_of_its_secret(auth, store):
    auth.add_user("ana", Role.artist, ["show"])
    info, token = auth.create_token("ana", "laptop")
    secret = token.split("_", 2)[2]
    with store.database.engine.connect() as conn:
        rows = [tuple(str(v) for v in r) for r in conn.execute(sa.text("SELECT * FROM tokens"))]
    assert len(secret) == 43 and not any(secret in v for row in rows for v in row)
    assert hashlib.sha256(secret.encode()).hexdigest() in rows[0]
    assert auth.authenticate(token).name == "ana"
    assert auth.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert auth.authenticate(f"rmtc_{info.id}_{'x' * 43}") is None


def test_when_users_are_added_then_names_roles_and_scopes_are_checked(auth):
    user = auth.add_user("ben", Role.viewer, ["show", "show", " "])
    assert (user.role, user.projects) == (Role.viewer, frozenset({"show"}))
    with pytest.raises(Conflict):
        auth.add_user("ben", Role.admin)
    for bad in ("", "../etc", "a b", "x" * 65, "-lead"):
        with pytest.raises(InvalidInput):
            auth.add_user(bad, Role.viewer)
    with pytest.raises(InvalidInput):
        auth.add_user("cy", Role.viewer, [])
    with pytest.raises(InvalidInput):
        Role.parse("root")
    with pytest.raises(NotFound):
        auth.create_token("nobody")


def test_a_fresh_service_has_no_users_so_no_credential_works(tmp_path):
    from rmtc.server.app import create_app
    from rmtc.server.settings import ServerSettings
    from rmtc.testing.server import prepare_store

    url = f"sqlite:///{tmp_path / 'rmtc.db'}"
    prepare_store(url, tmp_path / "blobs")
    store = open_store(url)
    try:
        assert AuthStore(store.database).users() == []
    finally:
        store.close()
    app = create_app(ServerSettings(store=url, blobs=str(tmp_path / "blobs")))
    app.state.rmtc.close()


def test_a_revoked_token_fails_on_the_very_next_request(served):
    token = served.make_token(Role.viewer, user="vic")
    remote = open_remote(served.url, token=token)
    try:
        assert remote.info()["user"] == "vic"
        token_id = token.split("_")[1]
        assert served.auth.revoke_token(token_id).revoked_at is not None
        with pytest.raises(Unauthorized):
            remote.schema_version()
    finally:
        remote.close()
    answer = httpx.get(f"{served.url}/api/v1/store/info", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401 and token not in answer.text


def test_users_and_tokens_through_the_cli(served, capsys, monkeypatch):
    monkeypatch.delenv("RMTC_TOKEN", raising=False)
    store = ["--store", served.settings.store]
    assert main([*store, "user", "add", "ana", "--role", "artist", "--project", "show"]) == 0
    capsys.readouterr()
    assert main([*store, "user", "ls", "--json"]) == 0
    users = {u["name"]: u for u in json.loads(capsys.readouterr().out)}
    assert users["ana"] == {"name": "ana", "role": "artist", "projects": ["show"]}
    assert main([*store, "token", "create", "ana", "--name", "laptop", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    remote = open_remote(served.url, token=created["token"])
    try:
        assert remote.info()["projects"] == ["show"]
        assert main([*store, "token", "ls", "--json"]) == 0
        listed = capsys.readouterr().out
        assert created["id"] in listed and created["token"] not in listed
        assert main([*store, "token", "revoke", created["id"]]) == 0
        with pytest.raises(Unauthorized):
            remote.schema_version()
    finally:
        remote.close()
    assert main([*store, "user", "add", "ana", "--role", "admin"]) == 4
    assert main([*store, "token", "revoke", "0000000000000000"]) == 3
    assert main(["--store", served.url, "user", "ls"]) == 7  # not through the service
