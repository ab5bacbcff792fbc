from __future__ import annotations

import tomllib

import pytest

from rmtc.errors import InvalidInput, NotFound
from rmtc.ml.recipe import RECIPE_VERSION, dump_recipe, load_recipe, parse_recipe, recipe_types

EXAMPLE = """
version = "rmtc.Recipe/1"
name = "matte-small"

[data]
dataset = "matte@3"
patch_size = 128
validation_frames = [0, 5]

[model]
size = "medium"
out_channels = 1
hdr = "none"

[train]
steps = 2000
learning_rate = 5e-4
loss = "l1+ssim"
val_metrics = ["l1", "iou"]
"""


def _errors(data) -> str:
    with pytest.raises(InvalidInput) as err:
        parse_recipe(data)
    return err.value.message


def test_a_recipe_file_loads_with_defaults_for_what_it_leaves_out(tmp_path):
    path = tmp_path / "matte.toml"
    path.write_text(EXAMPLE)
    recipe = load_recipe(path)
    assert recipe.name == "matte-small" and recipe.version == RECIPE_VERSION
    assert recipe.data.validation_frames == (0, 5) and recipe.data.batch_size == 4
    assert recipe.model.size == "medium" and recipe.model.in_channels == 0
    assert recipe.train.learning_rate == 5e-4 and recipe.train.val_metrics == ("l1", "iou")


def test_dumped_recipes_read_back_equal():
    recipe = parse_recipe(tomllib.loads(EXAMPLE))
    assert parse_recipe(tomllib.loads(dump_recipe(recipe))) == recipe
    assert parse_recipe(recipe.to_dict()) == recipe


def test_a_mistyped_value_is_named_with_the_field_and_the_value():
    message = _errors({"version": RECIPE_VERSION, "train": {"steps": "ten"}})
    assert message == 'recipe.train.steps: expected a positive integer, got "ten"'


def test_an_unknown_field_is_refused_with_the_closest_known_name():
    message = _errors({"version": RECIPE_VERSION, "train": {"steps": 5, "learnig_rate": 0.1}})
    assert message == 'recipe.train.learnig_rate: unknown field (did you mean "learning_rate"?)'
    message = _errors({"version": RECIPE_VERSION, "train": {"steps": 5}, "optimiser": {}})
    assert message.startswith("recipe.optimiser: unknown field; known fields: train, version")


@pytest.mark.parametrize(
    ("section", "values", "expected"),
    [
        ("train", {"learning_rate": 2.0}, "recipe.train.learning_rate: expected a number in (0, 1], got 2.0"),
        ("train", {"learning_rate": 0}, "recipe.train.learning_rate: expected a number in (0, 1], got 0"),
        ("train", {"warmup_steps": -1}, "recipe.train.warmup_steps: expected a non-negative integer, got -1"),
        ("train", {"loss": "l2"}, 'recipe.train.loss: expected one of "l1", "l1+ssim", got "l2"'),
        ("train", {"progress": "yes"}, 'recipe.train.progress: expected true or false, got "yes"'),
        (
            "train",
            {"device": "cuda:x"},
            'recipe.train.device: expected "auto", "cpu", "cuda" or "cuda:N", got "cuda:x"',
        ),
        ("data", {"patch_size": 4}, "recipe.data.patch_size: expected an integer from 8 to 8192, got 4"),
        (
            "data",
            {"validation_frames": [1, "two"]},
            "recipe.data.validation_frames[1]: expected a non-negative",
        ),
        ("data", {"validation_frames": 3}, "recipe.data.validation_frames: expected a list, got 3"),
        (
            "model",
            {"size": "huge"},
            'recipe.model.size: expected one of "small", "medium", "large", got "huge"',
        ),
        ("model", {"scale": True}, "recipe.model.scale: expected an integer from 1 to 8, got true"),
        ("model", "unet", 'recipe.model: expected a table, got "unet"'),
    ],
)
def test_out_of_range_and_wrong_types_name_the_field(section, values, expected):
    data = {"version": RECIPE_VERSION, "train": {"steps": 5}}
    data[section] = {**data.get(section, {}), **values} if isinstance(values, dict) else values
    assert _errors(data).startswith(expected)


def test_every_mistake_is_reported_at_once_and_listed_in_details():
    with pytest.raises(InvalidInput) as err:
        parse_recipe({"version": RECIPE_VERSION, "train": {"steps": 0, "seed": -3}, "model": {"hdr": 1}})
    assert len(err.value.details["errors"]) == 3
    assert "recipe.train.steps" in err.value.message and "recipe.model.hdr" in err.value.message


def test_the_version_label_is_required_and_other_versions_refused():
    assert _errors({"train": {"steps": 5}}).startswith("recipe.version: missing")
    assert _errors({"version": "rmtc.Recipe/2", "train": {"steps": 5}}) == (
        'recipe.version: expected "rmtc.Recipe/1", got "rmtc.Recipe/2"'
    )


def test_missing_required_sections_and_fields_are_named():
    assert _errors({"version": RECIPE_VERSION}) == "recipe.train: missing (required)"
    assert _errors({"version": RECIPE_VERSION, "train": {}}) == "recipe.train.steps: missing (required)"


def test_a_residual_model_with_unequal_channels_is_refused_before_training():
    message = _errors(
        {
            "version": RECIPE_VERSION,
            "train": {"steps": 5},
            "model": {"residual": True, "in_channels": 3, "out_channels": 1},
        }
    )
    assert message.startswith("recipe.model.residual: a residual model needs equal channel counts")


def test_broken_toml_and_missing_files_name_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('version = "rmtc.Recipe/1"\n[train\nsteps = 3\n')
    with pytest.raises(InvalidInput, match=r"bad\.toml is not valid TOML.*line 2"):
        load_recipe(path)
    path.write_text('version = "rmtc.Recipe/1"\n[train]\nsteps = "ten"\n')
    with pytest.raises(InvalidInput) as err:
        load_recipe(path)
    assert str(path) in (err.value.hint or "")
    with pytest.raises(NotFound):
        load_recipe(tmp_path / "nope.toml")


def test_the_schema_describes_every_field_in_words():
    types = recipe_types()
    assert types["train"]["steps"] == "integer"
    assert types["model"]["hdr"] == '"none" | "log"'
    assert types["data"]["validation_frames"] == "list of integer"
