"""Pausing Python's cyclic garbage collector around work that builds many objects that all live until
it is done.

A bulk load's batch, or a revocation's impact (tens of thousands of references, edges and rows),
allocates objects in waves that trigger collections; each walks every live object, the work's own and
the application's, and frees nothing, since everything built is still in use. That was about a tenth of
a bulk load's write time and a fifth of a talent's revocation impact. The little cyclic garbage such
work makes (a refused batch's traceback) waits for the next collection: the collector resumes as soon
as the work ends, however it ends. One the application paused itself stays paused.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused(when: bool = True) -> Iterator[None]:
    """The collector paused for the block, ``when`` it is worth it (and not paused already)."""
    if not when or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
