"""The vfx package: a curated public surface, loaded lazily, and never torch."""

from __future__ import annotations

import subprocess
import sys

import rmtc.vfx


def test_the_public_names_are_exactly_the_curated_list_and_all_resolve():
    assert rmtc.vfx.__all__ == sorted(rmtc.vfx.__all__)
    for name in rmtc.vfx.__all__:
        assert getattr(rmtc.vfx, name) is not None
    assert set(rmtc.vfx.__all__) <= set(dir(rmtc.vfx))


def test_when_every_vfx_module_is_imported_then_torch_is_not():
    code = (
        "import sys\n"
        "import rmtc.vfx.image, rmtc.vfx.imageio, rmtc.vfx.media, rmtc.vfx.colour, rmtc.vfx.synthetic\n"
        "from rmtc.vfx import read_image, probe_many, convert_colour\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_when_only_the_image_type_is_imported_then_no_image_library_is_loaded():
    code = (
        "import sys\n"
        "import rmtc.vfx.image\n"
        "print(sorted(m for m in ('OpenImageIO', 'PyOpenColorIO') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
