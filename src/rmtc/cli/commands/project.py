"""Project-level commands: init, verify, log (audit), plugins, shell."""

from __future__ import annotations

import code
from pathlib import Path

import typer

from rmtc.cli import output
from rmtc.cli.state import state, tracker
from rmtc.plugins.registry import GROUPS, Registry


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("verify")(verify)
    app.command("log")(log)
    app.command("plugins")(plugins)
    app.command("shell")(shell)


def init(
    ctx: typer.Context,
    location: str = typer.Argument(".", help="Folder to make the project in (or a database URL)."),
    blobs: str | None = typer.Option(None, "--blobs", help="Blob store folder or URL for a database URL."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a project: a .rmtc/ folder with an SQLite store and a blob store (or connect a database)."""
    st = state(ctx)
    st.store = location
    if blobs:
        st.blobs = blobs
    t = st.tracker(create=True)
    info = {"store": t.store.url, "blobs": t.blobs.url, "root": str(t.root) if t.root else None}
    if json_out:
        output.print_json(info)
        return
    where = t.root or Path(location)
    output.console.print(f"initialised rmtc project in {where}")
    output.console.print(f"  store: {t.store.url}\n  blobs: {t.blobs.url}")
    output.console.print("next: rmtc ingest 'plates/plate.####.exr' --talent NAME")


def verify(
    ctx: typer.Context,
    orphans: bool = typer.Option(False, "--orphans", help="Also list blobs that no entity names."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Re-hash every stored copy and reference; report anything missing, corrupt or changed."""
    report = tracker(ctx).verifier.verify(orphans=orphans)
    if json_out:
        output.print_json(
            {
                "ok": report.ok,
                "checked": report.checked,
                "bytes": report.bytes,
                "findings": [
                    {
                        "id": str(f.entity.id),
                        "kind": f.entity.kind.value,
                        "name": f.entity.name,
                        "problem": f.problem,
                        "detail": f.detail,
                    }
                    for f in report.findings
                ],
                "orphans": report.orphans,
            }
        )
    else:
        for f in report.findings:
            output.console.print(
                f"[red]{f.problem}[/] {f.entity.label} ({output.short(f.entity.id)}): {f.detail}"
            )
        for digest in report.orphans:
            output.console.print(f"orphan blob {digest}")
        verdict = "ok" if report.ok else f"{len(report.findings)} problem(s)"
        output.console.print(f"verified {report.checked} file(s), {report.bytes} bytes: {verdict}")
    if not report.ok:
        raise typer.Exit(1)


def log(
    ctx: typer.Context,
    target: str | None = typer.Argument(None, help="Only events about this entity."),
    actor: str | None = typer.Option(None, "--user", help="Only events by this user."),
    action: str | None = typer.Option(None, "--action", help="Only this action (e.g. ingest)."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="How many events."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The audit log: who did what to which entity, newest first."""
    t = tracker(ctx)
    target_id = t.resolve(target).id if target else None
    page = t.store.find_audit(target=target_id, actor=actor, action=action, project=t.project, limit=limit)
    if json_out:
        output.print_json(
            [
                {
                    "seq": e.seq,
                    "at": e.at.isoformat(),
                    "actor": e.actor,
                    "action": e.action,
                    "target": str(e.target) if e.target else None,
                    "detail": dict(e.detail),
                }
                for e in page.items
            ]
        )
        return
    for e in page.items:
        tgt = output.short(e.target) if e.target else "-"
        detail = " ".join(f"{k}={v}" for k, v in e.detail.items())
        output.console.print(f"{e.at:%Y-%m-%d %H:%M:%S} {e.actor:<12} {e.action:<18} {tgt:<8} {detail}")


def plugins(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the plug-ins that loaded, and those that failed, for every group."""
    reports = [Registry(group).report() for group in GROUPS]
    if json_out:
        output.print_json(
            [
                {
                    "group": r.group,
                    "loaded": r.loaded,
                    "failed": [{"name": f.name, "source": f.source, "error": f.error} for f in r.failed],
                }
                for r in reports
            ]
        )
        return
    for r in reports:
        output.console.print(f"[bold]{r.group}[/] ({GROUPS[r.group]})")
        for name, source in sorted(r.loaded.items()):
            output.console.print(f"  {name:<20} {source}")
        for f in r.failed:
            output.console.print(f"  [red]{f.name:<20} FAILED[/] {f.source}: {f.error}")
        if not r.loaded and not r.failed:
            output.console.print("  (none)")


def shell(ctx: typer.Context) -> None:
    """A Python REPL with `t` (the connected tracker) and `rmtc` imported."""
    import rmtc

    t = tracker(ctx)
    banner = f"rmtc {rmtc.__version__} shell: `t` is {t!r}"
    code.interact(banner=banner, local={"t": t, "rmtc": rmtc}, exitmsg="")
