"""Typed identifiers and references.

Entities are named by UUIDs so artefacts and their provenance can move between facilities. People
type references instead: a full UUID, a unique UUID prefix, or ``kind:name[@version]``. References are
parsed here, at the edge, into a :class:`Ref`; services never pass raw strings around as ids.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from typing import NewType

from rmtc.core.kinds import Kind
from rmtc.errors import InvalidInput

EntityId = NewType("EntityId", uuid.UUID)

_HEX_PREFIX = re.compile(r"^[0-9a-fA-F-]{4,36}$")
#: The shortest UUID prefix accepted: shorter ones are ambiguous in any real project.
MIN_PREFIX = 4


def new_id() -> EntityId:
    """A random (v4) UUID: facility-agnostic, so ids never collide when projects are merged."""
    return EntityId(uuid.uuid4())


def new_ids(count: int) -> list[EntityId]:
    """``count`` fresh ids, random (v4) UUIDs as :func:`new_id` makes them, drawn from the operating
    system's random source in one read: a bulk ingest names thousands of assets, and one read per id
    is one system call each, which gives up the interpreter lock every time."""
    pool = os.urandom(16 * count)
    return [EntityId(uuid.UUID(bytes=pool[i : i + 16], version=4)) for i in range(0, 16 * count, 16)]


def parse_id(text: str | uuid.UUID) -> EntityId:
    """Parse a full UUID or raise :class:`InvalidInput` naming the text."""
    if isinstance(text, uuid.UUID):
        return EntityId(text)
    try:
        return EntityId(uuid.UUID(str(text).strip()))
    except ValueError:
        raise InvalidInput(f"{text!r} is not a UUID", hint="give the full id shown by `rmtc ls`") from None


@dataclass(frozen=True, slots=True)
class Ref:
    """A parsed reference to one entity.

    Exactly one form is set: ``id`` (full UUID), ``prefix`` (a UUID prefix), or ``kind`` + ``name``
    with an optional ``version`` (a number, or an alias such as ``latest`` or ``production``).
    """

    id: EntityId | None = None
    prefix: str | None = None
    kind: Kind | None = None
    name: str | None = None
    version: str | None = None

    @classmethod
    def parse(cls, text: str | uuid.UUID) -> Ref:
        """Parse what a user typed; the error says which forms are accepted."""
        if isinstance(text, uuid.UUID):
            return cls(id=EntityId(text))
        raw = text.strip()
        if raw.startswith("rmtc://"):
            raw = raw[len("rmtc://") :].strip("/").replace("/", ":", 1)
        if not raw:
            raise InvalidInput("empty reference", hint="give a UUID, a UUID prefix or kind:name[@version]")
        if ":" in raw:
            kind_text, _, rest = raw.partition(":")
            kind = Kind.parse(kind_text)
            name, at, version = rest.rpartition("@") if "@" in rest else (rest, "", "")
            if not name:
                raise InvalidInput(f"reference {text!r} has no name", hint="write kind:name[@version]")
            return cls(kind=kind, name=name, version=version if at else None)
        try:
            return cls(id=EntityId(uuid.UUID(raw)))
        except ValueError:
            pass
        if _HEX_PREFIX.match(raw) and len(raw.replace("-", "")) >= MIN_PREFIX:
            return cls(prefix=raw.lower())
        raise InvalidInput(
            f"cannot read reference {text!r}",
            hint=f"give a UUID, a UUID prefix of at least {MIN_PREFIX} hex digits, or kind:name[@version]",
        )

    def __str__(self) -> str:
        if self.id is not None:
            return str(self.id)
        if self.prefix is not None:
            return self.prefix
        assert self.kind is not None
        suffix = f"@{self.version}" if self.version is not None else ""
        return f"{self.kind.value}:{self.name}{suffix}"
