"""Fixtures for the image tests: small real files written through OpenImageIO."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmtc.vfx.image import Image
from rmtc.vfx.imageio import write_image

from .helpers import RGB, pixels


@pytest.fixture
def good_exr(tmp_path: Path) -> Path:
    """A valid 48 x 32 half RGB EXR."""
    return write_image(tmp_path / "good.exr", Image(pixels((32, 48, 3)), RGB))
