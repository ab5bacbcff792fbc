"""The probe worker: a separate process that opens untrusted images under memory and CPU limits.

It speaks JSON lines. The parent (:class:`rmtc.vfx.media.ProbePool`) sends one configuration line, the
worker answers ``{"ready": true}``, then each request ``{"i": 7, "path": "...", "decode": false}`` gets
``{"i": 7, "result": {...}}``, in order. Requests are answered strictly in order, so when the worker
dies the parent knows the file that killed it: the oldest unanswered one.

Only this module, :mod:`rmtc.vfx._oiio`, OpenImageIO and numpy are imported here, so a worker starts in
a fraction of a second.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import OpenImageIO as oiio  # noqa: N813 - the name every OpenImageIO user knows

from rmtc.vfx import _oiio
from rmtc.vfx._oiio import Limits

OUT_OF_MEMORY = "out of memory while decoding (the image needs more than the worker's memory limit)"


def probe_file(path: str | os.PathLike[str], *, decode: bool, limits: Limits) -> dict[str, Any]:
    """Media info of one file from its header, optionally after decoding every pixel.

    Returns ``{}`` for something that is not a regular file, ``{"undecodable": reason}`` for a file that
    cannot be opened, exceeds ``limits`` or fails to decode, else the header fields of
    :func:`rmtc.vfx._oiio.header_of` (plus ``decoded`` and ``nonfinite`` after a decode).
    """
    p = Path(path)
    if not p.exists():
        return {"undecodable": "file not found"}
    if not p.is_file():
        return {}
    inp = _oiio.try_open(p)
    if inp is None:
        return {"undecodable": _oiio.first_line(oiio.geterror())}
    try:
        spec = inp.spec()
        problem = _oiio.limit_violation(spec, limits)
        if problem:
            return {"undecodable": problem}
        info = _oiio.header_of(inp, spec)
        if decode:
            if spec.deep:
                return {**info, "decoded": False}
            pixel_type, _ = _oiio.read_type(spec)
            pixels = inp.read_image(0, 0, 0, int(spec.nchannels), pixel_type)
            if pixels is None:
                return {"undecodable": f"the pixels cannot be decoded: {_oiio.first_line(inp.geterror())}"}
            arr = np.asarray(pixels)
            bad = int(arr.size - np.count_nonzero(np.isfinite(arr))) if arr.dtype.kind == "f" else 0
            info.update(decoded=True, nonfinite=bad)
        return info
    except MemoryError:
        return {"undecodable": OUT_OF_MEMORY}
    finally:
        inp.close()


def _limit_resources(memory_limit: int | None) -> None:
    import resource

    # A decoder crash must not leave a core file (as large as the worker, holding the image's bytes).
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_limit:
        try:
            with open("/proc/self/statm") as f:
                vm_now = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            vm_now = 0
        ceiling = vm_now + int(memory_limit)
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            ceiling = min(ceiling, hard)
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))


def _arm_cpu_limit(cpu_limit: float | None) -> None:
    """Allow the next file ``cpu_limit`` more CPU seconds; past that the kernel sends SIGXCPU."""
    if not cpu_limit:
        return
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + cpu_limit)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _reply(out: BinaryIO, message: dict[str, Any]) -> None:
    out.write(json.dumps(message).encode() + b"\n")
    out.flush()


def main() -> None:
    """Serve requests from stdin until it closes."""
    # The protocol gets its own descriptor; anything a decoder prints goes to stderr instead.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    stdin = sys.stdin.buffer
    config = json.loads(stdin.readline() or b"{}")
    limits = Limits(**config.get("limits", {}))
    oiio.attribute("threads", 1)
    oiio.attribute("exr_threads", -1)
    limits.apply_to_openimageio()
    _limit_resources(config.get("memory_limit"))
    cpu_limit = config.get("cpu_limit")
    _reply(out, {"ready": True})
    for line in stdin:
        request = json.loads(line)
        _arm_cpu_limit(cpu_limit)
        try:
            result = probe_file(request["path"], decode=bool(request.get("decode")), limits=limits)
        except MemoryError:
            result = {"undecodable": OUT_OF_MEMORY}
        except Exception as exc:
            result = {"undecodable": f"{type(exc).__name__}: {exc}"}
        _reply(out, {"i": request["i"], "result": result})


if __name__ == "__main__":
    main()
