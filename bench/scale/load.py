"""Loading the generated graph: into an rmtc store through the public ``MetadataStore.write``, and into
networkx for the in-memory comparison.

The store is loaded the way an application records facts in bulk: consecutive chunks are gathered into
one :class:`~rmtc.store.types.WriteBatch` of about ``batch_rows`` entities plus edges (one transaction,
one audit event), so every constraint, duplicate check and index of the store is paid as it would be.
Generating the graph and writing it are timed apart (the generator runs between writes).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import networkx as nx

from bench.scale.graph import CREATED, USER, Chunk, Facility
from rmtc.core import collector
from rmtc.core.entities import Entity
from rmtc.store.protocol import MetadataStore
from rmtc.store.types import AuditEvent, Edge, WriteBatch


def timed_chunks(facility: Facility, clock: dict[str, float]) -> Iterator[Chunk]:
    """The facility's chunks, adding the time spent generating them to ``clock["generate"]``.

    Generated with the cyclic collector paused (as a store's bulk write is): a chunk is tens of
    thousands of acyclic objects that all live until written, and each collection walked them and
    everything else alive, freeing nothing (about 40 % of the generator's time at scale 0.3)."""
    chunks = facility.chunks()
    while True:
        start = time.perf_counter()
        with collector.paused():
            chunk = next(chunks, None)
        clock["generate"] = clock.get("generate", 0.0) + time.perf_counter() - start
        if chunk is None:
            return
        yield chunk


def load_store(store: MetadataStore, facility: Facility, batch_rows: int) -> dict[str, Any]:
    """Write the whole graph; returns the seconds spent generating and writing and what was written."""
    clock: dict[str, float] = {}
    entities: list[Entity] = []
    edges: list[Edge] = []
    stats = {"batches": 0, "entities": 0, "edges": 0, "write": 0.0, "largest_batch_seconds": 0.0}

    def flush() -> None:
        if not entities and not edges:
            return
        event = AuditEvent(
            "bench.scale.load", USER, CREATED, detail={"entities": len(entities), "edges": len(edges)}
        )
        start = time.perf_counter()
        result = store.write(WriteBatch(entities=entities, edges=edges, audit=[event]))
        took = time.perf_counter() - start
        if result.created != len(entities) or result.edges_created != len(edges):
            raise RuntimeError(
                f"batch {stats['batches']}: {result.created}/{len(entities)} entities and "
                f"{result.edges_created}/{len(edges)} edges created"
            )
        stats["write"] += took
        stats["largest_batch_seconds"] = max(stats["largest_batch_seconds"], took)
        stats["batches"] += 1
        stats["entities"] += len(entities)
        stats["edges"] += len(edges)
        entities.clear()
        edges.clear()

    start = time.perf_counter()
    for chunk in timed_chunks(facility, clock):
        entities += chunk.entities
        edges += chunk.edges
        if len(entities) + len(edges) >= batch_rows:
            flush()
    flush()
    stats["total"] = time.perf_counter() - start
    stats["generate"] = clock["generate"]
    return stats


def load_networkx(facility: Facility) -> tuple[nx.DiGraph, dict[str, Any]]:
    """The same graph as a ``networkx.DiGraph``: nodes are entity ids with their ``kind``, edges carry
    their ``rel``. No two edges of the generated graph join the same ordered pair, which is checked."""
    clock: dict[str, float] = {}
    graph = nx.DiGraph()
    edges = 0
    start = time.perf_counter()
    for chunk in timed_chunks(facility, clock):
        graph.add_nodes_from((e.id, {"kind": e.kind.value}) for e in chunk.entities)
        graph.add_edges_from((e.src, e.dst, {"rel": e.relation.value}) for e in chunk.edges)
        edges += len(chunk.edges)
    if graph.number_of_edges() != edges:
        raise RuntimeError(f"{edges - graph.number_of_edges()} edges join an already joined pair")
    total = time.perf_counter() - start
    return graph, {
        "total": total,
        "generate": clock["generate"],
        "entities": graph.number_of_nodes(),
        "edges": edges,
    }
