"""Bad input to training: each refused with one clear message, and nothing recorded."""

from __future__ import annotations

import numpy as np
import pytest

from rmtc.core.entities import DatasetVersion
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import InvalidInput, NotFound
from rmtc.services.ml import ML
from rmtc.vfx.image import Image
from rmtc.vfx.imageio import write_image

from .conftest import recipe_data, write_recipe


def _nothing_recorded(t):
    assert t.find(Kind.RUN).items == []
    assert t.find(Kind.CHECKPOINT).items == []
    assert t.find(Kind.WEIGHTS).items == []


def _exr(path, pixels, names):
    return write_image(path, Image(np.asarray(pixels, dtype=np.float32), names))


def _paired(t, pairs, name="bad"):
    lic = t.parties.add_license(f"{name}-lic", grants=["training"])
    ids = []
    for inp, tgt in pairs:
        report = t.ingestor.ingest([str(inp), str(tgt)], licenses=[lic], probe_media=False)
        ids.append((report.files[0].asset, report.files[1].asset))
    t.datasets.create(name, paired=True)
    t.datasets.add_pairs(name, ids)
    return t.datasets.snapshot(name)


def _train(t, tmp_path, dataset, **sections):
    return ML(t).training.train(write_recipe(tmp_path / "r.toml", recipe_data(dataset, **sections)))


def _frames(tmp_path, count, *, size=(40, 48), target_size=None, nan_at=None):
    rng = np.random.default_rng(0)
    pairs = []
    for i in range(count):
        frame = 1001 + i
        plate = rng.random((*size, 3))
        if nan_at == frame:
            plate[5, 7, 1] = np.nan
        th, tw = target_size or size
        pairs.append(
            (
                _exr(tmp_path / f"plate.{frame}.exr", plate, ("R", "G", "B")),
                _exr(tmp_path / f"matte.{frame}.exr", rng.random((th, tw, 1)), ("A",)),
            )
        )
    return pairs


def test_when_a_frame_has_nan_pixels_then_training_is_refused_naming_the_frame(project, tmp_path):
    _paired(project, _frames(tmp_path, 3, nan_at=1002))
    with pytest.raises(InvalidInput, match=r"plate\.1002\.exr -> matte\.1002\.exr \(input\) has 1 NaN"):
        _train(project, tmp_path, "bad@1")
    _nothing_recorded(project)


def test_when_a_target_frame_has_infinite_pixels_then_training_is_refused_naming_it(project, tmp_path):
    pairs = _frames(tmp_path, 3)
    matte = np.full((40, 48, 1), 0.5, np.float32)
    matte[9, 11, 0] = -np.inf
    _exr(pairs[2][1], matte, ("A",))
    _paired(project, pairs)
    with pytest.raises(
        InvalidInput, match=r"plate\.1003\.exr -> matte\.1003\.exr \(target\) has 0 NaN and 1 infinite"
    ):
        _train(project, tmp_path, "bad@1")
    _nothing_recorded(project)


def test_when_input_and_target_sizes_differ_then_training_is_refused_naming_the_pair(project, tmp_path):
    _paired(project, _frames(tmp_path, 3, target_size=(32, 32)))
    with pytest.raises(
        InvalidInput, match=r"plate\.1001\.exr -> matte\.1001\.exr: the input is 48x40 but the"
    ):
        _train(project, tmp_path, "bad@1")
    _nothing_recorded(project)


