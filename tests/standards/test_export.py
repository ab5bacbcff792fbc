"""The one export entry point: format names, errors, and a tracking layer that stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rmtc.errors import InvalidInput, NotFound
from rmtc.standards import FORMATS, export

#: The module each format's library is first imported through.
LIBRARIES = {
    "prov-json": "prov.model",
    "prov-n": "prov.model",
    "spdx": "spdx_python_model.bindings.v3_0_1",
    "openlineage": "openlineage.client.serde",
}


def test_the_formats_are_the_four_standards():
    assert FORMATS == ("prov-json", "prov-n", "spdx", "openlineage")


def test_an_unknown_format_is_refused_with_the_known_ones_listed(tracker):
    talent = tracker.parties.add_talent("Ana")
    with pytest.raises(InvalidInput, match="unknown export format 'cyclonedx'") as err:
        export(tracker, talent, "cyclonedx")
    assert err.value.hint == "use one of: prov-json, prov-n, spdx, openlineage"


@pytest.mark.parametrize("fmt", FORMATS)
def test_when_the_standards_extra_is_missing_then_the_error_says_how_to_install_it(tracker, monkeypatch, fmt):
    talent = tracker.parties.add_talent("Ana")
    monkeypatch.setitem(sys.modules, LIBRARIES[fmt], None)
    with pytest.raises(InvalidInput, match="not installed") as err:
        export(tracker, talent, fmt)
    assert err.value.hint == "pip install 'rmtc[standards]'"


def test_an_unknown_reference_or_direction_is_a_clear_error(tracker):
    with pytest.raises(NotFound):
        export(tracker, "model_version:nope@1", "prov-json")
    talent = tracker.parties.add_talent("Ana")
    with pytest.raises(InvalidInput, match="direction"):
        export(tracker, talent, "prov-json", direction="sideways")  # type: ignore[arg-type]


def test_importing_the_standards_package_imports_none_of_the_standards_libraries():
    code = (
        "import sys, rmtc.standards, rmtc.standards.prov, rmtc.standards.spdx3, rmtc.standards.openlineage\n"
        "heavy = {'prov', 'spdx_python_model', 'openlineage'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
