"""`rmtc COMMAND` imports only the module defining COMMAND; the command table never drifts from the CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer.main

import rmtc
from rmtc.cli.main import COMMANDS, VALUED_OPTIONS, build_app, command_of


def _names(app: typer.Typer) -> set[str]:
    return set(typer.main.get_group(app).commands)


def test_the_command_table_names_exactly_the_commands_of_the_whole_cli():
    listed = [name for names in COMMANDS.values() for name in names]
    assert len(listed) == len(set(listed)), "a command is listed under two modules"
    assert set(listed) == _names(build_app())


@pytest.mark.parametrize("module", list(COMMANDS))
def test_each_module_registers_exactly_the_commands_the_table_gives_it(module):
    assert _names(build_app(COMMANDS[module][0])) == set(COMMANDS[module])


def test_an_unknown_or_missing_command_builds_the_whole_cli():
    whole = _names(build_app())
    assert _names(build_app("no-such-command")) == whole
    assert _names(build_app(None)) == whole


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["ingest", "a"], "ingest"),
        (["--store", "ingest", "ls", "asset"], "ls"),
        (["-s", "x", "--user", "ava", "dataset", "ls"], "dataset"),
        (["--store=x", "init"], "init"),
        (["--help"], None),
        ([], None),
        (["--", "show"], "show"),
    ],
)
def test_the_command_word_skips_global_options_and_their_values(argv, command):
    assert command_of(argv) == command


def test_every_global_option_taking_a_value_is_known_to_the_command_finder():
    root = typer.main.get_group(build_app("init"))
    valued = {opt for p in root.params if not getattr(p, "is_flag", False) for opt in p.opts}
    assert valued == set(VALUED_OPTIONS)


def test_when_ingest_runs_then_no_other_command_module_is_imported(tmp_path):
    rmtc.open(tmp_path / "p", create=True).close()
    (tmp_path / "a.bin").write_bytes(b"frame")
    code = (
        "import sys\n"
        "from rmtc.cli.main import main\n"
        f"assert main(['--store', {str(tmp_path / 'p')!r}, 'ingest', {str(tmp_path / 'a.bin')!r}]) == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith('rmtc.cli.commands.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "['rmtc.cli.commands.ingest']"
