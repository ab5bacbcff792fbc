"""Rendering a :class:`Report` as JSON, Markdown or a self-contained HTML page with an SVG graph.

Every string that came from a user (names, licence text, EXR header values) is escaped; the HTML page
loads nothing from anywhere (a strict Content-Security-Policy in the page itself), so a report can be
mailed to legal and opened safely.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from rmtc.errors import InvalidInput
from rmtc.services.lineage import KIND_COLOURS
from rmtc.services.report.build import Report

FORMATS = ("html", "md", "json")
_W, _H, _GAP_X, _GAP_Y, _PAD = 230, 34, 70, 14, 20


def render(report: Report, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report.to_json(), indent=2, default=str) + "\n"
    if fmt == "md":
        return markdown(report)
    if fmt == "html":
        return html(report)
    raise InvalidInput(f"unknown report format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")


def svg(report: Report) -> str:
    """A layered drawing: the artefact on the left, its sources to the right, one column per depth."""
    columns: dict[int, list[Any]] = {}
    for n in report.nodes:
        columns.setdefault(n.depth, []).append(n)
    pos: dict[str, tuple[int, int]] = {}
    for d, nodes in sorted(columns.items()):
        for i, n in enumerate(nodes):
            pos[n.key] = (_PAD + d * (_W + _GAP_X), _PAD + i * (_H + _GAP_Y))
    width = _PAD * 2 + (max(columns, default=0) + 1) * (_W + _GAP_X)
    height = _PAD * 2 + max((len(v) for v in columns.values()), default=1) * (_H + _GAP_Y)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="11">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
    ]
    for src, dst, rel in report.edges:
        if src not in pos or dst not in pos:
            continue
        (x1, y1), (x2, y2) = pos[src], pos[dst]
        ax, ay = x1 + _W, y1 + _H // 2
        bx, by = x2, y2 + _H // 2
        if x2 <= x1:  # same column or backwards: route around the right edge
            ax, bx = x1 + _W, x2 + _W
        parts.append(
            f'<path d="M {ax} {ay} C {ax + 30} {ay}, {bx - 30} {by}, {bx} {by}" stroke="#555" fill="none" '
            f'marker-end="url(#arrow)"><title>{escape(rel)}</title></path>'
        )
    for n in report.nodes:
        x, y = pos[n.key]
        fill = KIND_COLOURS.get(n.kind, "#eeeeee")
        stroke = "#d00000" if n.problem else "#333"
        width_ = 3 if n.problem else 1
        label = n.label if len(n.label) <= 34 else n.label[:33] + "…"
        parts.append(
            f'<g><rect x="{x}" y="{y}" width="{_W}" height="{_H}" rx="6" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{width_}"/><text x="{x + 8}" y="{y + 21}">{escape(label)}</text>'
            f"<title>{escape(n.label)}</title></g>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def markdown(r: Report) -> str:
    ctx = r.rights.context
    lines = [
        f"# Provenance and rights: {r.artefact.label}",
        "",
        f"- id: `{r.artefact.id}`",
        f"- generated: {r.generated_at} (`{'rmtc.Report/1'}`)",
        f"- rights evaluated on {ctx.at.isoformat()}"
        + (f" for project {ctx.project}" if ctx.project else ""),
    ]
    if r.flags:
        lines.append(f"- flags: {', '.join(sorted(r.flags))}")
    lines += ["", "## Effective rights", "", f"Held: {', '.join(r.rights.held) or 'none'}", ""]
    for right, reasons in r.rights.withheld.items():
        lines.append(f"- **{right}** withheld:")
        lines += [f"  - {_md(w.reason)} (source {_md(w.source.label)})" for w in reasons]
    if r.rights.requirements:
        lines += ["", f"Obligations: {', '.join(r.rights.requirements)}"]
    lines += ["", "## Talent", "", "| talent | frames | agreements |", "|---|---|---|"]
    lines += [
        f"| {_md(t['name'])} | {t['frames']} | {_md(', '.join(t['agreements']) or 'none')} |"
        for t in r.talents
    ]
    lines += [
        "",
        "## Licences",
        "",
        "| licence | status | grants | excludes | finish |",
        "|---|---|---|---|---|",
    ]
    for lic in r.licenses:
        lines.append(
            f"| {_md(lic['name'])} | {lic['status']} | {_md(', '.join(lic['grants']))} | "
            f"{_md(', '.join(lic['excludes']))} | {lic['finish'] or ''} |"
        )
    lines += ["", "## Runs", "", "| run | type | status | key metrics |", "|---|---|---|---|"]
    for run in r.runs:
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted(run["metrics"].items())[:4])
        lines.append(f"| {_md(run['name'])} | {run['run_type']} | {run['status']} | {metrics} |")
    lines += ["", f"## Sources ({len(r.sources)})", "", "| source | licences | talent |", "|---|---|---|"]
    for s in r.sources[:500]:
        licences, talents = ", ".join(s["licenses"]) or "NONE", ", ".join(s["talents"])
        lines.append(f"| {_md(s['label'])} | {_md(licences)} | {_md(talents)} |")
    if len(r.sources) > 500:
        lines.append(f"| … {len(r.sources) - 500} more (see the JSON report) | | |")
    lines += [
        "",
        "## Provenance graph",
        "",
        "```",
        *[f"{s} --{rel}--> {d}" for s, d, rel in r.edges],
        "```",
        "",
    ]
    return "\n".join(lines)


def html(r: Report) -> str:
    body = markdown_to_sections(r)
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:">'
        f"<title>{escape(r.artefact.label)} - rmtc report</title>"
        "<style>body{font-family:Helvetica,Arial,sans-serif;margin:2em;max-width:1200px}"
        "table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
        ".bad{color:#b00000;font-weight:bold}.ok{color:#006400}.graph{overflow:auto;border:1px solid #ddd}"
        "</style></head><body>" + body + "</body></html>\n"
    )


def markdown_to_sections(r: Report) -> str:
    ctx = r.rights.context
    e = escape
    out = [
        f"<h1>Provenance and rights: {e(r.artefact.label)}</h1>",
        f"<p>id <code>{e(str(r.artefact.id))}</code>; generated {e(r.generated_at)}; rights evaluated on "
        f"{e(ctx.at.isoformat())}</p>",
    ]
    if r.flags:
        out.append(f"<p class='bad'>flags: {e(', '.join(sorted(r.flags)))}</p>")
    out.append("<h2>Effective rights</h2><table><tr><th>right</th><th>status</th><th>why</th></tr>")
    for right in r.rights.held:
        out.append(f"<tr><td>{e(right)}</td><td class='ok'>held</td><td></td></tr>")
    for right, reasons in r.rights.withheld.items():
        why = "<br>".join(f"{e(w.reason)} (source {e(w.source.label)})" for w in reasons)
        out.append(f"<tr><td>{e(right)}</td><td class='bad'>withheld</td><td>{why}</td></tr>")
    out.append("</table>")
    out.append("<h2>Provenance graph</h2><div class='graph'>" + svg(r) + "</div>")
    out.append(
        _table(
            "Talent",
            ["talent", "frames", "agreements"],
            [[t["name"], str(t["frames"]), ", ".join(t["agreements"]) or "none"] for t in r.talents],
        )
    )
    out.append(
        _table(
            "Licences",
            ["licence", "status", "grants", "excludes", "finish"],
            [
                [x["name"], x["status"], ", ".join(x["grants"]), ", ".join(x["excludes"]), x["finish"] or ""]
                for x in r.licenses
            ],
        )
    )
    out.append(
        _table(
            "Runs",
            ["run", "type", "status", "key metrics"],
            [
                [
                    x["name"],
                    x["run_type"],
                    x["status"],
                    ", ".join(f"{k}={v:.4g}" for k, v in sorted(x["metrics"].items())[:4]),
                ]
                for x in r.runs
            ],
        )
    )
    out.append(
        _table(
            f"Sources ({len(r.sources)})",
            ["source", "licences", "talent"],
            [
                [s["label"], ", ".join(s["licenses"]) or "NONE", ", ".join(s["talents"])]
                for s in r.sources[:500]
            ],
        )
    )
    return "\n".join(out)


def _table(title: str, head: list[str], rows: list[list[str]]) -> str:
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<h2>{escape(title)}</h2><table><tr>{cells}</tr>{body}</table>"


def _md(text: str) -> str:
    """Escape what would break a Markdown table or inject markup."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")
