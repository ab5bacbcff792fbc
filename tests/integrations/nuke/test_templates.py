"""The generated Nuke files, run against the ``nuke`` stand-in where they are code."""

from __future__ import annotations

from rmtc.integrations.nuke import templates


def test_the_cat_script_drives_catfilecreator_with_every_knob_and_presses_create(nuke, tmp_path):
    pt = tmp_path / "matte_v1.pt"
    pt.write_bytes(b"torchscript bytes")
    text = templates.cat_script(
        torchscript=str(pt),
        cat=str(tmp_path / "matte_v1.cat"),
        channels_in=["rgba.red", "rgba.green", "rgba.blue"],
        channels_out=["rgba.alpha"],
        model_id="matte_v1",
        scale=2,
        knobs={"mix": 1.0, "clamp_input": 1},
    )

    exec(compile(text, "make_cat.py", "exec"), {"__name__": "__main__"})

    (node,) = nuke.allNodes("CatFileCreator")
    assert node["torchScriptFile"].value() == str(pt)
    assert node["channelsIn"].value() == "rgba.red,rgba.green,rgba.blue"
    assert node["channelsOut"].value() == "rgba.alpha"
    assert (node["modelId"].value(), node["outputScale"].value()) == ("matte_v1", 2)
    assert node["mix"].value() == 1.0 and node["clamp_input"].value() == 1
    assert node["createCatFile"].executed == 1
    assert (tmp_path / "matte_v1.cat").read_bytes().endswith(b"torchscript bytes")


def test_the_inference_snippet_loads_the_cat_and_carries_the_model_version():
    text = templates.inference_nk(
        cat="C:\\shows\\matte_v1.cat",
        node_name="rmtc_matte_v1",
        model_version_id="0cca1629-674c-4c35-9a7f-91a9f472152b",
        model_label='model_version:matte "v1" [$x]',
    )
    lines = text.splitlines()
    assert lines[0] == "set cut_paste_input [stack 0]" and "Inference {" in lines
    assert ' modelFile "C:/shows/matte_v1.cat"' in lines
    assert " useGPUIfAvailable true" in lines
    assert ' rmtc_model_version "0cca1629-674c-4c35-9a7f-91a9f472152b"' in lines
    assert ' label "model_version:matte \\"v1\\" \\[\\$x]"' in lines
    assert text.count("{") == text.count("}")


def test_menu_py_installs_the_render_callbacks_and_the_menu(nuke, tmp_path):
    settings = tmp_path / "rmtc_settings.json"
    settings.write_text(
        templates.settings_json(store=str(tmp_path), project="show", model_version="x", cat="c")
    )

    exec(compile(templates.menu_py(settings_file=str(settings)), "menu.py", "exec"), {"__name__": "menu"})

    assert [len(nuke.callbacks[k]) for k in ("before", "frame", "after")] == [1, 1, 1]
    assert "Check Inference models" in nuke.menus["Nuke"].items["rmtc"].items
