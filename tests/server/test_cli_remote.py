"""Every CLI command works unchanged against the service: ``--store http://…`` and ``RMTC_TOKEN``."""

from __future__ import annotations

import os
from pathlib import Path

from rmtc.store.sql.auth import Role


def _plate(folder: Path, name: str = "plate", n: int = 2) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"{name}.{1001 + i}.exr").write_bytes(os.urandom(1024))
    return str(folder / f"{name}.####.exr")


def test_ingest_ls_trace_and_rights_through_the_service(remote_cli, served, tmp_path):
    admin = served.admin_token
    remote_cli("talent", "add", "ava", token=admin)
    remote_cli("license", "add", "plates", "--grants", "training", "--party", "ava", token=admin)
    ingest = remote_cli.json(
        "ingest",
        _plate(tmp_path / "sh010", "ava"),
        "--talent",
        "ava",
        "--license",
        "plates",
        "--dataset",
        "beauty",
        token=admin,
    )
    assert ingest["created"] == 2
    remote_cli("dataset", "snapshot", "beauty", token=admin)
    viewer = served.make_token(Role.viewer)
    listed = remote_cli.json("ls", "asset", token=viewer)["items"]
    assert sorted(a["name"] for a in listed) == ["ava.1001.exr", "ava.1002.exr"]
    trace = remote_cli.json("trace", "dataset:beauty@1", "--up", token=viewer)
    assert {"asset", "party", "license"} <= {n["kind"] for n in trace["nodes"]}
    rights = remote_cli.json("rights", "dataset:beauty@1", token=viewer)
    assert "training" in rights["held"]
    assert remote_cli.json("contains", "dataset:beauty@1", "ava", token=viewer)["contains"] is True
    assert remote_cli.json("verify", token=admin)["ok"] is True


def test_every_write_is_attributed_to_the_tokens_user_not_the_client(remote_cli, served, monkeypatch):
    artist = served.make_token(Role.artist, user="ana")
    monkeypatch.setenv("RMTC_USER", "somebody-else")
    remote_cli("talent", "add", "ava", token=artist)
    log = remote_cli.json("log", token=served.admin_token)
    assert [(e["action"], e["actor"]) for e in log] == [("party.add", "ana")]
    shown = remote_cli.json("show", "party:ava", token=artist)
    assert shown["created_by"] == "ana"


def test_without_a_token_or_with_too_weak_a_role_the_cli_says_so_in_one_line(remote_cli, served, tmp_path):
    _, err = remote_cli("ls", "asset", token="", expect=7)
    assert "needs an API token" in err and "RMTC_TOKEN" in err and "Traceback" not in err
    viewer = served.make_token(Role.viewer, user="vic")
    _, err = remote_cli("talent", "add", "ava", token=viewer, expect=7)
    assert "'vic' is a viewer" in err and len(err.strip().splitlines()) == 1
    _, err = remote_cli("ls", "asset", token="rmtc_0123456789abcdef_" + "x" * 43, expect=7)
    assert "malformed, unknown or revoked" in err
