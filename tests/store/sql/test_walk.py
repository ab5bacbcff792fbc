"""The walk's own plumbing; its answers are the conformance suite's (``rmtc.testing.conformance``)."""

import pytest
import sqlalchemy as sa

from rmtc.store.sql.walk import _rows


@pytest.fixture
def conn():
    engine = sa.create_engine("sqlite://")
    with engine.connect() as c:
        yield c
    engine.dispose()


def test_rows_are_the_drivers_own_tuples(conn):
    assert _rows(conn, "SELECT value, key FROM json_each(?)", ('["a", "b"]',)) == [("a", 0), ("b", 1)]


def test_an_error_while_rows_are_fetched_is_sqlalchemys_so_the_store_translates_it(conn):
    # SQLite runs a statement as its rows are fetched: the second row fails after execute returned.
    sql = "SELECT CASE WHEN value = 2 THEN json('not json') ELSE value END FROM json_each(?)"
    with pytest.raises(sa.exc.DBAPIError, match="malformed JSON"):
        _rows(conn, sql, ("[1, 2]",))
