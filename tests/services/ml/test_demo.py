"""``make demo`` end to end, in its quick mode (tiny frames, a few training steps)."""

from __future__ import annotations

import rmtc
from rmtc.core.kinds import Kind
from rmtc.demo import main
from rmtc.vfx.imageio import read_image


def test_the_demo_runs_the_whole_pipeline_and_says_what_to_open(tmp_path, capsys):
    root = tmp_path / "demo"
    assert main([str(root), "--quick"]) == 0

    out = capsys.readouterr().out
    assert "demo complete" in out and "contact_sheets/step-000004.png" in out
    renders = sorted((root / "renders").glob("matte.*.exr"))
    assert len(renders) == 7 and "rmtc/inference" in read_image(renders[0]).metadata
    assert {p.name for p in (root / "nuke").iterdir()} >= {
        "matte_v1.pt",
        "matte_v1.nk",
        "make_cat.py",
        "nuke",
    }
    with rmtc.open(root / "project") as t:
        assert t.resolve("model_version:matte@production").version == 1
        assert len(t.find(Kind.INFERENCE).items) == 1
