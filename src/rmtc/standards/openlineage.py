"""OpenLineage run events for the runs and inferences of an entity's provenance.

Built with ``openlineage-python``'s classes and serialised with its ``Serde``, one event per line (JSON
Lines, as OpenLineage's file transport writes them), oldest first. Each activity gives a ``START``
event at its creation and, once it ended, ``COMPLETE`` (finished), ``FAIL`` (failed, with an
``errorMessage`` facet) or ``ABORT`` (killed) at its last status change; an activity recorded without
a status (an inference recorded when done, an imported run) is reported as complete at its creation.

- job: namespace ``rmtc://<project>``, name the run's name, a ``jobType`` facet (``BATCH``, ``RMTC``,
  the run type); run: ``runId`` the run's UUID, facets ``processing_engine`` (rmtc and its version),
  ``executionParameters`` (parameters, or an inference's knob values) and ``tags`` (``rmtc:mapping``,
  ``rmtc:id``, ``rmtc:kind``);
- inputs: what the activity ``used``; outputs (in its last event): what was ``generated_by`` it. A
  dataset is named ``<kind>/<name>@<version>`` for dataset and model versions and ``<kind>/<uuid>`` for
  the rest (assets, weights), in namespace ``rmtc://<project>``, with a ``version`` facet (the version
  number or content hash) and ``tags`` (``rmtc:id``, ``rmtc:kind``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from rmtc.core.entities import Entity
from rmtc.core.kinds import Kind, Relation
from rmtc.standards.graph import MAPPING, Provenance, json_text, require

_ACTIVITIES = (Kind.RUN, Kind.INFERENCE)
_NAMED_VERSIONS = frozenset({Kind.DATASET_VERSION, Kind.MODEL_VERSION})
_END_EVENT = {"finished": "COMPLETE", "failed": "FAIL", "killed": "ABORT"}


def namespace(project: str) -> str:
    """The OpenLineage namespace of an rmtc project's jobs and datasets."""
    return f"rmtc://{project}"


def dataset_name(entity: Entity) -> str:
    """An entity's OpenLineage dataset name: readable where its natural key is unique, else its id."""
    if entity.kind in _NAMED_VERSIONS and entity.version is not None:
        return f"{entity.kind.value}/{entity.name}@{entity.version}"
    return f"{entity.kind.value}/{entity.id}"


def producer(graph: Provenance) -> str:
    return f"urn:rmtc:rmtc/{graph.rmtc_version}"


def events(graph: Provenance) -> list[Any]:
    """The run events of every run and inference in ``graph``, oldest first."""
    found = [ev for activity in graph.of_kind(*_ACTIVITIES) for ev in _Events(graph, activity)]
    return sorted(
        found,
        key=lambda ev: (datetime.fromisoformat(ev.eventTime), ev.run.runId, ev.eventType.value != "START"),
    )


def to_jsonl(graph: Provenance) -> str:
    """The events as JSON Lines, each written by OpenLineage's own serialiser."""
    serde = require("openlineage.client.serde", "OpenLineage")
    return "".join(serde.Serde.to_json(ev) + "\n" for ev in events(graph))


class _Events:
    def __init__(self, graph: Provenance, activity: Entity):
        self.g = graph
        self.a = activity
        self.ol = require("openlineage.client.event_v2", "OpenLineage")
        self.producer = producer(graph)

    def __iter__(self) -> Iterator[Any]:
        status = self.g.statuses.get(self.a.id)
        inputs = [self.dataset(e, output=False) for e in self.used()]
        outputs = [self.dataset(e, output=True) for e in self.generated()]
        if status is None:
            end: tuple[str, datetime] | None = ("COMPLETE", self.a.created_at)
        elif status.state in _END_EVENT:
            end = (_END_EVENT[status.state], status.updated_at)
        else:
            end = None
        yield self.event("START", self.a.created_at, inputs, [] if end else outputs)
        if end is not None:
            yield self.event(end[0], end[1], inputs, outputs, status.message if status else "")

    def used(self) -> list[Entity]:
        return [self.g.entities[e.dst] for e in self.g.edges_from(self.a.id, Relation.USED)]

    def generated(self) -> list[Entity]:
        return [self.g.entities[e.src] for e in self.g.edges_to(self.a.id, Relation.GENERATED_BY)]

    def event(self, kind: str, at: datetime, inputs: list[Any], outputs: list[Any], message: str = "") -> Any:
        ol, a = self.ol, self.a
        run_type = getattr(a, "run_type", "inference")
        job_type = require("openlineage.client.generated.job_type_job", "OpenLineage")
        job = ol.Job(
            namespace=namespace(a.project),
            name=a.name,
            facets={
                "jobType": job_type.JobTypeJobFacet(
                    processingType="BATCH",
                    integration="RMTC",
                    jobType=str(run_type).upper(),
                    producer=self.producer,
                )
            },
        )
        run = ol.Run(runId=str(a.id), facets=self.run_facets(kind, message))
        return ol.RunEvent(
            eventType=ol.RunState[kind],
            eventTime=at.isoformat(),
            run=run,
            job=job,
            inputs=inputs,
            outputs=outputs,
            producer=self.producer,
        )

    def run_facets(self, kind: str, message: str) -> dict[str, Any]:
        a = self.a
        engine = require("openlineage.client.generated.processing_engine_run", "OpenLineage")
        params = require("openlineage.client.generated.execution_parameters_run", "OpenLineage")
        tags = require("openlineage.client.generated.tags_run", "OpenLineage")
        values = getattr(a, "params", None) if a.kind is Kind.RUN else getattr(a, "knobs", None)
        facets: dict[str, Any] = {
            "processing_engine": engine.ProcessingEngineRunFacet(
                version=self.g.rmtc_version, name="rmtc", producer=self.producer
            ),
            "executionParameters": params.ExecutionParametersRunFacet(
                parameters=[
                    params.ExecutionParameter(key=str(k), value=json_text(v))
                    for k, v in sorted(dict(values or {}).items())
                ],
                producer=self.producer,
            ),
            "tags": tags.TagsRunFacet(
                tags=[
                    tags.TagsRunFacetFields(key=k, value=v, source="RMTC")
                    for k, v in (
                        ("rmtc:mapping", MAPPING),
                        ("rmtc:id", str(a.id)),
                        ("rmtc:kind", a.kind.value),
                    )
                ],
                producer=self.producer,
            ),
        }
        if kind == "FAIL":
            error = require("openlineage.client.generated.error_message_run", "OpenLineage")
            facets["errorMessage"] = error.ErrorMessageRunFacet(
                message=message or "failed", programmingLanguage="python", producer=self.producer
            )
        return facets

    def dataset(self, entity: Entity, *, output: bool) -> Any:
        version = require("openlineage.client.generated.dataset_version_dataset", "OpenLineage")
        tags = require("openlineage.client.generated.tags_dataset", "OpenLineage")
        facets: dict[str, Any] = {
            "tags": tags.TagsDatasetFacet(
                tags=[
                    tags.TagsDatasetFacetFields(key="rmtc:id", value=str(entity.id), source="RMTC"),
                    tags.TagsDatasetFacetFields(key="rmtc:kind", value=entity.kind.value, source="RMTC"),
                ],
                producer=self.producer,
            )
        }
        label = str(entity.version) if entity.version is not None else entity.content_hash
        if label:
            facets["version"] = version.DatasetVersionDatasetFacet(
                datasetVersion=label, producer=self.producer
            )
        cls = self.ol.OutputDataset if output else self.ol.InputDataset
        return cls(namespace=namespace(entity.project), name=dataset_name(entity), facets=facets)