def test_when_a_frame_is_damaged_then_training_is_refused_naming_it(project, tmp_path):
    pairs = _frames(tmp_path, 3)
    data = pairs[1][1].read_bytes()
    pairs[1][1].write_bytes(data[: len(data) // 2])
    _paired(project, pairs)
    with pytest.raises(
        InvalidInput, match=r"plate\.1002\.exr -> matte\.1002\.exr \(target asset:matte\.1002"
    ):
        _train(project, tmp_path, "bad@1")
    _nothing_recorded(project)


def test_when_the_dataset_is_not_paired_then_training_is_refused(project, tmp_path):
    pairs = _frames(tmp_path, 2)
    lic = project.parties.add_license("lic", grants=["training"])
    report = project.ingestor.ingest([str(p) for p, _ in pairs], licenses=[lic], probe_media=False)
    project.datasets.create("plain")
    project.datasets.add("plain", [f.asset for f in report.files])
    project.datasets.snapshot("plain")
    with pytest.raises(InvalidInput, match="dataset_version:plain@1 is not a paired dataset"):
        _train(project, tmp_path, "plain@1")
    _nothing_recorded(project)


def test_when_the_dataset_has_no_version_then_training_is_refused(project, tmp_path):
    project.datasets.create("empty", paired=True)
    with pytest.raises(NotFound, match="dataset:empty has no versions"):
        _train(project, tmp_path, "empty")
    _nothing_recorded(project)


def test_when_a_version_has_no_members_then_training_is_refused(project, tmp_path):
    ds = project.datasets.create("hollow", paired=True)
    version = project.new(DatasetVersion, "hollow", version=1, content_hash="0" * 64, paired=True)
    project.record([version], [project.edge(version, Relation.VERSION_OF, ds)])
    with pytest.raises(InvalidInput, match="dataset_version:hollow@1 has no members"):
        _train(project, tmp_path, "hollow@1")
    _nothing_recorded(project)


def test_when_inputs_outnumber_targets_then_training_is_refused_naming_the_unpaired(project, tmp_path):
    pairs = _frames(tmp_path, 3)
    lic = project.parties.add_license("lic", grants=["training"])
    files = project.ingestor.ingest(
        [str(p) for pair in pairs for p in pair], licenses=[lic], probe_media=False
    )
    ids = [f.asset for f in files.files]
    ds = project.datasets.create("short", paired=True)
    version = project.new(
        DatasetVersion, "short", version=1, content_hash="1" * 64, paired=True, member_count=3
    )
    edges = [project.edge(version, Relation.VERSION_OF, ds)]
    for pair in range(3):
        edges.append(project.edge(ids[2 * pair], Relation.MEMBER_OF, version, role="input", pair=pair))
        if pair < 2:
            edges.append(
                project.edge(ids[2 * pair + 1], Relation.MEMBER_OF, version, role="target", pair=pair)
            )
    project.record([version], edges)
    with pytest.raises(InvalidInput, match=r"3 input frame\(s\) but 2 target frame\(s\): plate\.1003\.exr"):
        _train(project, tmp_path, "short@1")
    _nothing_recorded(project)


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"train": {"stepz": 4}}, r'recipe\.train\.stepz: unknown field \(did you mean "steps"\?\)'),
        ({"train": {"steps": "four"}}, r'recipe\.train\.steps: expected a positive integer, got "four"'),
        ({"model": {"size": "huge"}}, r"recipe\.model\.size: expected one of"),
        ({"solution": 7}, r"recipe\.solution: expected a string"),
    ],
)
def test_when_the_recipe_has_unknown_or_mistyped_fields_then_the_field_is_named(
    project, tmp_path, sections, message
):
    with pytest.raises(InvalidInput, match=message):
        _train(project, tmp_path, "anything@1", **sections)
    _nothing_recorded(project)


def test_when_the_recipe_names_no_dataset_then_that_field_is_named(project, tmp_path):
    with pytest.raises(InvalidInput, match=r"recipe\.data\.dataset: missing"):
        _train(project, tmp_path, "")


def test_when_the_recipe_is_not_toml_then_the_error_says_so(project, tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("version = \n")
    with pytest.raises(InvalidInput, match="is not valid TOML"):
        ML(project).training.train(path)
    with pytest.raises(NotFound, match="no recipe at"):
        ML(project).training.train(tmp_path / "missing.toml")
