"""Fixtures of the blob store tests: a fresh local store, and child processes that use one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rmtc.blobs.local import LocalBlobStore, open_local


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return open_local(tmp_path / "blobs", create=True)


@pytest.fixture
def child():
    """Start ``python -c CODE ARGS…`` with pipes; every child still running at the end is killed."""
    started: list[subprocess.Popen[str]] = []

    def start(code: str, *args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)
