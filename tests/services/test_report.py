import json
from datetime import date

import rmtc
from rmtc.services.report import build_report, render


def test_the_report_holds_rights_talent_licences_runs_and_a_graph(show):
    r = build_report(show.t, show.model_version, at=date(2026, 6, 1))
    data = r.to_json()
    assert data["format"] == "rmtc.Report/1"
    assert "training" in data["rights"]["held"] and "inference" in data["rights"]["withheld"]
    assert {t["name"] for t in data["talents"]} == {"ava_reyes", "marcus_cole"}
    statuses = {x["name"]: x for x in data["licenses"]}
    assert statuses["marcus-agreement"]["withholds"] and statuses["ava-agreement"]["status"] == "active"
    assert [x["name"] for x in data["runs"]] == ["train-matte"]
    assert data["runs"][0]["metrics"] == {"loss": 0.1}
    assert len(data["sources"]) == 6
    kinds = {n["kind"] for n in data["graph"]["nodes"]}
    assert {"model_version", "weights", "run", "dataset_version", "party", "license"} <= kinds


def test_markdown_and_html_render_and_the_svg_is_drawn(show):
    r = build_report(show.t, show.model_version, at=date(2026, 6, 1))
    md = render(r, "md")
    assert md.startswith("# Provenance and rights: model_version:matte@1")
    assert "| marcus-agreement | active |" in md
    page = render(r, "html")
    assert "<svg" in page and "Content-Security-Policy" in page
    assert json.loads(render(r, "json"))["artefact"]["id"] == str(show.model_version.id)


def test_hostile_names_are_escaped_everywhere(tracker):
    evil = "<script>alert(1)</script>"
    talent = tracker.parties.add_talent(evil)
    lic = tracker.parties.add_license(
        'x"><img src=x onerror=alert(1)>', grants=["training"], parties=[talent]
    )
    a = tracker.new(rmtc.Asset, "<b>frame</b>.exr", content_hash="a" * 64, size=1)
    tracker.record(
        [a], [tracker.edge(a, rmtc.Relation.DEPICTS, talent), tracker.edge(a, rmtc.Relation.GOVERNED_BY, lic)]
    )
    page = render(build_report(tracker, a), "html")
    assert "<script>" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;" in page
    md = render(build_report(tracker, a), "md")
    assert "<script>" not in md
