"""`rmtc ingest`: Rich's progress bar is loaded only when one is drawn, and still draws."""

from __future__ import annotations

import io
import subprocess
import sys

from rich.console import Console

from rmtc.cli import output
from rmtc.cli.commands.ingest import _Bar


def test_when_the_cli_starts_then_richs_progress_module_is_not_imported():
    code = "import sys, rmtc.cli.main; print('rich.progress' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_progress_bar_follows_an_ingest_on_a_terminal(monkeypatch):
    screen = io.StringIO()
    monkeypatch.setattr(output, "err_console", Console(file=screen, force_terminal=True, width=100))
    bar = _Bar()
    bar.start(files=4, total_bytes=4000)
    bar.advance(4, 4000)
    assert bar._progress.tasks[0].completed == 4000
    bar.finish()
    assert "ingest" in screen.getvalue()
