"""``convert``: converter plug-ins, variants with the facts their checks measured, the derivatives right."""

from __future__ import annotations

import shutil

import pytest

from rmtc.core.kinds import Relation
from rmtc.errors import InvalidInput, RightsViolation
from rmtc.ml.convert import Conversion
from rmtc.plugins.registry import Registry
from rmtc.services.ml import ML
from rmtc.services.ml.convert import Conversions


@pytest.fixture
def weights(tracker, weights_file):
    tracker.parties.add_license("eula", grants=["inference", "derivatives", "training"])
    return ML(tracker).models.push(weights_file, name="matte", license="eula").weights


def test_when_weights_are_converted_to_torchscript_then_a_variant_records_the_checks(tracker, weights):
    variant = ML(tracker).conversions.convert(weights, "torchscript")

    assert variant.format == "torchscript" and variant.name == "weights.pt"
    assert [e.id for e in tracker.neighbours(variant, Relation.VARIANT_OF)] == [weights.id]
    facts = variant.attrs
    assert (facts["in_channels"], facts["out_channels"], facts["scale"]) == (3, 1, 1)
    assert facts["min_nuke_version"] == "15.1" and facts["exporter"] == "torch.jit.script"
    assert 0 <= facts["max_abs_diff"] < 1e-3
    assert tracker.blobs.exists(variant.content_hash)
    assert ML(tracker).conversions.convert(weights, "torchscript").id == variant.id


def test_when_weights_are_converted_to_onnx_then_the_exporter_and_difference_are_recorded(tracker, weights):
    variant = ML(tracker).conversions.convert(weights, "onnx", exporter="legacy")
    assert variant.format == "onnx" and variant.attrs["exporter"] == "legacy"
    assert variant.attrs["max_abs_diff"] < 1e-3 and variant.attrs["conversion"]["opset"] == 18


def test_when_the_licence_forbids_derivatives_then_nothing_is_converted(tracker, weights_file):
    tracker.parties.add_license("view-only", grants=["inference"])
    weights = ML(tracker).models.push(weights_file, name="matte", license="view-only").weights
    with pytest.raises(RightsViolation, match="convert to torchscript refused.*'derivatives'"):
        ML(tracker).conversions.convert(weights, "torchscript")
    assert tracker.neighbours(weights, Relation.VARIANT_OF, direction="in") == []


class CopyConverter:
    """A converter plug-in of the simplest kind: the 'converted' file is the weights file itself."""

    name = "copy"
    suffix = ".bin"

    def convert(self, source, path, **options):
        from rmtc.ml.weights import save_weights

        tmp = save_weights(source, path.with_suffix(".tmp"))
        shutil.move(tmp, path)
        return Conversion("copy", path, {"in_channels": source.in_channels, "exporter": "copy", **options})


def test_when_a_converter_plugin_is_registered_then_convert_uses_it(tracker, weights):
    registry = Registry("rmtc.converters")
    registry.register("copy", CopyConverter)
    conversions = Conversions(tracker, registry)
    assert {"copy", "torchscript", "onnx"} <= set(conversions.formats())

    variant = conversions.convert(weights, "copy", note="hello")

    assert variant.format == "copy" and variant.attrs["exporter"] == "copy"
    assert variant.attrs["conversion"]["note"] == "hello"


def test_when_the_converter_is_unknown_then_the_error_lists_the_known_ones(tracker, weights):
    with pytest.raises(InvalidInput, match="no model converters, by target format named 'coreml'") as err:
        ML(tracker).conversions.convert(weights, "coreml")
    assert "onnx" in err.value.hint and "torchscript" in err.value.hint


def test_when_the_source_is_not_safetensors_then_it_cannot_be_converted(tracker, weights):
    pt = ML(tracker).conversions.convert(weights, "torchscript")
    with pytest.raises(InvalidInput, match="is torchscript; converters take safetensors"):
        ML(tracker).conversions.convert(pt, "onnx")
