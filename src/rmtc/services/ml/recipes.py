"""What a recipe names, resolved against the project: the recipe itself (with the tracking field
``solution``) and the base weights of a fine-tuning run."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import Entity, ModelVersion, Weights
from rmtc.core.hashing import hash_file
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import InvalidInput, NotFound
from rmtc.services.ml.files import blob_file
from rmtc.services.ml.models import config_of

if TYPE_CHECKING:
    from rmtc.api.tracker import Tracker
    from rmtc.ml.recipe import Recipe


def read_recipe(source: str | Path | Mapping[str, Any]) -> tuple[Recipe, str | None]:
    """A recipe and the solution it names, from a TOML file or parsed data.

    Raises:
        NotFound: no such file. InvalidInput: not TOML, or not a valid recipe (every wrong field named).
    """
    from rmtc.ml.recipe import parse_recipe

    if isinstance(source, Mapping):
        data, where = dict(source), "recipe"
    else:
        p = Path(source)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFound(f"no recipe at {p}", hint="check the path") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"cannot read the recipe {p}: {exc}", hint="give a UTF-8 TOML file") from exc
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput(f"{p} is not valid TOML: {exc}", hint="fix the TOML syntax") from exc
        where = str(p)
    solution = data.pop("solution", None)
    if solution is not None and not isinstance(solution, str):
        raise InvalidInput(
            f"recipe.solution: expected a string, got {type(solution).__name__}",
            hint=f'name the solution (solution = "NAME") in {where}',
        )
    return parse_recipe(data, source=where), solution or None


def base_weights(t: Tracker, text: str) -> Weights | None:
    """The weights a recipe's ``model.init_weights`` names: a reference (weights, or a model version's
    source weights), or a file whose bytes are recorded weights. Empty: none."""
    if not text.strip():
        return None
    p = Path(text).expanduser()
    if p.is_file():
        digest, _ = hash_file(p)
        found = t.find(Kind.WEIGHTS, content_hash=digest, limit=1).items
        if not found:
            raise NotFound(
                f"recipe.model.init_weights: {p} is not recorded weights",
                hint="record it first: `rmtc model push FILE --name NAME --license LICENCE`",
            )
        entity: Entity = found[0]
    else:
        entity = t.resolve_named(text, Kind.WEIGHTS)
    if isinstance(entity, ModelVersion):
        sources = [w for w in t.neighbours(entity, Relation.DERIVED_FROM) if isinstance(w, Weights)]
        if not sources:
            raise InvalidInput(f"{entity.label} has no source weights", hint="name the weights directly")
        entity = sources[0]
    if not isinstance(entity, Weights) or entity.format != "safetensors":
        raise InvalidInput(
            f"recipe.model.init_weights: {entity.label} is not safetensors weights",
            hint="fine-tune from weights rmtc trained or pushed as safetensors",
        )
    return entity


def materialize_weights(t: Tracker, weights: Weights, work: Path) -> Path:
    """The weights as a file with their config in its header (pushed files may lack it)."""
    from rmtc.ml.nets import NetConfig
    from rmtc.ml.weights import load_model, save_weights

    assert weights.content_hash is not None
    config = config_of(weights)
    with blob_file(t, weights.content_hash) as path:
        model = load_model(path, config=NetConfig.from_dict(config)) if config else load_model(path)
    return save_weights(model, work / "base" / "weights.safetensors")
