"""Parsing the little filter expressions the CLI accepts (``lr=0.001``, ``val_loss<0.1``)."""

from __future__ import annotations

import re

from rmtc.errors import InvalidInput

_METRIC = re.compile(r"^\s*([\w./-]+)\s*(<=|>=|!=|<|>|=)\s*(\S+)\s*$")


def parse_param(text: str) -> tuple[str, str | int | float | bool]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise InvalidInput(f"param filter {text!r} is not KEY=VALUE", hint="write e.g. --param lr=0.001")
    return key.strip(), parse_value(value.strip())


def parse_metric(text: str) -> tuple[str, str, float]:
    m = _METRIC.match(text)
    if not m:
        raise InvalidInput(
            f"metric filter {text!r} cannot be read", hint="write e.g. --metric 'val_loss<0.1'"
        )
    try:
        return m.group(1), m.group(2), float(m.group(3))
    except ValueError:
        raise InvalidInput(
            f"metric filter {text!r} compares with a non-number", hint="use a number"
        ) from None


def parse_value(text: str) -> str | int | float | bool:
    """Read a param value as the type it looks like, so ``lr=0.001`` matches a float param."""
    if text in ("true", "false"):
        return text == "true"
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            continue
    return text
