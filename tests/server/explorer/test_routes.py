"""The domain routes over HTTP against a real service (no browser): roles and project scopes, the JSON
the CLI prints, attachments, thumbnails decoded in a sandbox, and hostile input never giving a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import rmtc
from rmtc.cli.main import app as cli
from rmtc.core.hashing import hash_bytes
from rmtc.store.sql.auth import Role

from .conftest import Site, serve_graph


@pytest.fixture(scope="module")
def api_site(tmp_path_factory: pytest.TempPathFactory, thumbnail_cache: Path) -> Iterator[Site]:
    yield from serve_graph(tmp_path_factory.mktemp("api"))


@pytest.fixture
def admin(api_site: Site) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {api_site.live.admin_token}"}
    with httpx.Client(base_url=api_site.api(""), headers=headers, timeout=60) as client:
        yield client


def client_for(site: Site, role: Role, projects: tuple[str, ...] = ("*",)) -> httpx.Client:
    token = site.live.make_token(role, projects)
    return httpx.Client(base_url=site.api(""), headers={"Authorization": f"Bearer {token}"}, timeout=60)


def cli_json(site: Site, *args: str) -> Any:
    store = site.live.settings.store
    result = CliRunner().invoke(cli, ["--store", store, "--blobs", str(site.live.settings.blobs), *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_when_no_token_is_sent_then_every_domain_route_answers_401(api_site: Site):
    mv = api_site.show.model_version.id
    for path in ("entities", f"entities/{mv}", f"lineage/{mv}", f"rights/{mv}", f"reports/{mv}"):
        assert httpx.get(api_site.api(path)).status_code == 401


def test_when_another_projects_token_asks_then_the_entity_does_not_exist(api_site: Site):
    mv = api_site.show.model_version.id
    with client_for(api_site, Role.admin, ("other",)) as other:
        assert other.get(f"entities/{mv}").status_code == 404
        assert other.get(f"rights/{mv}").status_code == 404
        scoped = other.get(api_site.live.url + f"/api/v1/p/other/entities/{mv}")
        assert scoped.status_code == 404
        assert scoped.json()["error"]["code"] == "not_found"


def test_when_an_entity_is_shown_then_it_is_what_rmtc_show_json_prints(api_site: Site, admin: httpx.Client):
    mv = api_site.show.model_version
    body = admin.get("entities/model_version:matte@production").json()
    printed = cli_json(api_site, "show", str(mv.id), "--json")
    assert body == {**printed, "label": "model_version:matte@1", "aliases": ["production"]}


def test_when_run_metrics_are_asked_then_the_series_are_those_of_rmtc_run_show(api_site: Site, admin):
    body = admin.get("runs/run:train-matte/metrics").json()
    printed = cli_json(api_site, "run", "show", "run:train-matte", "--json")
    assert body["series"] == printed["series"] and body["status"] == "finished"
    assert admin.get("runs/run:train-matte/metrics", params={"keys": "loss"}).json()["series"].keys() == {
        "loss"
    }


def test_when_rights_and_contains_are_asked_then_the_cli_answers_come_back(api_site: Site, admin):
    mv = str(api_site.show.model_version.id)
    body = admin.get(f"rights/{mv}").json()
    printed = cli_json(api_site, "rights", mv, "--json")
    assert {k: body[k] for k in printed} == printed
    assert {x["name"]: x["status"] for x in body["license_status"]}["ava-agreement"] == "active"
    check = admin.get(f"rights/{mv}", params={"right": "inference"}).json()
    assert check["allowed"] is False and check["right"] == "inference"
    contains = admin.get(f"contains/{mv}", params={"talent": "ava_reyes"}).json()
    assert contains == cli_json(api_site, "contains", mv, "ava_reyes", "--json")
    assert contains["contains"] is True


def test_when_the_graph_is_asked_then_edges_join_its_nodes_and_problems_are_marked(api_site: Site, admin):
    show = api_site.show
    body = admin.get(f"lineage/{show.model_version.id}", params={"direction": "up"}).json()
    ids = {n["id"] for n in body["nodes"]}
    assert {str(show.ava.id), str(show.marcus.id), str(show.run.id)} <= ids
    assert body["edges"] and all(e["src"] in ids and e["dst"] in ids for e in body["edges"])
    member = next(e for e in body["edges"] if e["relation"] == "member_of")
    assert member["upstream"] == "src"
    problems = {n["name"]: n["problems"] for n in body["nodes"]}
    assert "withholds" in problems["marcus_cole"]
    small = admin.get(f"lineage/{show.model_version.id}", params={"depth": 1, "limit": 1}).json()
    assert len(small["nodes"]) == 1 and small["truncated"] is True


def test_when_searching_then_pages_follow_each_other_without_repeats(admin: httpx.Client):
    first = admin.get("entities", params={"kind": "asset", "limit": 3}).json()
    second = admin.get("entities", params={"kind": "asset", "limit": 3, "cursor": first["next"]}).json()
    names = [e["name"] for e in first["items"] + second["items"]]
    assert len(names) == len(set(names)) == 6


def test_when_a_file_is_downloaded_then_it_is_an_attachment_of_the_entitys_own_bytes(api_site: Site, admin):
    weights = api_site.show.weights
    listed = admin.get(f"entities/{weights.id}/files").json()["files"]
    assert [f["filename"] for f in listed] == ["matte.safetensors"]
    response = admin.get(f"entities/{weights.id}/files/{weights.content_hash}")
    assert response.headers["content-disposition"].startswith('attachment; filename="matte.safetensors"')
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == api_site.tracker.blobs.read_bytes(weights.content_hash)
    frame = api_site.show.ava_frames[0].content_hash
    assert admin.get(f"entities/{weights.id}/files/{frame}").status_code == 404


def test_when_a_report_is_downloaded_then_it_is_an_attachment_never_rendered(api_site: Site, admin):
    response = admin.get("reports/model_version:matte@1", params={"format": "html"})
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in response.headers["content-security-policy"]
    assert json.loads(admin.get("reports/model_version:matte@1", params={"format": "json"}).text)["rights"]
    assert admin.get("reports/model_version:matte@1", params={"format": "exe"}).status_code == 422


def test_when_revoke_is_asked_then_a_dry_run_is_open_to_viewers_and_applying_needs_an_admin(api_site: Site):
    body = {"target": "party:ava_reyes", "reason": "test", "dry_run": True}
    with client_for(api_site, Role.viewer) as viewer, client_for(api_site, Role.artist) as artist:
        impact = viewer.post("revoke", json=body).json()
        assert impact["applied"] is False
        assert [m["label"] for m in impact["impact"]["model_versions"]] == ["model_version:matte@1"]
        refused = artist.post("revoke", json={**body, "dry_run": False})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert api_site.tracker.store.get_flags([api_site.show.ava_agreement.id]) == {}


def test_when_an_image_asset_is_thumbnailed_then_a_small_png_comes_back_and_is_cached(
    api_site: Site, admin: httpx.Client, thumbnail_cache: Path
):
    frame = api_site.show.ava_frames[1]
    response = admin.get(f"entities/{frame.id}/thumbnail")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    cached = list((thumbnail_cache / "thumbnails").glob(f"{frame.content_hash}-*.png"))
    assert len(cached) == 1
    assert admin.get(f"entities/{frame.id}/thumbnail").content == response.content
    assert admin.get(f"entities/{api_site.show.run.id}/thumbnail").status_code == 422


def test_when_a_hostile_image_is_thumbnailed_then_422_names_why_and_the_server_lives(api_site, admin):
    t = api_site.tracker
    hostile = [
        b"v/1\x01" + b"\xff" * 64,  # an EXR magic with a nonsense header
        b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR\x7f\xff\xff\xff\x7f\xff\xff\xff\x08\x02\x00\x00\x00",
    ]
    for i, data in enumerate(hostile):
        blob = t.blobs.put_bytes(data)
        asset = t.new(
            rmtc.Asset, f"hostile.{i}.{'exr' if i == 0 else 'png'}", content_hash=blob.digest, size=blob.size
        )
        t.record([asset])
        response = admin.get(f"entities/{asset.id}/thumbnail")
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert (
            "cannot be shown" in error["message"]
            and str(t.blobs.local_path(blob.digest)) not in error["message"]
        )
    assert httpx.get(api_site.live.url + "/api/v1/health").json()["status"] == "ok"
    reference = t.new(
        rmtc.Asset, "far.exr", content_hash=hash_bytes(b"far"), size=3, storage="reference", uri="/etc/passwd"
    )
    t.record([reference])
    assert admin.get(f"entities/{reference.id}/thumbnail").status_code == 404
    assert admin.get(f"entities/{reference.id}/files").json()["files"] == []


@pytest.mark.parametrize(
    "ref",
    [
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2f%2e%2e%2f",
        "asset:..%2F..%2Fx",
        "%00",
        "a" * 600,
        "file:%2F%2F%2Fetc%2Fpasswd",
    ],
)
def test_when_a_reference_is_hostile_then_the_answer_is_a_client_error(admin: httpx.Client, ref: str):
    for path in (f"entities/{ref}", f"entities/{ref}/thumbnail", f"lineage/{ref}", f"reports/{ref}"):
        response = admin.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
