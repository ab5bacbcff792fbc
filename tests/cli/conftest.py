import json

import pytest

from rmtc.cli.main import main


class Cli:
    """Runs the real CLI in-process against one project and captures what a user would see."""

    def __init__(self, store, capsys):
        self.store = str(store)
        self.capsys = capsys

    def __call__(self, *args, expect=0):
        self.capsys.readouterr()
        code = main(["--store", self.store, *args])
        out, err = self.capsys.readouterr()
        assert code == expect, f"rmtc {' '.join(args)} exited {code}: {err}{out}"
        return out, err

    def json(self, *args):
        out, _ = self(*args, "--json")
        return json.loads(out)


@pytest.fixture
def cli(project_dir, capsys):
    return Cli(project_dir, capsys)
