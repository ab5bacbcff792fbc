"""Helpers of the ML tests: tiny recipes, so every training test runs in seconds."""

from __future__ import annotations

from typing import Any

from rmtc.ml.recipe import RECIPE_VERSION, Recipe, parse_recipe


def tiny_recipe(**sections: dict[str, Any]) -> Recipe:
    """A recipe for a few fast steps on small patches; ``sections`` override fields per section."""
    data: dict[str, Any] = {
        "version": RECIPE_VERSION,
        "data": {"patch_size": 32, "batch_size": 2, "validation_count": 1, "validation_size": 48},
        "model": {"size": "small"},
        "train": {
            "steps": 6,
            "warmup_steps": 2,
            "validate_every": 3,
            "checkpoint_every": 3,
            "progress": False,
        },
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return parse_recipe(data)
