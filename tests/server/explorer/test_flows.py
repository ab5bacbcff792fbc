"""The Explorer's main flows in a real browser against a real service: search, open a model version,
trace it to a talent (graph and ``contains``), expand the graph by clicking, read its rights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import Console, Site, shoot, sign_in


@pytest.fixture
def page(context: Any, site: Site) -> Any:
    page = context.new_page()
    page.console = Console(page)
    sign_in(page, site.url, site.live.admin_token)
    return page


def open_model_version(page: Any) -> None:
    page.fill("#search-q", "matte")
    page.click("#search-go")
    page.wait_for_selector("#results tr")
    page.locator("#results tr[data-id]", has_text="model_version").locator("a").click()
    page.wait_for_selector("#entity-title")


def test_when_searching_a_name_then_every_kind_matching_it_is_listed(page: Any, site: Site, request):
    page.fill("#search-q", "matte")
    page.click("#search-go")
    page.wait_for_selector("#results tr")
    kinds = page.locator("#results tr td:first-child").all_inner_texts()
    assert sorted(kinds) == ["model_version", "run", "weights"]
    shoot(page, request, "search")
    assert page.console.problems == []


def test_when_searching_a_reference_then_the_entity_it_names_is_found(page: Any, site: Site):
    page.fill("#search-q", "model_version:matte@production")
    page.click("#search-go")
    page.wait_for_selector("#results tr")
    assert page.locator("#results tr").first.get_attribute("data-id") == str(site.show.model_version.id)


def test_when_a_model_version_is_opened_then_its_attributes_alias_and_files_show(
    page: Any, site: Site, request
):
    open_model_version(page)
    assert page.inner_text("#entity-title") == "matte@1"
    assert "production" in page.inner_text(".entity-head")
    assert page.locator("#attributes tr[data-key=variants]").count() == 1
    page.wait_for_selector("#files button.download")
    with page.expect_download() as info:
        page.click("#files button.download")
    download = info.value
    assert download.suggested_filename == "matte-v1.safetensors"
    expected = site.tracker.blobs.read_bytes(site.show.weights.content_hash)
    assert Path(download.path()).read_bytes() == expected
    shoot(page, request, "model-version")
    assert page.console.problems == []


def test_when_a_model_version_is_traced_up_then_the_graph_reaches_its_talents(page: Any, site: Site, request):
    open_model_version(page)
    page.click("[data-tab=provenance]")
    page.wait_for_selector("#graph[data-nodes]")
    listed = page.locator("#graph-nodes tr").all_inner_texts()
    assert any("party:ava_reyes" in row for row in listed)
    assert any("party:marcus_cole" in row for row in listed)
    # marcus's agreement grants training only: his frames withhold inference from the model version.
    marcus = page.locator("#graph-nodes tr", has_text="party:marcus_cole")
    assert "withholds" in marcus.inner_text()
    rendered = page.evaluate("document.getElementById('graph').cy.nodes().length")
    assert rendered == len(listed)
    shoot(page, request, "provenance")
    assert page.console.problems == [] and page.console.csp_violations == []


def test_when_a_node_is_clicked_then_it_can_be_expanded_downstream(page: Any, site: Site, request):
    open_model_version(page)
    page.click("[data-tab=provenance]")
    page.fill("#graph-depth", "1")
    page.click("#graph-trace")
    page.wait_for_selector("#graph[data-nodes='2']")
    weights = str(site.show.weights.id)
    box = page.locator("#graph").bounding_box()
    x, y = page.evaluate(
        f"(() => {{ const p = document.getElementById('graph').cy.getElementById('{weights}')"
        ".renderedPosition(); return [p.x, p.y]; })()"
    )
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_selector("#selected-label")
    assert page.inner_text("#selected-label") == "weights:matte.safetensors"
    page.click("#expand-up")
    page.wait_for_selector("#graph-status:has-text('upstream of weights')")
    page.wait_for_selector("#graph[data-nodes='3']")
    assert page.locator("#graph-nodes tr", has_text="run:train-matte").count() == 1
    page.locator("#graph-nodes button", has_text="run:train-matte").click()
    page.click("#expand-down")
    page.wait_for_selector("#graph-status:has-text('downstream of run:train-matte')")
    assert page.get_attribute("#graph", "data-nodes") == "3"
    shoot(page, request, "expanded")


def test_when_contains_is_asked_then_the_evidence_path_ends_at_the_talent(page: Any, site: Site, request):
    open_model_version(page)
    page.click("[data-tab=rights]")
    page.wait_for_selector("#rights-held")
    assert page.locator("#rights-held [data-right]").all_inner_texts() == ["training"]
    assert page.locator("#rights-withheld details[data-right=inference]").count() == 1
    consent = page.locator("#talents tr", has_text="ava_reyes").inner_text()
    assert "consent given" in consent
    page.select_option("#contains-talent", label="ava_reyes")
    page.click("#contains-check")
    page.wait_for_selector("#contains-verdict")
    assert page.inner_text("#contains-verdict").endswith("YES")
    chain = page.locator("#contains-result .chain").first.locator("a").all_inner_texts()
    assert chain[0] == "model_version:matte@1" and chain[-1] == "party:ava_reyes"
    assert "dataset_version:plates@1" in chain
    shoot(page, request, "contains")
    assert page.console.problems == []
