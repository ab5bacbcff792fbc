"""The ``rmtc`` command line: one module per noun under :mod:`rmtc.cli.commands`."""
