"""Training recipes: a versioned TOML file, checked against a schema whose errors name the field.

A recipe is what ``rmtc train RECIPE.toml`` runs and what a run records as its parameters, so the same
recipe rebuilds the same model. Example::

    version = "rmtc.Recipe/1"
    name = "matte-small"

    [data]
    dataset = "matte@3"        # resolved by the caller: a dataset version reference
    patch_size = 256
    batch_size = 4

    [model]
    architecture = "unet"
    size = "small"
    out_channels = 1           # 0 (the default) takes the count from the frames

    [train]
    steps = 2000
    learning_rate = 0.001

``data.dataset`` and ``model.init_weights`` are references the caller resolves (a dataset version, a
weights file or version); the trainer itself takes frames and paths.

Every mistake is reported at once, one per field, as ``recipe.train.steps: expected a positive integer,
got "ten"``; unknown fields are refused (with the closest known name), so a typo never silently falls
back to a default.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import tomllib
import typing
from dataclasses import MISSING, Field, asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Final, Literal

from rmtc.errors import InvalidInput, NotFound

RECIPE_VERSION: Final = "rmtc.Recipe/1"


def _num(default: Any, lo: float | None = None, hi: float | None = None, lo_open: bool = False) -> Any:
    return field(default=default, metadata={"lo": lo, "hi": hi, "lo_open": lo_open})


@dataclass(frozen=True, slots=True)
class DataSpec:
    """Which frames, and how they are cut into training patches."""

    dataset: str = ""
    patch_size: int = _num(256, 8, 8192)
    batch_size: int = _num(4, 1, 1024)
    augment: bool = True
    validation_frames: tuple[int, ...] = _num((), 0)
    validation_count: int = _num(1, 0)
    validation_size: int = _num(256, 8, 8192)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """The network: see :class:`rmtc.ml.nets.NetConfig`; channel counts of 0 come from the frames."""

    architecture: str = "unet"
    size: Literal["small", "medium", "large"] = "small"
    in_channels: int = _num(0, 0, 64)
    out_channels: int = _num(0, 0, 64)
    scale: int = _num(1, 1, 8)
    residual: bool = False
    hdr: Literal["none", "log"] = "log"
    init_weights: str = ""


@dataclass(frozen=True, slots=True)
class TrainSpec:
    """The optimisation: AdamW, linear warm-up then cosine decay to ``min_lr_ratio`` of the rate.

    A warm-up longer than the run is cut to the run; ``validate_every`` and ``checkpoint_every`` of 0
    validate and checkpoint only at the end.
    """

    steps: int = _num(MISSING, 1)
    learning_rate: float = _num(1e-3, 0.0, 1.0, lo_open=True)
    weight_decay: float = _num(1e-4, 0.0, 1.0)
    warmup_steps: int = _num(100, 0)
    min_lr_ratio: float = _num(0.01, 0.0, 1.0)
    loss: Literal["l1", "l1+ssim"] = "l1"
    ssim_weight: float = _num(0.2, 0.0, 1.0)
    grad_clip: float = _num(0.0, 0.0)
    seed: int = _num(0, 0, 2**63 - 1)
    device: str = "auto"
    validate_every: int = _num(100, 0)
    checkpoint_every: int = _num(500, 0)
    keep_checkpoints: int = _num(0, 0)
    contact_sheet: bool = True
    contact_sheet_size: int = _num(128, 8, 2048)
    val_metrics: tuple[Literal["l1", "psnr", "ssim", "iou"], ...] = ("l1", "psnr")
    progress: bool = True


@dataclass(frozen=True, slots=True)
class Recipe:
    """A whole recipe; ``version`` must be :data:`RECIPE_VERSION`."""

    train: TrainSpec
    version: str = RECIPE_VERSION
    name: str = ""
    data: DataSpec = field(default_factory=DataSpec)
    model: ModelSpec = field(default_factory=ModelSpec)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (lists for tuples), as a run records its parameters."""
        return json.loads(json.dumps(asdict(self)))  # type: ignore[no-any-return]


