"""What the domain routes share: reference and date parameters, and attachment headers."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import Path, Query

from rmtc.core.entities import parse_date

#: A reference as people type it: a UUID, a prefix, ``kind:name[@version]`` (never a path: no ``/``).
RefParam = Annotated[
    str, Path(min_length=1, max_length=512, description="UUID, UUID prefix or kind:name[@version]")
]
AtParam = Annotated[str | None, Query(max_length=10, description="Evaluate on this date (YYYY-MM-DD).")]

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]+")


def day(text: str | None, what: str = "at") -> date | None:
    """A ``YYYY-MM-DD`` query value as a date (``InvalidInput``, so 422, when it is not one)."""
    return parse_date(text, what) if text else None


def attachment(filename: str) -> dict[str, str]:
    """Headers that make a browser save the response under ``filename`` and never render it.

    The name is reduced to safe ASCII for the plain parameter and given whole, percent-encoded, in
    ``filename*`` (RFC 6266), so a name holding quotes, CR/LF, slashes or markup cannot inject a header,
    a path or a script.
    """
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    ascii_name = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    ascii_name = _UNSAFE.sub("_", ascii_name).strip("._") or "download"
    encoded = quote(base, safe="")[:600] or ascii_name
    return {
        "Content-Disposition": f"attachment; filename=\"{ascii_name[:150]}\"; filename*=UTF-8''{encoded}",
        "X-Content-Type-Options": "nosniff",
    }
