"""Project scopes through the remote store: another project's data behaves as missing (404, never
403), listings leave it out, and writing into a project outside the token's scopes is refused."""

from __future__ import annotations

import pytest

from rmtc.core.kinds import Kind
from rmtc.errors import Forbidden, NotFound
from rmtc.store.remote import open_remote
from rmtc.store.sql.auth import Role
from rmtc.store.types import AuditEvent, Edge, EntityQuery, RunStatus, WriteBatch
from rmtc.testing.conformance._store_support import Maker, R


@pytest.fixture
def two_projects(served):
    m = Maker()
    show, other = m.asset(project="show"), m.asset(project="other")
    run = m.run(project="other")
    admin = open_remote(served.url, token=served.admin_token)
    admin.write(WriteBatch([show, other, run], statuses=[RunStatus(run.id, "running", m.clock.now())]))
    admin.close()
    return m, show, other, run


@pytest.fixture
def show_artist(served):
    remote = open_remote(served.url, token=served.make_token(Role.artist, ["show"], user="ana"))
    yield remote
    remote.close()


def test_another_projects_entity_reads_as_missing(show_artist, two_projects):
    _, show, other, run = two_projects
    show = show_artist.get_entity(show.id)
    assert show.created_by == "admin"  # attributed to the token that wrote it
    for call in (
        lambda: show_artist.get_entity(other.id),
        lambda: show_artist.get_run_status(run.id),
        lambda: show_artist.get_metrics(run.id),
        lambda: show_artist.aliases_of(other.id),
        lambda: show_artist.find_audit(project="other"),
    ):
        with pytest.raises(NotFound):
            call()
    assert show_artist.get_entities([show.id, other.id]) == {show.id: show}
    assert show_artist.find_entities(EntityQuery(kind=Kind.ASSET)).items == [show]
    assert show_artist.count_entities(EntityQuery()) == 1
    assert show_artist.get_flags([other.id]) == {}


def test_writing_into_or_linking_to_another_project_is_refused_and_nothing_is_written(
    show_artist, two_projects, served
):
    m, _, other, run = two_projects
    foreign = m.asset(project="other")
    mine = m.asset(project="show")
    for batch in (
        WriteBatch([mine, foreign]),
        WriteBatch([mine], edges=[Edge(mine.id, R.DERIVED_FROM, other.id)]),
        WriteBatch([mine], audit=[AuditEvent("x", "ana", m.clock.now(), project="other")]),
        WriteBatch(statuses=[RunStatus(run.id, "failed", m.clock.now())]),
    ):
        with pytest.raises(NotFound):
            show_artist.write(batch)
    with pytest.raises(NotFound):
        show_artist.set_flag(other.id, "blocked", {"reason": "x"})
    admin = open_remote(served.url, token=served.admin_token)
    try:
        assert admin.get_entities([mine.id, foreign.id]) == {}
        assert admin.get_run_status(run.id).state == "running"
        assert admin.get_flags([other.id]) == {}
    finally:
        admin.close()


def test_a_viewer_may_not_write_and_only_an_admin_may_revoke_or_purge(served, two_projects):
    m, show, _, _ = two_projects
    viewer = open_remote(served.url, token=served.make_token(Role.viewer, ["show"]))
    artist = open_remote(served.url, token=served.make_token(Role.artist, ["show"]))
    try:
        with pytest.raises(Forbidden):
            viewer.write(WriteBatch([m.asset(project="show")]))
        artist.set_flag(show.id, "blocked", {"reason": "review"})
        with pytest.raises(Forbidden):
            artist.set_flag(show.id, "revoked", {"reason": "consent withdrawn"})
        assert viewer.get_flags([show.id]) == {show.id: {"blocked": {"reason": "review"}}}
    finally:
        viewer.close()
        artist.close()


def test_a_token_of_several_projects_sees_each_and_nothing_else(served, two_projects):
    m, show, other, _ = two_projects
    third = m.asset(project="third")
    admin = open_remote(served.url, token=served.admin_token)
    admin.write(WriteBatch([third]))
    admin.close()
    both = open_remote(served.url, token=served.make_token(Role.viewer, ["show", "other"]))
    try:
        assert {e.id for e in both.find_entities(EntityQuery(kind=Kind.ASSET)).items} == {show.id, other.id}
        with pytest.raises(NotFound):
            both.get_entity(third.id)
    finally:
        both.close()


def test_walks_and_closures_never_enter_another_project(served, two_projects):
    _, show, other, _ = two_projects
    admin = open_remote(served.url, token=served.admin_token)
    admin.write(WriteBatch(edges=[Edge(show.id, R.DERIVED_FROM, other.id)]))
    admin.close()
    viewer = open_remote(served.url, token=served.make_token(Role.viewer, ["show"]))
    try:
        assert viewer.walk([show.id], "up") == []
        assert set(viewer.closure([show.id], "up").kinds) == {show.id}
        assert viewer.find_edges(src=[show.id]) == []
        assert viewer.walk([other.id], "down") == []
    finally:
        viewer.close()
