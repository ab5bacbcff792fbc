"""The ``rmtc`` entry point: global options, the command groups, and the one place errors are printed.

Any :class:`~rmtc.errors.RmtcError` becomes one line on stderr (what went wrong; how to fix it) and its
class's exit code; an unexpected exception does too, with the hint to rerun with ``RMTC_DEBUG=1`` for a
traceback. A user never sees a traceback by default.
"""

from __future__ import annotations

import os
import sys
import warnings

import typer
from typer.exceptions import TyperException

from rmtc.cli.commands import (
    datasets,
    entities,
    ingest,
    ml,
    nuke,
    parties,
    project,
    report,
    rights,
    runs,
    server,
    trace,
)
from rmtc.cli.output import err_console
from rmtc.cli.state import CliState, state
from rmtc.errors import RmtcError

app = typer.Typer(
    name="rmtc",
    help="Track the ML artefacts of VFX production with their provenance and rights.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _global(
    ctx: typer.Context,
    store: str | None = typer.Option(
        None,
        "--store",
        "-s",
        envvar="RMTC_STORE",
        help="Project folder or store URL (default: nearest .rmtc/).",
    ),
    blobs: str | None = typer.Option(None, "--blobs", envvar="RMTC_BLOBS", help="Blob store folder or URL."),
    project: str = typer.Option("default", "--project", envvar="RMTC_PROJECT", help="Project scope."),
    user: str | None = typer.Option(
        None, "--user", envvar="RMTC_USER", help="Attribute writes to this user."
    ),
) -> None:
    """Global options shared by every command."""
    st = state(ctx)
    st.store, st.blobs, st.project, st.user = store, blobs, project, user
    ctx.call_on_close(st.close)


project.register(app)
ingest.register(app)
entities.register(app)
app.add_typer(datasets.app, name="dataset")
app.add_typer(parties.talent_app, name="talent")
app.add_typer(parties.license_app, name="license")
app.add_typer(runs.app, name="run")
trace.register(app)
rights.register(app)
ml.register(app)
app.add_typer(nuke.app, name="nuke")
report.register(app)
server.register(app)


def _show_warning(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
    err_console.print(f"warning: {message}", markup=False)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (``python -m rmtc`` and the console script call this)."""
    warnings.showwarning = _show_warning  # type: ignore[assignment]
    try:
        rc = app(args=argv, standalone_mode=False, obj=CliState())
    except RmtcError as exc:
        err_console.print(f"[bold red]error:[/] {exc.one_line()}", markup=True, highlight=False)
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        err_console.print("aborted")
        return 130
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except TyperException as exc:  # usage errors: the parser's own message and usage line
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        return int(getattr(exc, "exit_code", 2))
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if os.environ.get("RMTC_DEBUG"):
            raise
        err_console.print(
            f"error: unexpected {type(exc).__name__}: {exc}; rerun with RMTC_DEBUG=1 for details"
        )
        return 70
    return rc if isinstance(rc, int) else 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
