"""The peers rmtc is measured against, DVC and MLflow, in a virtual environment of their own.

Their pins (and MLflow's many dependencies) must never reach rmtc's environment, so they live in
``bench/.venv-peers`` (git-ignored) and every peer measurement runs as a subprocess of that
environment's interpreter (the scripts in ``bench/peers/``). Versions are pinned so a figure in
``RESULTS.md`` can be reproduced with the same peer. ``mlflow-skinny`` ships the SQLAlchemy tracking
store but not its database drivers' helpers, so ``sqlalchemy`` and ``alembic`` are added: that is
enough for the ``sqlite:///`` backend (checked by :func:`ensure`). torch is never installed here.

Run ``python -m bench.peers`` to create (or check) the environment ahead of a benchmark.
"""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-peers"
PYTHON = VENV / "bin" / "python"
DVC = VENV / "bin" / "dvc"
PACKAGES = ("dvc==3.67.1", "mlflow==3.17.2", "sqlalchemy>=2,<3", "alembic")
_STAMP = VENV / ".installed"
_CHECK = """
import tempfile, os, mlflow
from mlflow.tracking import MlflowClient
d = tempfile.mkdtemp()
uri = "sqlite:///" + os.path.join(d, "check.db")
c = MlflowClient(tracking_uri=uri)
e = c.create_experiment("check")
r = c.create_run(e)
c.log_param(r.info.run_id, "p", "v")
assert c.search_runs([e], "params.p = 'v'")[0].info.run_id == r.info.run_id
import dvc; print(mlflow.__version__, dvc.__version__)
"""


def ensure(*, quiet: bool = True) -> Path:
    """Create the peers' environment when missing and check that both peers work.

    Returns:
        The environment's Python interpreter.

    Raises:
        RuntimeError: an install step or the check failed (its output is included).
    """
    wanted = "\n".join(PACKAGES)
    if not (_STAMP.is_file() and _STAMP.read_text() == wanted):
        base = Path(sys.base_prefix) / "bin" / "python3"
        _call([str(base), "-m", "venv", "--clear", str(VENV)])
        _call([str(PYTHON), "-m", "pip", "install", "-q", "--upgrade", "pip"])
        _call([str(PYTHON), "-m", "pip", "install", "-q", *PACKAGES])
        _check_no_torch()
        _call([str(PYTHON), "-c", _CHECK])
        _STAMP.write_text(wanted)
    elif not quiet:
        print(versions())
    return PYTHON


@functools.cache
def versions() -> dict[str, str]:
    """The installed peer versions, for the results' header (read from metadata: nothing imported)."""
    out = subprocess.run(
        [
            str(PYTHON),
            "-c",
            "from importlib.metadata import version as v; print(v('mlflow-skinny'), v('dvc'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {"mlflow-skinny": out[0], "dvc": out[1]}


def _check_no_torch() -> None:
    found = subprocess.run(
        [str(PYTHON), "-c", "import importlib.util as u; print(u.find_spec('torch') is not None)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if found == "True":
        raise RuntimeError(f"torch was pulled into {VENV}; the peers must not install it")


def _call(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} … failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")


if __name__ == "__main__":
    print(f"peers ready in {ensure(quiet=False).parent.parent}")
