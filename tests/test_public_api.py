"""The public surface is curated: this test pins it, so growing it is a decision, not an accident."""

import subprocess
import sys

import rmtc

PUBLIC = {
    "AmbiguousReference",
    "Asset",
    "Checkpoint",
    "Conflict",
    "Dataset",
    "DatasetVersion",
    "Entity",
    "EntityId",
    "FileChanged",
    "Forbidden",
    "Inference",
    "IntegrityError",
    "InvalidInput",
    "Kind",
    "License",
    "Model",
    "ModelVersion",
    "NotFound",
    "Party",
    "Ref",
    "Relation",
    "Right",
    "RightsViolation",
    "RmtcError",
    "Run",
    "SchemaTooNew",
    "Session",
    "Solution",
    "StoreError",
    "Tracker",
    "Unauthorized",
    "Weights",
    "__version__",
    "open",
}


def test_all_is_exactly_the_public_surface():
    assert set(rmtc.__all__) == PUBLIC
    for name in rmtc.__all__:
        assert hasattr(rmtc, name)


def test_importing_rmtc_loads_no_heavy_dependency():
    code = (
        "import sys, rmtc; heavy = [m for m in ('torch', 'sqlalchemy', 'fastapi', 'OpenImageIO', 'numpy')"
        " if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
