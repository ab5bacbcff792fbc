"""An entity's page in the browser: the thumbnail of an image asset, metric charts of a run, and the
report downloaded as an attachment; and what ``/`` says when the Explorer is not built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rmtc.server.explorer import mount

from .conftest import Console, Site, shoot, sign_in


@pytest.fixture
def page(context: Any, site: Site) -> Any:
    page = context.new_page()
    page.console = Console(page)
    sign_in(page, site.url, site.live.admin_token)
    return page


def test_when_an_image_asset_is_opened_then_its_thumbnail_is_decoded_and_shown(
    page: Any, site: Site, request
):
    frame = site.show.ava_frames[0]
    page.goto(f"{site.url}/#/e/{frame.id}")
    page.wait_for_selector("#thumbnail-img")
    size = page.locator("#thumbnail-img").evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert size == [64, 36]
    assert page.locator("#neighbours li", has_text="party:ava_reyes").count() == 1
    shoot(page, request, "asset")
    assert page.console.problems == []


def test_when_a_run_is_opened_then_each_metric_is_charted(page: Any, site: Site, request):
    page.goto(f"{site.url}/#/e/{site.show.run.id}/metrics")
    page.wait_for_selector(".chart")
    assert sorted(page.locator(".chart").evaluate_all("els => els.map(e => e.dataset.metric)")) == [
        "loss",
        "psnr",
    ]
    points = page.locator(".chart[data-metric=loss] polyline").get_attribute("points")
    assert len(points.split()) == 20
    assert "last 0.05000" in page.inner_text(".chart[data-metric=loss] figcaption")
    shoot(page, request, "metrics")
    assert page.console.problems == []


def test_when_a_report_is_asked_for_then_it_downloads_as_an_attachment(page: Any, site: Site):
    page.goto(f"{site.url}/#/e/{site.show.model_version.id}")
    page.wait_for_selector("#report-html")
    with page.expect_download() as info:
        page.click("#report-html")
    download = info.value
    assert download.suggested_filename == "rmtc-report-model_version-matte@1.html"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert "ava_reyes" in text and "marcus-agreement" in text
    assert "downloaded the HTML report" in page.inner_text("#report-status")


def test_when_the_explorer_is_not_built_then_the_page_says_how_to_build_it(tmp_path: Path):
    app = FastAPI()
    mount(app, dist=tmp_path / "missing")
    with TestClient(app) as client:
        response = client.get("/")
        assert response.status_code == 200
        assert "make explorer" in response.text and "<script" not in response.text
        assert client.get("/assets/index.js").status_code == 404
