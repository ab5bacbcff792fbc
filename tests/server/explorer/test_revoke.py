"""Revoke in the browser: a talent withdraws consent; the dry run shows the impact, an admin applies it,
and the model version trained on their frames shows as blocked everywhere the Explorer shows it."""

from __future__ import annotations

from typing import Any

from .conftest import Console, Site, shoot, sign_in


def open_entity(page: Any, site: Site, entity: Any, tab: str = "") -> None:
    page.goto(f"{site.url}/#/e/{entity.id}{'/' + tab if tab else ''}")
    page.wait_for_selector(f"#entity-id:text-is('{entity.id}')")


def test_when_a_talent_revokes_then_the_impact_is_shown_applied_and_the_model_version_blocked(
    context: Any, fresh_site: Site, request
):
    page = context.new_page()
    console = Console(page)
    sign_in(page, fresh_site.url, fresh_site.live.admin_token)
    page.fill("#search-q", "ava")
    page.click("#search-go")
    page.locator("#results tr", has_text="party").locator("a").click()
    page.click("[data-tab=revoke]")
    page.fill("#revoke-reason", "consent withdrawn by ava")
    page.click("#revoke-dry-run")
    page.wait_for_selector("#impact[data-applied=false]")
    impacted = page.locator("#impact details[data-group=model_versions] li").all_inner_texts()
    assert impacted == ["model_version:matte@1"]
    assert "would block model_version:matte@1" in page.inner_text("#plan")
    assert fresh_site.tracker.store.get_flags([fresh_site.show.model_version.id]) == {}
    shoot(page, request, "dry-run")

    page.click("#revoke-apply")
    assert page.inner_text("#revoke-apply") == "Confirm: revoke and block"
    page.click("#revoke-apply")
    page.wait_for_selector("#impact[data-applied=true]")
    assert page.is_disabled("#revoke-apply")
    shoot(page, request, "applied")
    flags = fresh_site.tracker.store.get_flags([fresh_site.show.model_version.id])
    assert flags[fresh_site.show.model_version.id]["blocked"]["reason"] == "consent withdrawn by ava"

    open_entity(page, fresh_site, fresh_site.show.model_version)
    banner = page.locator(".banner[data-flag=blocked]")
    assert "consent withdrawn by ava" in banner.inner_text()
    page.click("[data-tab=provenance]")
    page.wait_for_selector("#graph[data-nodes]")
    mv_row = page.locator(f"#graph-nodes tr[data-id='{fresh_site.show.model_version.id}']")
    assert "blocked" in mv_row.inner_text()
    ava = page.locator(f"#graph-nodes tr[data-id='{fresh_site.show.ava.id}']")
    assert "revoked" in ava.inner_text()
    ava.locator("button").click()
    page.click("#expand-down")
    agreement = page.locator(f"#graph-nodes tr[data-id='{fresh_site.show.ava_agreement.id}']")
    assert "revoked" in agreement.inner_text()
    classes = page.evaluate(
        f"document.getElementById('graph').cy.getElementById('{fresh_site.show.model_version.id}').classes()"
    )
    assert "blocked" in classes
    shoot(page, request, "blocked-graph")
    page.click("[data-tab=rights]")
    page.wait_for_selector("#talents")
    assert "consent withdrawn" in page.locator("#talents tr", has_text="ava_reyes").inner_text()
    assert "revoked" in page.locator("#licences tr", has_text="ava-agreement").inner_text()
    shoot(page, request, "rights-after")
    assert console.problems == []


def test_when_a_viewer_applies_a_revocation_then_it_is_refused_and_nothing_changes(
    context: Any, site: Site, request
):
    from rmtc.store.sql.auth import Role

    page = context.new_page()
    sign_in(page, site.url, site.live.make_token(Role.viewer))
    open_entity(page, site, site.show.ava_agreement, "revoke")
    page.click("#revoke-dry-run")
    page.wait_for_selector("#impact[data-applied=false]")
    page.click("#revoke-apply")
    page.click("#revoke-apply")
    page.wait_for_selector("#revoke-result .error")
    assert "forbidden" in page.inner_text("#revoke-result .error")
    assert site.tracker.store.get_flags([site.show.ava_agreement.id]) == {}
    shoot(page, request, "refused")
