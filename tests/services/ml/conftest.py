"""Fixtures of the ML pipeline tests: tiny generated footage, licensed paired datasets, tiny recipes.

Frames are 40 x 48 EXRs and recipes train a handful of steps on 32-pixel patches, with one torch thread
(see tests/ml/conftest.py for why), so a full train -> publish -> infer flow takes seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from rmtc.cli.main import main

FRAMES = range(1001, 1007)
SIZE = (48, 40)
TRAIN_FRAMES = "1001-1004"


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def footage(tmp_path_factory):
    """Plates (RGB) and their mattes (A), frames 1001-1006: the demo's matte task, small."""
    from rmtc.vfx.synthetic import make_matte_task

    return make_matte_task(tmp_path_factory.mktemp("footage"), frames=FRAMES, size=SIZE, seed=1)


def recipe_data(dataset: str, **sections) -> dict:
    data = {
        "version": "rmtc.Recipe/1",
        "name": "matte-tiny",
        "data": {
            "dataset": dataset,
            "patch_size": 32,
            "batch_size": 2,
            "validation_count": 1,
            "validation_size": 32,
        },
        "model": {"size": "small"},
        "train": {
            "steps": 4,
            "warmup_steps": 1,
            "validate_every": 2,
            "checkpoint_every": 2,
            "contact_sheet_size": 32,
            "val_metrics": ["l1", "iou"],
            "progress": False,
        },
    }
    for name, values in sections.items():
        if isinstance(values, dict):
            data.setdefault(name, {}).update(values)
        else:
            data[name] = values
    return data


def write_recipe(path: Path, data: dict) -> Path:
    """A TOML recipe file from plain data (tables of scalars and lists only)."""

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(v)

    lines = [f"{k} = {value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for section, values in data.items():
        if isinstance(values, dict):
            lines += ["", f"[{section}]", *(f"{k} = {value(v)}" for k, v in values.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class Show:
    """A project with licensed footage and a paired dataset version of four frame pairs."""

    t: object
    license: object
    talent: object
    version: object
    footage: object


def licensed_show(t, footage, *, grants=("training", "inference", "derivatives"), name="matte"):
    """Ingest the footage under a licence and a talent agreement, and snapshot a paired dataset."""
    talent = t.parties.add_talent("ava_reyes")
    lic = t.parties.add_license("plates-2026", grants=list(grants))
    t.parties.add_license("ava-agreement", grants=list(grants), parties=[talent], agreement=True, finish=None)
    plates = t.ingestor.ingest(
        [footage.sequence("plate").pattern], talent=[talent], licenses=[lic], probe_media=False
    )
    mattes = t.ingestor.ingest([footage.sequence("matte").pattern], licenses=[lic], probe_media=False)
    by_frame = {f.frame: f.asset for f in mattes.files}
    t.datasets.create(name, paired=True)
    pairs = [(f.asset, by_frame[f.frame]) for f in plates.files if 1001 <= f.frame <= 1004]
    t.datasets.add_pairs(name, pairs)
    return Show(t, lic, talent, t.datasets.snapshot(name), footage)


@pytest.fixture(scope="session")
def weights_file(tmp_path_factory):
    """Safetensors weights of a tiny 3 -> 1 U-Net trained two steps (with rmtc's config header)."""
    from rmtc.ml.data import ArrayPairs
    from rmtc.ml.recipe import parse_recipe
    from rmtc.ml.train import Trainer

    rng = np.random.default_rng(0)
    inputs = [rng.random((40, 48, 3), dtype=np.float32) for _ in range(3)]
    targets = [(x[:, :, :1] > 0.5).astype(np.float32) for x in inputs]
    data = recipe_data("unused")
    data["train"].update(steps=2, checkpoint_every=0, contact_sheet=False)
    out = tmp_path_factory.mktemp("trained")
    result = Trainer(parse_recipe(data), ArrayPairs(inputs, targets), out).fit()
    return result.weights


class Cli:
    """Runs the real CLI in-process against one project and captures what a user would see."""

    def __init__(self, store, capsys):
        self.store = str(store)
        self.capsys = capsys

    def __call__(self, *args, expect=0):
        self.capsys.readouterr()
        code = main(["--store", self.store, *map(str, args)])
        out, err = self.capsys.readouterr()
        assert code == expect, f"rmtc {' '.join(map(str, args))} exited {code}: {err}{out}"
        return out, err

    def json(self, *args):
        out, _ = self(*args, "--json")
        return json.loads(out)


@pytest.fixture
def cli(project_dir, capsys):
    return Cli(project_dir, capsys)


@pytest.fixture
def project(project_dir):
    """A tracker on the embedded project the ``cli`` fixture uses."""
    import rmtc

    with rmtc.open(project_dir) as t:
        yield t
