"""rmtc: provenance, rights and the image-to-image ML pipeline of visual-effects production.

Importing rmtc does nothing but make these names available; :func:`open` is where a project is
connected (the composition root), and everything else is reached from the :class:`Tracker` it returns.

>>> import rmtc
>>> with rmtc.open("shows/alpha", create=True) as t:            # doctest: +SKIP
...     t.ingestor.ingest(["plates/sh010/plate.####.exr"], talent=["ava_reyes"])
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from rmtc.api.compose import open_tracker as open
from rmtc.api.tracker import Tracker
from rmtc.core.entities import (
    Asset,
    Checkpoint,
    Dataset,
    DatasetVersion,
    Entity,
    Inference,
    License,
    Model,
    ModelVersion,
    Party,
    Right,
    Run,
    Session,
    Solution,
    Weights,
)
from rmtc.core.ids import EntityId, Ref
from rmtc.core.kinds import Kind, Relation
from rmtc.errors import (
    AmbiguousReference,
    Conflict,
    FileChanged,
    Forbidden,
    IntegrityError,
    InvalidInput,
    NotFound,
    RightsViolation,
    RmtcError,
    SchemaTooNew,
    StoreError,
    Unauthorized,
)

try:
    __version__ = version("rmtc")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
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
]
