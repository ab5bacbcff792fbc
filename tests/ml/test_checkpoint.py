from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from rmtc.errors import IntegrityError, InvalidInput, NotFound
from rmtc.ml.checkpoint import PARTS, list_checkpoints, load_checkpoint, restore_into, save_checkpoint
from rmtc.ml.nets import NetConfig, build_model


@pytest.fixture
def saved(tmp_path):
    """A checkpoint of a tiny model after one AdamW step, and the objects it was made from."""
    model = build_model(NetConfig(in_channels=2, out_channels=1))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.rand(1, 2, 16, 16)).mean().backward()
    optimizer.step()
    generator = torch.Generator().manual_seed(7)
    torch.randint(10, (5,), generator=generator)
    path = save_checkpoint(
        tmp_path / "ckpt-000001",
        model=model,
        optimizer=optimizer,
        generator=generator,
        step=1,
        trainer={"x": 1},
    )
    return path, model, optimizer, generator


def test_a_checkpoint_restores_weights_optimizer_and_every_rng(saved):
    path, model, optimizer, generator = saved
    expected = (
        torch.rand(3),
        np.random.random(),
        random.random(),
        torch.randint(99, (3,), generator=generator),
    )
    fresh = build_model(NetConfig(in_channels=2, out_channels=1))
    fresh_opt = torch.optim.AdamW(fresh.parameters(), lr=1e-3)
    fresh_gen = torch.Generator()
    torch.manual_seed(123)
    ckpt = load_checkpoint(path)
    restore_into(ckpt, fresh, fresh_opt, fresh_gen)
    assert ckpt.step == 1 and ckpt.trainer == {"x": 1} and ckpt.config == model.config
    for a, b in zip(model.parameters(), fresh.parameters(), strict=True):
        assert torch.equal(a, b)
    for p, q in zip(model.parameters(), fresh.parameters(), strict=True):
        a, b = optimizer.state[p], fresh_opt.state[q]
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert fresh_opt.param_groups[0]["betas"] == optimizer.param_groups[0]["betas"]
    again = (torch.rand(3), np.random.random(), random.random(), torch.randint(99, (3,), generator=fresh_gen))
    assert (
        torch.equal(again[0], expected[0])
        and again[1:3] == expected[1:3]
        and torch.equal(again[3], expected[3])
    )


def test_a_checkpoint_holds_only_json_and_safetensors(saved):
    path = saved[0]
    assert sorted(p.name for p in path.iterdir()) == sorted([*PARTS, "manifest.json"])
    json.loads((path / "state.json").read_text())
    assert not list(path.parent.glob(".*tmp"))
    assert list_checkpoints(path.parent) == [path]


def test_when_a_part_is_truncated_then_integrity_error_names_it(saved):
    path = saved[0]
    target = path / "weights.safetensors"
    target.write_bytes(target.read_bytes()[:-100])
    with pytest.raises(IntegrityError, match=r"weights\.safetensors is \d+ bytes, the manifest says") as err:
        load_checkpoint(path)
    assert err.value.details["file"] == str(target)


@pytest.mark.parametrize("part", PARTS)
def test_when_one_byte_flips_in_any_part_then_integrity_error_names_that_part(saved, part):
    path = saved[0]
    target = path / part
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    target.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError, match=f"{part} does not match its recorded BLAKE3 hash"):
        load_checkpoint(path)


def test_when_a_part_is_missing_then_integrity_error_names_it(saved):
    path = saved[0]
    (path / "rng.safetensors").unlink()
    with pytest.raises(IntegrityError, match=r"rng\.safetensors is missing"):
        load_checkpoint(path)


def test_when_the_manifest_is_damaged_or_gone_then_integrity_error_names_it(saved):
    path = saved[0]
    manifest = path / "manifest.json"
    data = json.loads(manifest.read_text())
    data["step"] = 2
    manifest.write_text(json.dumps(data))
    with pytest.raises(IntegrityError, match=r"manifest\.json is damaged"):
        load_checkpoint(path)
    manifest.write_bytes(b"\x00garbage")
    with pytest.raises(IntegrityError, match=r"manifest\.json is damaged"):
        load_checkpoint(path)
    manifest.unlink()
    with pytest.raises(IntegrityError, match=r"has no manifest\.json"):
        load_checkpoint(path)


def test_when_the_path_is_not_a_checkpoint_then_not_found_or_invalid_input(saved, tmp_path):
    with pytest.raises(NotFound):
        load_checkpoint(tmp_path / "nowhere")
    with pytest.raises(InvalidInput, match="not a checkpoint directory"):
        load_checkpoint(saved[0] / "state.json")


def test_saving_again_replaces_the_checkpoint_whole(saved):
    path, model, optimizer, generator = saved
    save_checkpoint(path, model=model, optimizer=optimizer, generator=generator, step=1, trainer={"x": 2})
    assert load_checkpoint(path).trainer == {"x": 2}
