"""``rmtc talent`` and ``rmtc license``: who appears in the footage, and under which terms."""

from __future__ import annotations

import typer

from rmtc.cli import output
from rmtc.cli.state import tracker
from rmtc.core.entities import parse_date
from rmtc.core.kinds import Kind

talent_app = typer.Typer(help="Talent: people whose likeness the footage shows.", no_args_is_help=True)
license_app = typer.Typer(help="Licences and agreements governing assets and models.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(talent_app, name="talent")
    root.add_typer(license_app, name="license")


@talent_app.command("add")
def talent_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The talent's name (a stable handle, e.g. ava_reyes)."),
    contact: str = typer.Option("", "--contact", help="Agent or contact."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record a talent."""
    p = tracker(ctx).parties.add_talent(name, contact=contact)
    output.print_json(p.to_json()) if json_out else output.console.print(f"added talent {p.name} ({p.id})")


@talent_app.command("ls")
def talent_ls(ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List talent."""
    t = tracker(ctx)
    found = [p for p in t.iter(t.query(Kind.PARTY, talent=True))]
    if json_out:
        output.print_json([p.to_json() for p in found])
    else:
        output.console.print(output.entity_table(found))


@license_app.command("add")
def license_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The licence's name."),
    grants: list[str] = typer.Option([], "--grants", "-g", help="A right it grants (repeatable)."),
    excludes: list[str] = typer.Option([], "--excludes", "-x", help="A right it excludes (repeatable)."),
    party: list[str] = typer.Option([], "--party", help="A party to it (repeatable)."),
    jurisdiction: list[str] = typer.Option([], "--jurisdiction", help="Where it applies (repeatable)."),
    start: str | None = typer.Option(None, "--start", help="First day it applies (YYYY-MM-DD)."),
    finish: str | None = typer.Option(None, "--finish", help="Last day it applies (YYYY-MM-DD)."),
    spdx: str | None = typer.Option(None, "--spdx", help="SPDX id of a public licence, e.g. CC-BY-4.0."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record a licence (the full rights model is computed by `rmtc rights`)."""
    lic = tracker(ctx).parties.add_license(
        name,
        grants=grants,
        excludes=excludes,
        parties=party,
        jurisdictions=jurisdiction,
        start=parse_date(start, "--start") if start else None,
        finish=parse_date(finish, "--finish") if finish else None,
        spdx_id=spdx,
    )
    output.print_json(lic.to_json()) if json_out else output.console.print(
        f"added licence {lic.name} ({lic.id})"
    )


@license_app.command("ls")
def license_ls(
    ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """List licences."""
    t = tracker(ctx)
    found = list(t.iter(t.query(Kind.LICENSE)))
    if json_out:
        output.print_json([x.to_json() for x in found])
    else:
        output.console.print(output.entity_table(found))
