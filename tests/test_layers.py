"""The layers of DESIGN.md, checked on the source: imports point down only, and the tracking layer
imports no torch and no web framework."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "rmtc"
TRACKING = ("core", "plugins", "store", "blobs", "api", "services", "cli")
HEAVY = ("torch", "fastapi", "uvicorn", "starlette", "onnx", "onnxruntime", "safetensors")
#: What each package may import from rmtc (besides itself and rmtc.errors).
ALLOWED = {
    "core": set(),
    "plugins": set(),
    "blobs": {"core"},
    "store": {"core", "testing"},
    "api": {"core", "plugins", "store", "blobs", "services"},
    # services/ml orchestrates the ML core (rmtc.ml), importing it lazily inside functions.
    "services": {"core", "store", "blobs", "api", "vfx", "plugins", "ml"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _files(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


@pytest.mark.parametrize("package", TRACKING)
def test_the_tracking_layer_imports_no_heavy_dependency(package):
    offenders = [
        f"{path.relative_to(SRC)}: {mod}"
        for path in _files(package)
        for mod in _imports(path)
        if mod.split(".")[0] in HEAVY
    ]
    assert offenders == []


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_down_only(package):
    offenders = []
    for path in _files(package):
        for mod in _imports(path):
            parts = mod.split(".")
            if parts[0] != "rmtc" or len(parts) < 2 or parts[1] in (package, "errors"):
                continue
            if parts[1] not in ALLOWED[package]:
                offenders.append(f"{path.relative_to(SRC)} imports {mod}")
    assert offenders == []


def test_nothing_loads_pickle_or_torch_files_unsafely():
    offenders = []
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        if "pickle.load" in text or ("torch.load(" in text and "weights_only=True" not in text):
            offenders.append(str(path.relative_to(SRC)))
    assert offenders == []
