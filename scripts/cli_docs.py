"""Write docs/cli.md from the CLI's own help: `python scripts/cli_docs.py > docs/cli.md`.

tests/cli/test_commands.py checks that every command appears there, so a new command without docs fails.
"""

from __future__ import annotations

from typing import Any

import typer
import typer.main

from rmtc.cli.main import app


def _walk(cmd: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    out = [(path, cmd)]
    if hasattr(cmd, "commands"):
        for name in cmd.commands:
            out += _walk(cmd.commands[name], [*path, name])
    return out


def main() -> None:
    group = typer.main.get_group(app)
    print("# rmtc command line\n")
    print("Generated from the commands' own help by `scripts/cli_docs.py`; do not edit by hand.\n")
    for path, cmd in _walk(group, ["rmtc"]):
        if hasattr(cmd, "commands") and len(path) > 1:
            print(f"## {' '.join(path)}\n\n{(cmd.help or '').strip()}\n")
            continue
        title = " ".join(path)
        print(f"{'#' if len(path) == 1 else '###'} {title}\n")
        ctx = typer.Context(cmd, info_name=title)
        print("```text")
        print(cmd.get_help(ctx).replace("Usage: rmtc", "Usage: rmtc", 1))
        print("```\n")


if __name__ == "__main__":
    main()
