"""Safetensors files written by rmtc are byte-identical for identical tensors, so content hashes dedupe.

The safetensors library serialises header metadata from a hash map whose order changes from call to
call (and process to process); these tests save the same things many times and in fresh processes.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys

import torch

from rmtc.core.hashing import hash_file
from rmtc.ml.checkpoint import PARTS, load_checkpoint, save_checkpoint
from rmtc.ml.nets import NetConfig, build_model
from rmtc.ml.weights import load_state, safetensors_bytes, save_weights, weights_bytes

_WORKER = """
import hashlib, sys, torch
from rmtc.ml.nets import NetConfig, build_model
from rmtc.ml.weights import weights_bytes
torch.manual_seed(5)
model = build_model(NetConfig(in_channels=2, out_channels=1, hdr="none"))
print(hashlib.sha256(weights_bytes(model, {"run": "r1", "step": "9", "author": "a"})).hexdigest())
"""


def _model() -> torch.nn.Module:
    torch.manual_seed(5)
    return build_model(NetConfig(in_channels=2, out_channels=1, hdr="none"))


def test_when_the_same_weights_are_saved_many_times_then_every_file_is_byte_identical(tmp_path):
    model = _model()
    extra = {"run": "r1", "step": "9", "author": "a"}
    blobs = {weights_bytes(model, extra) for _ in range(30)}
    assert len(blobs) == 1
    paths = [save_weights(model, tmp_path / f"w{i}.safetensors", extra) for i in range(3)]
    assert len({hash_file(p)[0] for p in paths}) == 1


def test_when_weights_are_saved_in_fresh_processes_then_the_bytes_are_the_same_as_here():
    here = hashlib.sha256(weights_bytes(_model(), {"run": "r1", "step": "9", "author": "a"})).hexdigest()
    there = {
        subprocess.run(
            [sys.executable, "-c", _WORKER], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert there == {here}


def test_the_canonical_header_is_sorted_and_still_reads_back_as_the_same_tensors(tmp_path):
    tensors = {"z": torch.arange(3.0), "a": torch.ones(2, dtype=torch.float16), "m": torch.zeros(1)}
    data = safetensors_bytes(tensors, {"zeta": "1", "alpha": "2", "format": "x"})
    size = int.from_bytes(data[:8], "little")
    header = data[8 : 8 + size].decode()
    assert size % 8 == 0
    assert header.index('"alpha"') < header.index('"format"') < header.index('"zeta"')
    assert header.index('"a":') < header.index('"m":') < header.index('"z":')
    path = tmp_path / "t.safetensors"
    path.write_bytes(data)
    back, meta = load_state(path)
    assert meta == {"zeta": "1", "alpha": "2", "format": "x"}
    assert back.keys() == tensors.keys() and all(torch.equal(back[k], tensors[k]) for k in tensors)


def test_when_the_same_state_is_checkpointed_twice_then_every_part_is_byte_identical(tmp_path):
    model = _model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.rand(1, 2, 16, 16)).mean().backward()
    optimizer.step()
    generator = torch.Generator().manual_seed(3)
    digests = []
    for name in ("a", "b"):
        state = torch.get_rng_state()
        path = save_checkpoint(
            tmp_path / name / "ckpt-000001",
            model=model,
            optimizer=optimizer,
            generator=generator,
            step=1,
            trainer={"zz": 1, "aa": {"y": 2, "b": 3}},
        )
        torch.set_rng_state(state)
        digests.append({part: hash_file(path / part)[0] for part in (*PARTS, "manifest.json")})
    assert digests[0] == digests[1]
    assert load_checkpoint(tmp_path / "a" / "ckpt-000001").step == 1
