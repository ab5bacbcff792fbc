"""Atomic writes: a failed or interrupted write never leaves a half-written frame under the final name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from rmtc.vfx.image import Image
from rmtc.vfx.imageio import read_image, write_image

from .helpers import RGB, pixels


def _old_and_new(tmp_path):
    old = Image(pixels((16, 16, 3), seed=1), RGB)
    new = Image(pixels((16, 16, 3), seed=2), RGB)
    path = write_image(tmp_path / "plate.1001.exr", old)
    return path, old, new


def test_when_a_frame_is_overwritten_then_readers_get_the_new_frame_and_no_temp_file_remains(tmp_path):
    path, _, new = _old_and_new(tmp_path)
    write_image(path, new)
    assert np.array_equal(read_image(path).pixels, new.pixels)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plate.1001.exr"]


@pytest.mark.parametrize("fault", ["fsync", "rename"])
def test_when_the_write_fails_before_the_rename_then_the_old_frame_is_intact(tmp_path, monkeypatch, fault):
    path, old, new = _old_and_new(tmp_path)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if fault == "fsync":
        monkeypatch.setattr(os, "fsync", broken)
    else:
        monkeypatch.setattr(type(path), "replace", broken)
    with pytest.raises(OSError, match="No space left"):
        write_image(path, new)
    monkeypatch.undo()
    assert np.array_equal(read_image(path).pixels, old.pixels)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plate.1001.exr"]


def test_when_the_writer_is_killed_mid_write_then_the_final_name_holds_a_whole_frame(tmp_path):
    path = tmp_path / "big.exr"
    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        from rmtc.vfx.image import Image
        from rmtc.vfx.imageio import write_image
        rng = np.random.default_rng(0)
        write_image({str(path)!r}, Image(np.zeros((8, 8, 3), np.float32), ("R", "G", "B")))
        big = Image(rng.random((1024, 1024, 4), dtype=np.float32), ("R", "G", "B", "A"))
        print("writing", flush=True)
        while True:
            write_image({str(path)!r}, big, compression="piz")
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "writing"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    frame = read_image(path)  # whichever frame won, it is whole and decodes
    assert frame.pixels.shape in ((8, 8, 3), (1024, 1024, 4))
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "big.exr"]
    assert all(name.startswith(".big.tmp-") for name in leftovers)
