"""Renders through Inference nodes, played on the ``nuke`` stand-in, checked and recorded back to rmtc."""

from __future__ import annotations

import numpy as np
import pytest

from rmtc.core.entities import Asset, Inference, ModelVersion, Session
from rmtc.core.kinds import Kind, Relation
from rmtc.integrations.nuke import renders
from rmtc.integrations.nuke.callbacks import Settings, install
from rmtc.integrations.nuke.export import export_for_nuke
from rmtc.services.ml import ML
from rmtc.vfx.image import Image
from rmtc.vfx.imageio import write_image

from .fake_nuke import Knob, Node


def _frames(folder, name, frames, channels=("R", "G", "B")):
    folder.mkdir(parents=True, exist_ok=True)
    for f in frames:
        pixels = np.full((8, 8, len(channels)), f / 2000.0, np.float32)
        write_image(folder / f"{name}.{f:04d}.exr", Image(pixels, channels))
    return str(folder / f"{name}.####.exr")


def _comp(nuke, plates, cat, out, *, tag=None):
    """Read -> Inference -> Write, as an artist would build it from the exported snippet."""
    read = nuke.add(Node("Read", "Read1", {"file": plates}))
    knobs = {"modelFile": cat, "useGPUIfAvailable": True, "mix": Knob("mix", 0.5)}
    if tag is not None:
        knobs["rmtc_model_version"] = tag
    inference = nuke.add(Node("Inference", "Inference1", knobs), read)
    return nuke.add(Node("Write", "Write1", {"file": out}), inference)


def _exported_cat(project, nuke, tmp_path):
    """Export, run the generated CatFileCreator script (in the stand-in), register the .cat."""
    done = export_for_nuke(project, "matte@production", tmp_path / "nuke")
    exec(compile(done.cat_script.read_text(), "make_cat.py", "exec"), {"__name__": "__main__"})
    ML(project).nuke.register_cat(done.cat, "matte@production")
    return done


def _write(frame, path):
    write_image(path, Image(np.full((8, 8, 1), frame / 4000.0, np.float32), ("A",)))


def test_a_render_through_an_inference_node_is_recorded_as_an_inference_in_the_nuke_session(
    nuke, project, project_dir, version, tmp_path
):
    done = _exported_cat(project, nuke, tmp_path)
    plates = _frames(tmp_path / "plates", "plate", [1001, 1002])
    write = _comp(nuke, plates, str(done.cat), str(tmp_path / "comp" / "matte.####.exr"), tag=str(version.id))
    (tmp_path / "comp").mkdir()
    recorder = install(done.plugin / "rmtc_settings.json", nuke=nuke)

    nuke.render(write, [1001, 1002], _write)
    nuke.render(write, [1003], lambda f, p: None)  # a frame that failed to write records nothing new

    assert len(recorder.recorded) == 1
    project.store.close()
    import rmtc

    with rmtc.open(project_dir) as t:
        (inf,) = t.find(Kind.INFERENCE).items
        assert isinstance(inf, Inference) and inf.frames == "1001-1002" and inf.knobs == {"mix": 0.5}
        assert inf.attrs["write"] == "Write1" and inf.attrs["script"] == nuke.script
        (session,) = t.neighbours(inf, Relation.PART_OF)
        assert isinstance(session, Session) and session.application == "nuke"
        used = t.neighbours(inf, Relation.USED)
        assert [e.id for e in used if isinstance(e, ModelVersion)] == [version.id]
        assert sorted(a.frame for a in used if isinstance(a, Asset)) == [1001, 1002]
        outputs = t.neighbours(inf, Relation.GENERATED_BY, direction="in")
        assert sorted(a.frame for a in outputs) == [1001, 1002] and {a.storage for a in outputs} == {
            "reference"
        }


def test_renders_of_one_nuke_session_share_its_session(nuke, project, project_dir, version, tmp_path):
    done = _exported_cat(project, nuke, tmp_path)
    plates = _frames(tmp_path / "plates", "plate", [1001])
    write = _comp(nuke, plates, str(done.cat), str(tmp_path / "m.####.exr"))  # no tag: found by the .cat
    recorder = install(Settings(store=str(project_dir)), nuke=nuke)

    nuke.render(write, [1001], _write)
    nuke.render(write, [1001], _write)

    assert len(recorder.recorded) == 2
    sessions = {str(s.id) for s in project.find(Kind.SESSION).items}
    assert len(sessions) == 1


def test_when_the_model_version_is_blocked_then_the_render_is_stopped_with_the_reason(
    nuke, project, project_dir, version, tmp_path
):
    done = _exported_cat(project, nuke, tmp_path)
    project.revoker.revoke("license:eula", reason="consent withdrawn")
    plates = _frames(tmp_path / "plates", "plate", [1001])
    write = _comp(nuke, plates, str(done.cat), str(tmp_path / "m.####.exr"), tag=str(version.id))
    produced = []
    install(Settings(store=str(project_dir)), nuke=nuke)

    with pytest.raises(
        RuntimeError, match="rmtc: Inference1: nuke render refused: .* is blocked.*consent withdrawn"
    ):
        nuke.render(write, [1001], lambda f, p: produced.append(f))
    assert produced == [] and project.find(Kind.INFERENCE).items == []


def test_when_the_cat_is_unknown_and_untagged_then_the_render_is_stopped(
    nuke, project, project_dir, version, tmp_path
):
    stray = tmp_path / "stray.cat"
    stray.write_bytes(b"made somewhere else")
    write = _comp(nuke, _frames(tmp_path / "p", "plate", [1]), str(stray), str(tmp_path / "m.####.exr"))
    install(Settings(store=str(project_dir)), nuke=nuke)
    with pytest.raises(RuntimeError, match="stray.cat is not a registered .cat"):
        nuke.render(write, [1], _write)


def test_the_menu_command_says_which_inference_nodes_may_run(nuke, project, project_dir, version, tmp_path):
    done = _exported_cat(project, nuke, tmp_path)
    _comp(nuke, _frames(tmp_path / "p", "plate", [1]), str(done.cat), str(tmp_path / "m.####.exr"))
    recorder = install(Settings(store=str(project_dir)), nuke=nuke)
    nuke.menus["Nuke"].items["rmtc"].items["Check Inference models"]()
    assert nuke.messages == ["Inference1: model_version:matte@1 may run"]
    assert recorder.session is None


def test_upstream_finds_each_node_of_a_class_once_nearest_first():
    a, b = Node("Read", "A"), Node("Read", "B")
    grade = Node("Grade", "G")
    grade.setInput(0, a)
    merge = Node("Merge2", "M")
    merge.setInput(0, grade)
    merge.setInput(1, b)
    merge.setInput(2, a)
    write = Node("Write", "W")
    write.setInput(0, merge)
    assert [n.name() for n in renders.upstream(write, "Read")] == ["B", "A"]
    assert renders.upstream(a, "Read") == []


def test_a_render_log_collects_frames_outputs_and_inputs_once():
    log = renders.RenderLog("Write1")
    log.add(1001, "/o.1001.exr", ["/p.1001.exr"])
    log.add(1003, "/o.1003.exr", ["/p.1003.exr", "/p.1001.exr"])
    assert log.frame_range == "1001,1003" and log.inputs == ["/p.1001.exr", "/p.1003.exr"]
    assert renders.RenderLog("W").frame_range is None
