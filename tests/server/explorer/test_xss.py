"""XSS: hostile strings in every field the Explorer shows (entity names, attributes, parameters, metric
keys, licence names and text, talent names, revocation reasons) are rendered as text: not one script
runs, not one element is injected.

The pages run with the CSP bypassed, so what is tested is the Explorer's rendering itself (text nodes,
never markup), not only the policy that would block an inline script anyway; a second test checks the
CSP header and that the whole UI works under it without a single violation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import rmtc
from rmtc.core.hashing import hash_bytes
from rmtc.core.kinds import Relation

from .conftest import Console, Site, serve_graph, shoot, sign_in

POLYGLOTS = [
    "<script>alert('xss-script')</script>",
    "\"><img src=/xss-beacon onerror=alert('xss-img')>",
    "jaVasCript:/*-/*`/*\\`/*'/*\"/**/(/* */oNcliCk=alert('xss-poly') )//%0D%0A%0d%0a//</stYle/</titLe/"
    "</teXtarEa/</scRipt/--!>\\x3csVg/<sVg/oNloAd=alert('xss-poly')//>\\x3e",
    "<svg/onload=alert('xss-svg')>",
    "<iframe srcdoc=\"<script>parent.alert('xss-iframe')</script>\"></iframe>",
    "<a href=\"javascript:alert('xss-href')\">click me</a>",
    "{{constructor.constructor('alert(\"xss-template\")')()}}",
    "'><details open ontoggle=alert('xss-toggle')>",
]

#: Elements that only markup injection could put in the page.
INJECTED = "main script, main iframe, main [onload], main [onerror], main [ontoggle], main [onclick]"


@dataclass
class Hostile:
    talent: rmtc.Party
    licence: rmtc.License
    asset: rmtc.Asset
    run: rmtc.Run
    model_version: rmtc.ModelVersion


def build_hostile(t: rmtc.Tracker, folder: Path) -> Hostile:
    """A small graph whose every shown string is a polyglot: talent, licence (name and text), frame,
    dataset, run (params, metric keys), weights and model version (attributes)."""
    p = POLYGLOTS
    talent = t.parties.add_talent(p[0])
    licence = t.parties.add_license(
        p[1], grants=["training"], parties=[talent], agreement=True, text="\n".join(p)
    )
    asset = t.new(rmtc.Asset, p[2], content_hash=hash_bytes(b"frame"), size=5, attrs={p[3]: p[4]})
    t.record([asset], [t.edge(asset, Relation.DEPICTS, talent), t.edge(asset, Relation.GOVERNED_BY, licence)])
    dataset = t.datasets.create(p[5])
    t.datasets.add(dataset, [asset])
    version = t.datasets.snapshot(dataset, message=p[6])
    with t.runs.start(p[7], params={p[0]: p[1]}, inputs=[version]) as run:
        for step in (1, 2, 3):
            run.log_metrics({p[3]: 1.0 / step}, step=step)
    weights = t.new(rmtc.Weights, p[4], content_hash=hash_bytes(b"w"), size=1)
    mv = t.new(rmtc.ModelVersion, p[6], version=1, attrs={p[2]: p[7], "note": p[5]})
    t.record(
        [weights, mv],
        [t.edge(weights, Relation.GENERATED_BY, run.run), t.edge(mv, Relation.DERIVED_FROM, weights)],
    )
    return Hostile(talent, licence, asset, t.runs.get(str(run.id)), mv)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, thumbnail_cache: Path) -> Any:
    from .conftest import _need_browser

    _need_browser()
    yield from serve_graph(tmp_path_factory.mktemp("hostile"), build_hostile)


class Sentinel:
    """Counts every sign of a script having run or markup having been injected."""

    def __init__(self, page: Any, origin: str):
        self.console = Console(page)
        self.beacons: list[str] = []
        page.route("**/*", self._route(origin))

    def _route(self, origin: str) -> Any:
        def handle(route: Any) -> None:
            url = route.request.url
            if "xss" in url or not url.startswith(origin):
                self.beacons.append(url)
                route.abort()
            else:
                route.continue_()

        return handle

    @property
    def executions(self) -> list[str]:
        return self.console.dialogs + self.beacons + self.console.errors


def visit(page: Any, site: Site, entity: Any, tab: str, ready: str) -> None:
    page.goto(f"{site.url}/#/e/{entity.id}/{tab}")
    page.wait_for_selector(f"#entity-id:text-is('{entity.id}')")
    page.wait_for_selector(f"[data-tab={tab}].active")
    page.wait_for_selector(ready)


def test_when_every_field_holds_a_polyglot_then_no_script_runs_and_the_text_shows(
    browser: Any, hostile: Site, request
):
    context = browser.new_context(bypass_csp=True, viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        sentinel = Sentinel(page, hostile.url)
        sign_in(page, hostile.url, hostile.live.admin_token)
        page.click("#search-go")
        page.wait_for_selector("#results tr")
        names = page.locator("#results .result-link").all_inner_texts()
        assert set(POLYGLOTS) - {POLYGLOTS[3]} <= set(names)
        shoot(page, request, "search")
        h = hostile.show
        for entity in (h.talent, h.licence, h.asset, h.run, h.model_version):
            visit(page, hostile, entity, "overview", "#neighbours li, #neighbours span:not(.muted)")
            assert page.inner_text("#entity-title").startswith(entity.name.strip()[:20])
        visit(page, hostile, h.model_version, "provenance", "#graph[data-nodes]")
        assert page.locator("#graph-nodes tr").count() >= 6
        shoot(page, request, "graph")
        visit(page, hostile, h.model_version, "rights", "#talents tbody tr")
        page.click("#contains-check")
        page.wait_for_selector("#contains-verdict")
        assert POLYGLOTS[0] in page.inner_text("#contains-result")
        assert POLYGLOTS[1] in page.inner_text("#licences")
        shoot(page, request, "rights")
        visit(page, hostile, h.run, "metrics", ".chart")
        assert POLYGLOTS[3] in page.inner_text("#metrics")
        visit(page, hostile, h.licence, "revoke", "#revoke-dry-run")
        page.fill("#revoke-reason", POLYGLOTS[2])
        page.click("#revoke-dry-run")
        page.click("#revoke-apply")
        page.click("#revoke-apply")
        page.wait_for_selector("#impact[data-applied=true]")
        visit(page, hostile, h.model_version, "overview", ".banner[data-flag=blocked]")
        assert POLYGLOTS[2] in page.inner_text(".banner[data-flag=blocked]")
        assert json.dumps(POLYGLOTS[5]) in page.inner_text("#attributes")
        shoot(page, request, "blocked")
        injected = page.evaluate(f"document.querySelectorAll({INJECTED!r}).length")
        assert injected == 0
        assert sentinel.executions == []
    finally:
        context.close()


def test_when_the_ui_runs_under_its_csp_then_nothing_is_refused(context: Any, hostile: Site):
    import httpx

    response = httpx.get(hostile.url + "/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    page = context.new_page()
    sentinel = Sentinel(page, hostile.url)
    sign_in(page, hostile.url, hostile.live.admin_token)
    h = hostile.show
    visit(page, hostile, h.model_version, "provenance", "#graph[data-nodes]")
    visit(page, hostile, h.model_version, "rights", "#talents tbody tr")
    visit(page, hostile, h.run, "metrics", ".chart")
    assert sentinel.console.csp_violations == []
    assert sentinel.executions == []
