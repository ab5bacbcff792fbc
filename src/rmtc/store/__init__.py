"""Metadata stores: the :class:`MetadataStore` protocol and its implementations (``sql``; ``remote``)."""

from rmtc.store.protocol import MetadataStore
from rmtc.store.types import (
    AuditEvent,
    Edge,
    EntityQuery,
    MetricPoint,
    Page,
    RunQuery,
    RunStatus,
    WalkStep,
    WriteBatch,
    WriteResult,
)

__all__ = [
    "AuditEvent",
    "Edge",
    "EntityQuery",
    "MetadataStore",
    "MetricPoint",
    "Page",
    "RunQuery",
    "RunStatus",
    "WalkStep",
    "WriteBatch",
    "WriteResult",
]
