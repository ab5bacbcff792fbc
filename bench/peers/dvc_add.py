"""DVC's side of the ingest benchmark, in-process: ``Repo(REPO).add(TARGET)`` timed alone.

Run with the peers' interpreter (``bench/.venv-peers/bin/python bench/peers/dvc_add.py REPO TARGET
WARMUP``) in a repository made by ``dvc init --no-scm`` whose TARGET folder holds the files. WARMUP, a
folder of one tiny file, is added first, untimed, so the modules DVC imports on its first ``add`` are
loaded, as the rmtc API figure is taken with rmtc's modules loaded. The CLI (``dvc add``) is timed by
the harness around the whole process. Prints one JSON object.
"""

from __future__ import annotations

import json
import sys
import time

from dvc.repo import Repo


def main() -> None:
    root, target, warmup = sys.argv[1], sys.argv[2], sys.argv[3]
    repo = Repo(root)
    repo.add(warmup)
    start = time.perf_counter()
    repo.add(target)
    seconds = time.perf_counter() - start
    repo.close()
    print(json.dumps({"seconds": seconds}))


if __name__ == "__main__":
    main()