def load_recipe(path: str | os.PathLike[str]) -> Recipe:
    """Read and check a TOML recipe.

    Raises:
        NotFound: no such file. InvalidInput: not TOML (with the line) or not a valid recipe (every
            wrong field named in the message; ``details["errors"]`` lists them).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"no recipe at {p}", hint="check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read the recipe {p}: {exc}", hint="give a UTF-8 TOML file") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{p} is not valid TOML: {exc}", hint="fix the TOML syntax") from exc
    return parse_recipe(data, source=str(p))


def parse_recipe(data: Any, source: str = "recipe") -> Recipe:
    """Check plain data (parsed TOML or :meth:`Recipe.to_dict` output) and build a :class:`Recipe`."""
    errors: list[str] = []
    if isinstance(data, dict) and "version" not in data:
        errors.append(f'recipe.version: missing; the first line should be version = "{RECIPE_VERSION}"')
    elif isinstance(data, dict) and data["version"] != RECIPE_VERSION:
        errors.append(f"recipe.version: expected {json.dumps(RECIPE_VERSION)}, got {_show(data['version'])}")
    recipe = _build(Recipe, data, "recipe", errors)
    if recipe is not None and not errors:
        _cross_checks(recipe, errors)
    if errors or recipe is None:
        where = "" if source == "recipe" else f" in {source}"
        raise InvalidInput(
            "; ".join(errors),
            hint=f"fix the named field(s){where}",
            details={"errors": errors, "source": source},
        )
    assert isinstance(recipe, Recipe)
    return recipe


def _cross_checks(recipe: Recipe, errors: list[str]) -> None:
    t, m = recipe.train, recipe.model
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", t.device):
        errors.append(
            f'recipe.train.device: expected "auto", "cpu", "cuda" or "cuda:N", got {_show(t.device)}'
        )
    if m.residual and m.in_channels and m.out_channels and m.in_channels != m.out_channels:
        errors.append(
            f"recipe.model.residual: a residual model needs equal channel counts, got in_channels = "
            f"{m.in_channels} and out_channels = {m.out_channels}"
        )
    if len(set(recipe.data.validation_frames)) != len(recipe.data.validation_frames):
        errors.append("recipe.data.validation_frames: expected distinct frame indices")


def _build(cls: type, data: Any, path: str, errors: list[str]) -> Any:
    if not isinstance(data, dict):
        errors.append(f"{path}: expected a table, got {_show(data)}")
        return None
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.7)
            suggestion = f' (did you mean "{close[0]}"?)' if close else f"; known fields: {', '.join(known)}"
            errors.append(f"{path}.{key}: unknown field{suggestion}")
    values: dict[str, Any] = {}
    for name, f in known.items():
        if name not in data:
            if f.default is MISSING and f.default_factory is MISSING:
                errors.append(f"{path}.{name}: missing (required)")
            continue
        value = _check(hints[name], f, data[name], f"{path}.{name}", errors)
        if value is not _BAD:
            values[name] = value
    try:
        return cls(**values)
    except TypeError:  # a required field was missing or bad: already reported
        return None


_BAD: Final = object()


def _check(tp: Any, f: Field[Any] | None, value: Any, path: str, errors: list[str]) -> Any:
    if is_dataclass(tp):
        built = _build(tp, value, path, errors)  # type: ignore[arg-type]
        return _BAD if built is None else built
    origin = typing.get_origin(tp)
    if origin is Literal:
        choices = typing.get_args(tp)
        if value in choices and isinstance(value, str):
            return value
        errors.append(
            f"{path}: expected one of {', '.join(json.dumps(c) for c in choices)}, got {_show(value)}"
        )
        return _BAD
    if origin is tuple:
        item = typing.get_args(tp)[0]
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list, got {_show(value)}")
            return _BAD
        items = [_check(item, f, v, f"{path}[{i}]", errors) for i, v in enumerate(value)]
        return _BAD if any(v is _BAD for v in items) else tuple(items)
    meta = f.metadata if f is not None else {}
    lo, hi, lo_open = meta.get("lo"), meta.get("hi"), meta.get("lo_open", False)
    if tp is bool:
        if isinstance(value, bool):
            return value
        errors.append(f"{path}: expected true or false, got {_show(value)}")
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and _in_range(value, lo, hi, lo_open)
        if ok:
            return value
        errors.append(f"{path}: expected {_int_phrase(lo, hi)}, got {_show(value)}")
    elif tp is float:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and math.isfinite(value) and _in_range(value, lo, hi, lo_open):
            return float(value)
        errors.append(f"{path}: expected {_float_phrase(lo, hi, lo_open)}, got {_show(value)}")
    elif tp is str:
        if isinstance(value, str):
            return value
        errors.append(f"{path}: expected a string, got {_show(value)}")
    else:  # pragma: no cover - a schema type this checker does not know
        raise TypeError(f"unsupported recipe field type {tp!r} at {path}")
    return _BAD


def _in_range(v: float, lo: float | None, hi: float | None, lo_open: bool) -> bool:
    if lo is not None and (v <= lo if lo_open else v < lo):
        return False
    return hi is None or v <= hi


def _int_phrase(lo: float | None, hi: float | None) -> str:
    if hi is None:
        words = {0: "a non-negative integer", 1: "a positive integer"}
        return "an integer" if lo is None else words.get(int(lo), f"an integer of at least {lo}")
    return f"an integer from {lo} to {hi}"


def _float_phrase(lo: float | None, hi: float | None, lo_open: bool) -> str:
    if lo is None and hi is None:
        return "a number"
    if hi is None:
        return f"a number {'above' if lo_open else 'of at least'} {lo:g}"
    return f"a number in {'(' if lo_open else '['}{lo:g}, {hi:g}]"


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def dump_recipe(recipe: Recipe) -> str:
    """The recipe as TOML text that :func:`load_recipe` reads back to an equal recipe."""
    data = recipe.to_dict()
    lines = [f"{k} = {_toml(data[k])}" for k in ("version", "name")]
    for section in ("data", "model", "train"):
        lines += ["", f"[{section}]"]
        lines += [f"{k} = {_toml(v)}" for k, v in data[section].items()]
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    return json.dumps(value)


def recipe_types() -> dict[str, dict[str, str]]:
    """Each section's fields and their types in words, for docs and command help."""
    out: dict[str, dict[str, str]] = {}
    for section, cls in (("data", DataSpec), ("model", ModelSpec), ("train", TrainSpec)):
        hints = typing.get_type_hints(cls)
        out[section] = {f.name: _type_name(hints[f.name]) for f in fields(cls)}
    return out


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(json.dumps(c) for c in typing.get_args(tp))
    if origin is tuple:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(tp, str(tp))
