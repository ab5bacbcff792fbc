"""Rights commands: ``rights``, ``check``, ``contains``, ``revoke``, ``purge``, ``right``, ``agreement``."""

from __future__ import annotations

from datetime import date

import typer

from rmtc.cli import output
from rmtc.cli.state import tracker
from rmtc.core.entities import parse_date
from rmtc.core.kinds import Relation
from rmtc.services.rights import RightsReport

right_app = typer.Typer(help="Rights: the named uses licences grant or exclude.", no_args_is_help=True)
agreement_app = typer.Typer(
    help="Talent agreements: licences between a talent and a production.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.command("rights")(rights)
    app.command("check")(check)
    app.command("contains")(contains)
    app.command("revoke")(revoke)
    app.command("purge")(purge)
    app.add_typer(right_app, name="right")
    app.add_typer(agreement_app, name="agreement")


def _date(text: str | None, what: str) -> date | None:
    return parse_date(text, what) if text else None


def _print_report(report: RightsReport) -> None:
    ctx = report.context
    where = f" in project {ctx.project}" if ctx.project else ""
    output.console.print(f"[bold]{report.artefact.label}[/] on {ctx.at.isoformat()}{where}")
    output.console.print(f"  held:     {', '.join(report.held) or '(none)'}")
    for right, reasons in report.withheld.items():
        output.console.print(f"  [red]withheld {right}[/]:")
        for w in reasons:
            output.console.print(f"    - {w.reason} (source {w.source.label})", markup=False)
    if report.requirements:
        output.console.print(f"  obligations: {', '.join(report.requirements)}")
    if report.talents:
        output.console.print(f"  talent: {', '.join(t.name for t in report.talents)}")


def rights(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Any artefact: asset, dataset version, run, weights, model version…"),
    at: str | None = typer.Option(None, "--at", help="Evaluate on this date (YYYY-MM-DD); today by default."),
    project: str | None = typer.Option(None, "--for-project", help="The production the use is for."),
    jurisdiction: str | None = typer.Option(None, "--jurisdiction", help="Where the use happens."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The effective rights of an artefact, and for each right not held, the source and licence why."""
    report = tracker(ctx).rights.effective(
        ref, at=_date(at, "--at"), project=project, jurisdiction=jurisdiction
    )
    output.print_json(report.to_json()) if json_out else _print_report(report)


def check(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The artefact."),
    right: str = typer.Option(..., "--right", "-r", help="The right to check, e.g. training."),
    at: str | None = typer.Option(None, "--at", help="Evaluate on this date (YYYY-MM-DD)."),
    project: str | None = typer.Option(None, "--for-project", help="The production the use is for."),
    jurisdiction: str | None = typer.Option(None, "--jurisdiction", help="Where the use happens."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Exit 0 when the right is held, 1 when not (with the reason)."""
    report = tracker(ctx).rights.check(
        ref, right, at=_date(at, "--at"), project=project, jurisdiction=jurisdiction
    )
    held = report.allows(right)
    if json_out:
        output.print_json({**report.to_json(), "right": right, "allowed": held})
    elif held:
        output.console.print(f"{report.artefact.label}: {right} is held")
    else:
        for w in report.withheld[right]:
            output.console.print(f"{report.artefact.label}: {right} is NOT held: {w.reason}", markup=False)
    if not held:
        raise typer.Exit(1)


def contains(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Model version, weights, inference, dataset version or frame."),
    talent: str = typer.Argument(..., help="The talent."),
    paths: int = typer.Option(20, "--paths", min=0, help="Evidence paths to show, nearest first (0: all)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Does the artefact derive from any asset depicting the talent? Yes or no, with the evidence."""
    result = tracker(ctx).rights.contains(ref, talent, max_paths=paths or None)
    if json_out:
        output.print_json(result.to_json())
        return
    verdict = "YES" if result.contains else "no"
    output.console.print(f"{result.artefact.label} contains {result.talent.label}: {verdict}")
    for path in result.paths:
        hops = []
        for step in path:
            rel = f" -{step['relation']}->" if step["relation"] else ""
            hops.append(f"{step['label']}{rel}")
        output.console.print("  " + " ".join(hops), markup=False)
    if result.sources > len(result.paths):
        more = result.sources - len(result.paths)
        output.console.print(f"  … and {more} more depicting asset(s) (--paths 0 shows every path)")


def revoke(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="A licence (license:NAME) or a talent (party:NAME)."),
    reason: str = typer.Option("", "--reason", help="Why (recorded with the revocation)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the impact and plan; change nothing."),
    at: str | None = typer.Option(None, "--at", help="Effective date (YYYY-MM-DD); today by default."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Revoke a licence or all of a talent's agreements: the impact downstream and a retrain plan."""
    impact = tracker(ctx).revoker.revoke(ref, reason=reason, dry_run=dry_run, at=_date(at, "--at"))
    if json_out:
        output.print_json(impact.to_json())
        return
    state = "revoked" if impact.applied else "would revoke (dry run)"
    output.console.print(f"{state}: {', '.join(x.label for x in impact.licenses)}")
    output.console.print(f"  {len(impact.sources)} source asset(s) affected")
    for group, entities in impact.downstream.items():
        output.console.print(f"  {group}: {len(entities)}")
        for e in entities[:10]:
            output.console.print(f"    {e.label} ({output.short(e.id)})")
    for d in impact.plan["datasets"]:
        output.console.print(f"  plan: {d['version']['label']} -> {d['proposed']}, keeping {d['keep']}")
    for r in impact.plan["runs"]:
        output.console.print(f"  plan: repeat {r['run']['label']} with the same params on the new versions")
    for b in impact.plan["block"]:
        output.console.print(f"  {'blocked' if impact.applied else 'would block'}: {b['label']}")


def purge(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The asset to erase."),
    reason: str = typer.Option(..., "--reason", help="Why (recorded with the tombstone)."),
    force: bool = typer.Option(
        False, "--force", help="Purge even if published models used it (blocks them)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Erase an asset's bytes (right to be forgotten); provenance keeps its hash and a tombstone."""
    report = tracker(ctx).purger.purge(ref, reason=reason, force=force)
    if json_out:
        output.print_json(report.to_json())
        return
    what = "erased" if report.erased else "tombstoned"
    output.console.print(f"{what} {report.asset.label} ({report.asset.content_hash})")
    output.console.print(
        f"  {len(report.flagged)} downstream artefact(s) flagged, {len(report.blocked)} blocked"
    )
    if report.note:
        output.console.print(f"  note: {report.note}")


@right_app.command("add")
def right_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The right's name, e.g. face-swap."),
    description: str = typer.Option("", "--description", help="What use it names."),
) -> None:
    """Add a facility right."""
    r = tracker(ctx).rights.define(name, description)
    output.console.print(f"added right {r.name} ({r.id})")


@right_app.command("ls")
def right_ls(ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the rights: built-in and the facility's own."""
    names = tracker(ctx).rights.known()
    output.print_json(names) if json_out else output.lines(names)


@agreement_app.command("add")
def agreement_add(
    ctx: typer.Context,
    talent: str = typer.Argument(..., help="The talent."),
    grants: list[str] = typer.Option([], "--grants", "-g", help="A right granted (repeatable)."),
    excludes: list[str] = typer.Option([], "--excludes", "-x", help="A right excluded (repeatable)."),
    project: list[str] = typer.Option([], "--project", "-p", help="The production(s) it covers."),
    start: str | None = typer.Option(None, "--start", help="First day (YYYY-MM-DD)."),
    finish: str | None = typer.Option(None, "--finish", help="Last day (YYYY-MM-DD)."),
    name: str | None = typer.Option(
        None, "--name", help="The agreement's name (default TALENT-agreement-N)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record a talent agreement: a licence between a talent and a production."""
    t = tracker(ctx)
    party = t.parties.talent(talent)
    t.rights.validate([*grants, *excludes])
    count = len(t.neighbours(party, Relation.ATTRIBUTED_TO, direction="in"))
    lic = t.parties.add_license(
        name or f"{party.name}-agreement-{count + 1}",
        grants=grants,
        excludes=excludes,
        parties=[party],
        projects=project,
        start=_date(start, "--start"),
        finish=_date(finish, "--finish"),
        agreement=True,
    )
    output.print_json(lic.to_json()) if json_out else output.console.print(
        f"added agreement {lic.name} ({lic.id})"
    )
