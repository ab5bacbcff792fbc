"""Thumbnails of image assets, decoded outside the server process and cached by content hash.

Decoders are where hostile files strike (SECURITY.md), so the server never opens an image itself: each
thumbnail is made by a fresh worker process (:mod:`rmtc.server._thumb_worker`) under an address-space
limit, a CPU-time limit and a wall-clock timeout, with the header's claimed size checked before any
pixel is allocated, the same sandbox as the ingest probe (:mod:`rmtc.vfx.media`). A crash, an
out-of-memory or a timeout costs that one worker and answers 422 with the reason; the server lives on.

Thumbnails are keyed by the blob's hash (content-addressed, so valid across stores and restarts) and by
their size; a failure is cached too, so a hostile file is decoded once, not on every page view.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from rmtc.blobs.protocol import BlobStore
from rmtc.core.entities import Asset
from rmtc.errors import IntegrityError, InvalidInput, NotFound

#: Bump when the picture a worker makes changes, so old cached thumbnails are not served.
THUMBNAIL_VERSION = 1
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")
#: The largest image a thumbnail is made of (the probe's limits are wider: ingest must accept any frame).
_LIMITS = {"max_width": 32768, "max_height": 32768, "max_channels": 1024, "max_image_mb": 2048}


def default_cache_dir() -> Path:
    """``$RMTC_CACHE_DIR/thumbnails``, else ``$XDG_CACHE_HOME/rmtc/thumbnails`` (``~/.cache`` by default)."""
    base = os.environ.get("RMTC_CACHE_DIR")
    if base:
        return Path(base) / "thumbnails"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "rmtc" / "thumbnails"


class Thumbnailer:
    """Makes and caches PNG thumbnails; safe to call from many request threads at once.

    Args:
        cache_dir: where PNGs (and the reasons of failures) are kept, one file per hash and size.
        size: the long side of a thumbnail in pixels.
        timeout: wall-clock seconds one decode may take.
        memory_limit: bytes of address space a worker may add to what it holds after start-up.
        cpu_limit: CPU seconds one decode may use.
        concurrency: decodes running at once (each is a process).
    """

    def __init__(
        self,
        cache_dir: Path | None = None,
        *,
        size: int = 256,
        timeout: float = 30.0,
        memory_limit: int = 2 << 30,
        cpu_limit: float = 20.0,
        concurrency: int = 2,
    ):
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.size = size
        self.timeout = timeout
        self.memory_limit = memory_limit
        self.cpu_limit = cpu_limit
        self._slots = threading.BoundedSemaphore(concurrency)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def png(self, blobs: BlobStore, asset: Asset) -> Path:
        """The cached PNG thumbnail of an image asset, made on first request.

        Raises:
            NotFound: the asset has no stored bytes here (stored by reference, or purged).
            InvalidInput: the bytes are not an image a thumbnail can be made of (the reason says why).
            IntegrityError: the stored bytes no longer hash to the asset's hash.
        """
        digest = asset.content_hash
        if asset.storage != "copy" or not digest:
            raise NotFound(
                f"{asset.label} has no bytes in this store ({asset.storage})",
                hint="only assets stored by copy have thumbnails; references are never read by the server",
            )
        suffix = Path(asset.name).suffix.lower()
        if not _SUFFIX.match(suffix):
            raise InvalidInput(
                f"{asset.label} has no image extension", hint="name image assets by their format"
            )
        key = f"{digest}-{self.size}-v{THUMBNAIL_VERSION}"
        png, err = self.cache_dir / f"{key}.png", self.cache_dir / f"{key}.err"
        with self._lock_for(key):
            if not png.is_file() and not err.is_file():
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                with self._slots:
                    self._make(blobs, digest, suffix, png, err)
        if err.is_file():
            reason = err.read_text(encoding="utf-8", errors="replace").strip()
            raise InvalidInput(
                f"{asset.label} cannot be shown as a thumbnail: {reason}",
                hint="the bytes are kept; check the file with `rmtc verify` or re-ingest a good copy",
                details={"reason": reason},
            )
        return png

    def _lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _make(self, blobs: BlobStore, digest: str, suffix: str, png: Path, err: Path) -> None:
        with tempfile.TemporaryDirectory(prefix=".work-", dir=self.cache_dir) as work:
            source = Path(work) / f"source{suffix}"
            local = blobs.local_path(digest)
            if local is not None:
                if not blobs.verify(digest):
                    raise IntegrityError(
                        f"blob {digest} is corrupt: its bytes no longer hash to its name",
                        hint="run `rmtc verify`, then restore the blob from its source or a backup",
                    )
                source.symlink_to(local)
            else:
                with blobs.open(digest, verify=True) as src, source.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
            target = Path(work) / "thumb.png"
            reason = self._run(source, target)
            if reason is None:
                target.replace(png)
            else:
                tmp = Path(work) / "reason"
                tmp.write_text(reason + "\n", encoding="utf-8")
                tmp.replace(err)

    def _run(self, source: Path, target: Path) -> str | None:
        """Run one worker; None on success, else why the image cannot be shown."""
        request = {
            "source": str(source),
            "target": str(target),
            "size": self.size,
            "memory_limit": self.memory_limit,
            "cpu_limit": self.cpu_limit,
            "limits": _LIMITS,
        }
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MALLOC_ARENA_MAX="2")
        try:
            done = subprocess.run(
                _worker_command(),
                input=json.dumps(request).encode() + b"\n",
                capture_output=True,
                timeout=self.timeout,
                env=env,
                close_fds=True,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"the decoder timed out after {self.timeout:g} s"
        if done.returncode == 0 and target.is_file():
            return None
        # The reason is shown to the client: it names the image, never the server's paths.
        return _reason(done.returncode, done.stderr, self.cpu_limit).replace(str(source), "the image")


def _reason(rc: int, stderr: bytes, cpu_limit: float) -> str:
    lines = [ln.strip() for ln in stderr.decode(errors="replace").splitlines() if ln.strip()]
    tail = lines[-1][:300] if lines else ""
    if rc < 0:
        sig = signal.Signals(-rc)
        if sig == signal.SIGXCPU:
            return f"the decoder used more than its CPU limit of {cpu_limit:g} s"
        if sig == signal.SIGKILL:
            return "the decoder was killed (most likely out of memory)"
        return f"the decoder crashed ({sig.name})"
    if rc == 2 and tail:
        return tail
    return f"the decoder exited with status {rc}" + (f": {tail}" if tail else "")


def _worker_command() -> list[str]:
    """An isolated interpreter (``-I``) that registers the ``rmtc`` and ``rmtc.server`` packages without
    running their ``__init__`` (the worker needs neither the tracker facade nor the web framework)."""
    import rmtc
    import rmtc.server

    packages = [("rmtc", list(rmtc.__path__)), ("rmtc.server", list(rmtc.server.__path__))]
    boot = (
        "import sys, types\n"
        f"for name, path in {packages!r}:\n"
        "    pkg = types.ModuleType(name); pkg.__path__ = path; sys.modules[name] = pkg\n"
        "from rmtc.server import _thumb_worker\n"
        "_thumb_worker.main()\n"
    )
    return [sys.executable, "-I", "-c", boot]
