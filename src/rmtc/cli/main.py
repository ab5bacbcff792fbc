"""The ``rmtc`` entry point: global options, the command groups, and the one place errors are printed.

Any :class:`~rmtc.errors.RmtcError` becomes one line on stderr (what went wrong; how to fix it) and its
class's exit code; an unexpected exception does too, with the hint to rerun with ``RMTC_DEBUG=1`` for a
traceback. A user never sees a traceback by default.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Sequence

import typer
from typer.exceptions import TyperException

from rmtc.cli.output import err_console
from rmtc.cli.state import CliState, state
from rmtc.errors import RmtcError

#: Every command and command group, by the module of ``rmtc.cli.commands`` defining it (its
#: ``register``), in the order ``rmtc --help`` lists them. A run imports only the module of the
#: command it names: each module pulls in what its commands need (Rich tables, services), and a
#: one-off command such as ``rmtc ingest`` should not pay for the others at every start.
COMMANDS: dict[str, tuple[str, ...]] = {
    "project": ("init", "verify", "log", "plugins", "shell"),
    "ingest": ("ingest",),
    "entities": ("ls", "show"),
    "datasets": ("dataset",),
    "parties": ("talent", "license"),
    "runs": ("run",),
    "trace": ("trace", "export"),
    "rights": ("rights", "check", "contains", "revoke", "purge", "right", "agreement"),
    "ml": ("train", "convert", "publish", "infer", "solution", "model"),
    "nuke": ("nuke",),
    "report": ("report",),
    "server": ("serve", "user", "token"),
}
#: The global options that take a value (the word after them is not the command).
VALUED_OPTIONS = frozenset({"--store", "-s", "--blobs", "--project", "--user"})


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


def build_app(command: str | None = None) -> typer.Typer:
    """The CLI: with only the module defining ``command`` when it names one, else with every command
    (help, completion of a mistyped name and the tests see them all)."""
    app = typer.Typer(
        name="rmtc",
        help="Track the ML artefacts of VFX production with their provenance and rights.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    app.callback()(_global)
    modules = [module for module, names in COMMANDS.items() if command in names] or list(COMMANDS)
    for module in modules:
        importlib.import_module(f"rmtc.cli.commands.{module}").register(app)
    return app


def command_of(argv: Sequence[str]) -> str | None:
    """The command word of a command line: the first argument that is neither a global option nor
    the value of one (``None`` when there is none, e.g. ``rmtc --help``)."""
    args = iter(argv)
    for arg in args:
        if arg == "--":
            return next(args, None)
        if arg in VALUED_OPTIONS:
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def __getattr__(name: str) -> typer.Typer:
    """``app``: the whole CLI, built on first use (for tests and embedding, e.g. Click's runner)."""
    if name == "app":
        app = build_app()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _show_warning(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
    err_console.print(f"warning: {message}", markup=False)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (``python -m rmtc`` and the console script call this)."""
    warnings.showwarning = _show_warning  # type: ignore[assignment]
    try:
        args = list(sys.argv[1:] if argv is None else argv)
        rc = build_app(command_of(args))(args=args, standalone_mode=False, obj=CliState())
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
