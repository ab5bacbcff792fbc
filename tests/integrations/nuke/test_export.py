"""``rmtc nuke export``: the files Nuke needs, checked against its contract before they are written."""

from __future__ import annotations

import json

import pytest

from rmtc.errors import InvalidInput, RightsViolation
from rmtc.integrations.nuke.export import export_for_nuke
from rmtc.ml.nukecheck import check_nuke_contract
from rmtc.services.ml import ML


def test_an_export_writes_a_valid_pt_the_cat_script_the_snippet_and_the_plugin(project, version, tmp_path):
    done = export_for_nuke(project, "matte@production", tmp_path / "nuke")

    assert done.torchscript.name == "matte_v1.pt" and done.cat.name == "matte_v1.cat"
    contract = check_nuke_contract(done.torchscript)
    assert (contract.in_channels, contract.out_channels, contract.scale) == (3, 1, 1)
    assert done.contract["min_nuke_version"] == "15.1"
    script = done.cat_script.read_text()
    assert (
        '"channelsIn": "rgba.red,rgba.green,rgba.blue"' in script and '"channelsOut": "rgba.alpha"' in script
    )
    assert str(version.id) in done.snippet.read_text()
    settings = json.loads((done.plugin / "rmtc_settings.json").read_text())
    assert settings["store"] == str(project.root) and settings["model_version"] == str(version.id)
    assert "install(" in (done.plugin / "menu.py").read_text()
    assert "register-cat" in (done.directory / "README.txt").read_text()
    assert project.store.find_audit(action="nuke.export", target=version.id).items


def test_when_a_model_has_more_channels_than_nuke_maps_then_nothing_is_exported(project, tmp_path):
    from rmtc.ml.nets import NetConfig, build_model
    from rmtc.ml.weights import save_weights

    project.parties.add_license("eula", grants=["inference", "derivatives"])
    path = save_weights(build_model(NetConfig(in_channels=20, out_channels=1)), tmp_path / "wide.safetensors")
    weights = ML(project).models.push(path, name="wide-src", license="eula").weights
    ML(project).publisher.publish(weights, "wide", variants=[])

    with pytest.raises(InvalidInput, match="Nuke cannot take a model with 20 input channel"):
        export_for_nuke(project, "wide@1", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_when_the_version_is_blocked_then_it_is_not_exported(project, version, tmp_path):
    project.revoker.revoke("license:eula", reason="recalled")
    with pytest.raises(RightsViolation, match="nuke export refused: model_version:matte@1 is blocked"):
        export_for_nuke(project, "matte@1", tmp_path / "out")
