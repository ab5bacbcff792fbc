"""Media info from image headers: :func:`probe` for one trusted file, :func:`probe_many` for ingest.

Decoders are where hostile files strike (OpenEXR and OpenImageIO keep fixing fuzzer-found overflows),
so :func:`probe_many` never opens a file in the calling process. Worker processes, each serving many
files, open them under an address-space limit (RLIMIT_AS), a CPU-time limit (RLIMIT_CPU) and a
wall-clock timeout, with the header's claimed size checked against :class:`Limits` (and OpenImageIO's
``limits:*`` attributes) before any pixel is allocated. A crash, an out-of-memory or a timeout costs one
worker, which is replaced, and marks that one file ``{"undecodable": reason}``; the caller never dies.

Result per file (JSON-friendly): ``{}`` when the path is not an image (an extension OpenImageIO does not
read, or a directory); ``{"undecodable": reason}``; else ``format``, ``width``, ``height``,
``channels``, ``channel_names``, ``pixel_type``, ``tiled``, ``data_window`` and ``display_window``
(``[x_min, y_min, x_max, y_max]``, inclusive as in EXR), ``colourspace`` and ``frame`` (None when the
header records none), and when present ``tile_size``, ``channel_types`` (mixed files), ``compression``,
``subimages``, ``deep`` and ``rmtc_attributes`` (the ``rmtc/...`` provenance attributes). A decode check
adds ``decoded`` and ``nonfinite`` (the count of NaN/Inf values). POSIX only.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from rmtc.errors import InvalidInput, RmtcError
from rmtc.vfx import _oiio
from rmtc.vfx._oiio import Limits
from rmtc.vfx._probe_worker import probe_file

__all__ = ["Limits", "ProbePool", "probe", "probe_many"]

#: Requests (and their bytes) a worker may have queued: pipelining keeps it busy while this process
#: waits for a CPU, and staying well under a pipe's 64 KiB buffer means sending never blocks.
_WINDOW = 256
_WINDOW_BYTES = 32 << 10
#: Files per worker below which starting another worker costs more than it saves.
_FILES_PER_WORKER = 64
_START_TIMEOUT = 60.0
_CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT, signal.SIGILL, signal.SIGFPE}


def probe(path: str | os.PathLike[str], *, limits: Limits | None = None) -> dict[str, Any]:
    """Media info of one file from its header, read in this process (see the module doc for the keys).

    Only the header is read and its claimed size checked against ``limits``; still, a decoder bug could
    take this process down, so files from outside go through :func:`probe_many`.

    Raises:
        InvalidInput: the file does not exist.
    """
    p = Path(path)
    if not p.exists():
        raise InvalidInput(f"cannot probe {p}: it does not exist", hint="check the path")
    if p.suffix.lower() not in _oiio.readable_extensions():
        return {}
    return probe_file(p, decode=False, limits=limits or Limits())


def probe_many(
    paths: Iterable[str | os.PathLike[str]],
    *,
    workers: int | None = None,
    timeout: float = 30.0,
    memory_limit: int = 2 << 30,
    cpu_limit: float | None = None,
    decode: bool = False,
    limits: Limits | None = None,
) -> list[dict[str, Any]]:
    """Media info of many files, in order, probed in sandboxed worker processes.

    Args:
        paths: the files; non-images get ``{}``, missing files ``{"undecodable": "file not found"}``.
        workers: worker processes (default: the CPU count, fewer for few files).
        timeout: wall-clock seconds one file may take before its worker is killed.
        memory_limit: bytes of address space a worker may add to what it holds after start-up (RLIMIT_AS;
            approximate, as memory it freed can be reused).
        cpu_limit: CPU seconds one file may use (default: ``timeout``).
        decode: decode every pixel too (and count NaN/Inf), not only the header.
        limits: the largest image accepted, checked from the header before decoding.

    Returns:
        One dict per path (see the module doc). Never raises for a bad file.

    Raises:
        RmtcError: a worker process could not start at all (a broken installation).
    """
    with ProbePool(
        workers=workers, timeout=timeout, memory_limit=memory_limit, cpu_limit=cpu_limit, limits=limits
    ) as pool:
        return pool.probe(paths, decode=decode)


class ProbePool:
    """Probe worker processes kept between calls (ingest probes batch after batch).

    Workers start on first use and are replaced when one dies or is killed. Use as a context manager, or
    call :meth:`close`. Calls from several threads at once are not supported.
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        timeout: float = 30.0,
        memory_limit: int = 2 << 30,
        cpu_limit: float | None = None,
        limits: Limits | None = None,
    ):
        if timeout <= 0 or memory_limit <= 0 or (workers is not None and workers < 1):
            raise InvalidInput(
                f"probe limits must be positive: workers={workers}, timeout={timeout}, "
                f"memory_limit={memory_limit}",
                hint="pass positive values",
            )
        self.max_workers = workers or os.cpu_count() or 1
        self.timeout = float(timeout)
        self.cpu_limit = float(cpu_limit) if cpu_limit else self.timeout
        self._config = {
            "memory_limit": int(memory_limit),
            "cpu_limit": self.cpu_limit,
            "limits": (limits or Limits()).to_dict(),
        }
        self._workers: list[_Worker] = []

    def __enter__(self) -> ProbePool:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker."""
        for w in self._workers:
            w.stop()
        self._workers.clear()

    def probe(self, paths: Iterable[str | os.PathLike[str]], *, decode: bool = False) -> list[dict[str, Any]]:
        """Media info of ``paths``, in order (see :func:`probe_many`)."""
        items = [str(Path(p).absolute()) for p in paths]
        results: list[dict[str, Any] | None] = [None] * len(items)
        readable = _oiio.readable_extensions()
        todo: collections.deque[int] = collections.deque()
        for i, path in enumerate(items):
            if Path(path).suffix.lower() in readable:
                todo.append(i)
            else:
                results[i] = {}
        if todo:
            wanted = max(1, min(self.max_workers, -(-len(todo) // _FILES_PER_WORKER)))
            while len(self._workers) < wanted:
                self._workers.append(_Worker(self._config))
            lock = threading.Lock()
            errors: list[BaseException] = []

            def guarded(worker: _Worker) -> None:
                try:
                    worker.drain(items, todo, lock, results, decode, self.timeout)
                except BaseException as exc:  # re-raised in the calling thread below
                    errors.append(exc)

            threads = [
                threading.Thread(target=guarded, args=(w,), daemon=True) for w in self._workers[1:wanted]
            ]
            for t in threads:
                t.start()
            guarded(self._workers[0])
            for t in threads:
                t.join()
            if errors:
                raise errors[0]
        return [r if r is not None else {"undecodable": "not probed"} for r in results]


class _Worker:
    """One worker process and its pipes; restarted lazily after a death."""

    def __init__(self, config: dict[str, Any]):
        self._config = config
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._buffer = b""

    # -- process lifecycle -------------------------------------------------------------------------
    def _start(self) -> None:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MALLOC_ARENA_MAX="2")
        self._proc = subprocess.Popen(
            _worker_command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            close_fds=True,
        )
        self._buffer = b""
        self._send(self._config)
        reply = self._read_line(_START_TIMEOUT)
        if not isinstance(reply, dict) or not reply.get("ready"):
            reason = self._death_reason() if reply is None else "no reply"
            self.stop()
            raise RmtcError(
                f"the image probe worker did not start ({reason})",
                hint="check that a fresh interpreter imports it: python -I -c 'import OpenImageIO'",
            )

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.stdin:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout:
                proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()

    def _death_reason(self) -> str:
        proc = self._proc
        if proc is None:
            return "the worker is gone"
        try:
            rc = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        tail = self._stderr_tail()
        if rc < 0:
            sig = signal.Signals(-rc)
            if sig == signal.SIGXCPU:
                return f"the decoder used more than its CPU limit of {self._config['cpu_limit']:g} s"
            if sig in _CRASH_SIGNALS:
                return f"the decoder crashed ({sig.name})" + (f": {tail}" if tail else "")
            if sig == signal.SIGKILL:
                return "the decoder was killed (most likely out of memory)"
            return f"the decoder was killed by {sig.name}"
        return f"the decoder process exited with status {rc}" + (f": {tail}" if tail else "")

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - 2048))
        lines = [ln.strip() for ln in self._stderr.read().decode(errors="replace").splitlines() if ln.strip()]
        return lines[-1][:300] if lines else ""

    # -- pipes -------------------------------------------------------------------------------------
    def _send(self, message: dict[str, Any]) -> bool:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(message).encode() + b"\n")
            self._proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def _read_line(self, timeout: float) -> dict[str, Any] | bool | None:
        """The next message; None at end of file (the worker died); False when ``timeout`` passed."""
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return False
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            message = json.loads(line)
        except ValueError:
            return {"garbled": True}
        return message if isinstance(message, dict) else {"garbled": True}

    # -- work --------------------------------------------------------------------------------------
    def drain(
        self,
        items: Sequence[str],
        todo: collections.deque[int],
        lock: threading.Lock,
        results: list[dict[str, Any] | None],
        decode: bool,
        timeout: float,
    ) -> None:
        """Probe files taken from ``todo`` until it is empty; every taken file gets a result."""
        pending: collections.deque[int] = collections.deque()
        retry: collections.deque[int] = collections.deque()
        queued_bytes = 0
        started = time.monotonic()
        while True:
            while not pending or (len(pending) < _WINDOW and queued_bytes < _WINDOW_BYTES):
                if retry:
                    i = retry.popleft()
                else:
                    with lock:
                        if not todo:
                            break
                        i = todo.popleft()
                if self._proc is None:
                    self._start()
                if not pending:
                    started = time.monotonic()
                pending.append(i)
                queued_bytes += _request_size(items[i])
                if not self._send({"i": i, "path": items[i], "decode": decode}):
                    break
            if not pending:
                return
            message = self._read_line(max(0.0, started + timeout - time.monotonic()))
            if isinstance(message, dict) and message.get("i") == pending[0]:
                queued_bytes -= _request_size(items[pending[0]])
                results[pending.popleft()] = message["result"]
                started = time.monotonic()
                continue
            if message is None:
                reason = self._death_reason()
            else:
                self._kill()
                reason = (
                    f"timed out after {timeout:g} s" if message is False else "the worker's reply was garbled"
                )
            results[pending.popleft()] = {"undecodable": reason}
            retry.extendleft(reversed(pending))
            pending.clear()
            queued_bytes = 0
            self.stop()


def _request_size(path: str) -> int:
    return len(path.encode(errors="replace")) + 48


def _worker_command() -> list[str]:
    """The worker's command line: an isolated interpreter (``-I``: no user site, no PYTHON* variables,
    not the current directory, so a file next to the images cannot shadow a module).

    It registers the ``rmtc`` package without running ``rmtc/__init__`` (the worker needs none of the
    tracker facade, and skipping it halves the start-up time), then serves requests.
    """
    import rmtc

    package_dirs = [str(Path(p)) for p in rmtc.__path__]
    boot = (
        "import sys, types; "
        f"pkg = types.ModuleType('rmtc'); pkg.__path__ = {package_dirs!r}; sys.modules['rmtc'] = pkg; "
        "from rmtc.vfx import _probe_worker; "
        "_probe_worker.main()"
    )
    return [sys.executable, "-I", "-c", boot]
