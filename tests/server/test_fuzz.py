"""Schemathesis over the whole OpenAPI document of a live service: positive and negative cases for
every operation, with an admin token; no answer may be a 5xx. Derandomised, so a failure reproduces."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES = 8


@pytest.mark.slow
def test_fuzzing_every_operation_finds_no_server_error(served):
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.generation import GenerationMode

    schema = schemathesis.openapi.from_url(f"{served.url}/openapi.json")
    auth = {"Authorization": f"Bearer {served.admin_token}"}
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case) -> None:
                nonlocal calls
                calls += 1
                response = case.call(headers=auth, timeout=60)
                if response.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}"
                    )

            try:
                run()
            except (schemathesis.errors.SchemathesisError, Unsatisfiable):
                continue  # no case of this mode can be made for the operation (e.g. nothing to break)
    assert calls > 100
    assert failures == [], "\n".join(sorted(set(failures)))
