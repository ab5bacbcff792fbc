"""``python -m rmtc`` runs the command line."""

from rmtc.cli.main import run

run()
