"""Building frozen dataclasses from values that are already known to be valid, fast.

A frozen dataclass's ``__init__`` stores each field with ``object.__setattr__`` (its own
``__setattr__`` refuses), about a third of a microsecond a field. That is nothing for one object and
most of the cost of a trace that rebuilds two thousand entities, the edges that reached them and the
steps that carry both. :func:`assembler` writes, once per class, a function that stores the fields
straight into the instance's slots, in the dataclass's field order, taking every value positionally.

It runs no ``__init__``: no default is filled in and no ``__post_init__`` is called, so it is only for
values a store has read back (validated when they were written) and for classes without
``__post_init__``, which it refuses.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


@functools.cache
def assembler(cls: type[T]) -> Callable[..., T]:
    """``assemble(*values)`` for ``cls`` (a frozen dataclass with ``slots=True``): the instance whose
    fields are ``values``, in :func:`dataclasses.fields` order, built without ``__init__``."""
    if not dataclasses.is_dataclass(cls) or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a dataclass with slots")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has __post_init__, which assembling would skip")
    names = [f.name for f in dataclasses.fields(cls)]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    namespace.update({f"_set_{n}": getattr(cls, n).__set__ for n in names})
    # Generated like dataclasses' own __init__: a loop over setters costs as much as __init__ does.
    # The names are the dataclass's field names, which are identifiers.
    body = "".join(f"    _set_{n}(o, {n})\n" for n in names)
    source = f"def assemble({', '.join(names)}):\n    o = _new(_cls)\n{body}    return o\n"
    exec(source, namespace)  # noqa: S102 - generated from field names only
    assemble: Callable[..., T] = namespace["assemble"]
    assemble.__qualname__ = f"assembler({cls.__qualname__})"
    return assemble
