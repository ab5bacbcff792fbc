"""What a run ran on: rmtc and library versions, the git commit, Python, host. Captured once at the
start of a run so a model can be rebuilt years later with the same stack."""

from __future__ import annotations

import copy
import functools
import os
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

#: Libraries whose versions matter for reproducing an ML artefact. Read from installed metadata, so
#: capturing never imports them (torch takes seconds to import).
LIBRARIES = (
    "rmtc",
    "torch",
    "numpy",
    "safetensors",
    "onnx",
    "onnxruntime",
    "OpenImageIO",
    "OpenEXR",
    "opencolorio",
    "sqlalchemy",
    "blake3",
)


def capture(cwd: Path | None = None) -> dict[str, Any]:
    """The environment of this process. Computed once per process (and per folder, for git): a training
    loop starting runs back to back must not pay for a ``git`` subprocess and metadata scans each time."""
    return copy.deepcopy(_capture(str((cwd or Path.cwd()).resolve())))


@functools.cache
def _capture(cwd: str) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "executable": sys.executable,
        "libraries": library_versions(),
        "git": git_state(Path(cwd)),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }


def library_versions(names: tuple[str, ...] = LIBRARIES) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def git_state(cwd: Path) -> dict[str, Any] | None:
    """The commit and dirtiness of the git checkout containing ``cwd``, or ``None`` outside one."""
    try:
        commit = _git(cwd, "rev-parse", "HEAD")
        if commit is None:
            return None
        status = _git(cwd, "status", "--porcelain", "--untracked-files=no")
        return {"commit": commit, "dirty": bool(status)}
    except OSError:
        return None


def _git(cwd: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=False)
    except subprocess.TimeoutExpired:
        return None
    return out.stdout.strip() if out.returncode == 0 else None
