"""Questions that take several reads answer from one connection and transaction (``one_transaction``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

TODAY = date(2026, 6, 1)


@pytest.fixture
def checkouts(show) -> Iterator[list[Any]]:
    seen: list[Any] = []

    def on_checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        seen.append(dbapi_conn)

    engine = show.t.store.database.engine
    sa.event.listen(engine, "checkout", on_checkout)
    yield seen
    sa.event.remove(engine, "checkout", on_checkout)


def test_the_effective_rights_are_read_in_one_transaction(show, checkouts) -> None:
    report = show.t.rights.effective(show.model_version, at=TODAY)
    assert report.withheld["inference"]  # the whole answer: licences, the guided walk, the path
    assert len(checkouts) == 1


def test_contains_is_read_in_one_transaction(show, checkouts) -> None:
    assert show.t.rights.contains(show.model_version, show.marcus).contains
    assert len(checkouts) == 1


def test_a_trace_and_a_path_are_each_read_in_one_transaction(show, checkouts) -> None:
    assert len(show.t.lineage.trace(show.output, direction="up").nodes) > 5
    assert show.t.lineage.path(show.output, show.marcus) is not None
    assert len(checkouts) == 2


def test_a_revoke_reads_its_impact_in_one_transaction_and_applies_it_in_others(show, checkouts) -> None:
    impact = show.t.revoker.revoke(show.marcus, dry_run=True)
    assert impact.downstream and len(checkouts) == 1
    show.t.revoker.revoke(show.marcus, reason="consent withdrawn")
    assert show.t.rights.effective(show.model_version, at=TODAY).withheld["training"]


def test_refusing_work_audits_it_after_the_reads(show) -> None:
    # require() reads the rights in one transaction and writes the refusal in its own: the audit
    # event is committed whatever the reads' transaction does.
    from rmtc.errors import RightsViolation

    with pytest.raises(RightsViolation):
        show.t.rights.require(show.model_version, "inference", action="infer", at=TODAY)
    assert len(show.t.store.find_audit(action="rights.refused").items) == 1
