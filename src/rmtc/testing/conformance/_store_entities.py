"""Conformance cases: entities written, resolved, refused, read back, found and paged; concurrency."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from rmtc.core.entities import (
    Asset,
    Dataset,
    Entity,
)
from rmtc.core.ids import new_id
from rmtc.core.kinds import Kind
from rmtc.errors import Conflict, InvalidInput, NotFound
from rmtc.store.protocol import MetadataStore
from rmtc.store.types import (
    AuditEvent,
    Edge,
    EntityQuery,
)
from rmtc.testing.conformance._store_support import Maker, R, StoreCases, all_kinds, write


class EntityCases(StoreCases):
    # -- entities ------------------------------------------------------------------------------------
    @pytest.mark.parametrize("kind", list(Kind))
    def test_when_an_entity_of_any_kind_is_written_then_it_reads_back_equal(
        self, store: MetadataStore, m: Maker, kind: Kind
    ) -> None:
        entity = all_kinds(m)[kind]
        result = write(store, entity)
        assert result.created == 1
        assert list(result.entities) == [entity]
        got = store.get_entity(entity.id)
        assert got == entity
        assert type(got) is type(entity)
        assert got.created_at.utcoffset() == timedelta(0)
        assert store.find_entities(EntityQuery(kind=kind)).items == [entity]

    def test_when_timestamps_are_in_another_zone_then_they_come_back_utc_and_equal(
        self, store: MetadataStore, m: Maker
    ) -> None:
        plus2 = datetime(2026, 5, 1, 14, 30, 15, 123456, tzinfo=UTC).astimezone(timezone(timedelta(hours=2)))
        a = Asset(id=new_id(), name="tz", created_at=plus2, created_by="t", content_hash="9" * 64)
        write(store, a)
        got = store.get_entity(a.id)
        assert got.created_at == plus2
        assert got.created_at.tzinfo is not None and got.created_at.utcoffset() == timedelta(0)

    def test_when_json_values_go_beyond_64_bit_integers_or_hold_any_character_then_they_read_back_equal(
        self, store: MetadataStore, m: Maker
    ) -> None:
        # The store reads JSON with a fast parser that refuses integers beyond 64 bits; it must not
        # lose them (nor any other value Python's json writes).
        values = {"big": 2**70, "negative": -(2**65), "float": 0.1, "text": "Ngā mihi 🎬 \\u0000"}
        a = m.asset(attrs=values, media={"id": 2**64, "list": [2**80, 1.5, None, True]})
        write(store, a)
        assert store.get_entity(a.id) == a
        assert store.get_entities([a.id])[a.id] == a
        assert store.find_entities(EntityQuery(kind=Kind.ASSET)).items == [a]

    def test_when_a_timestamp_is_naive_then_invalid_input(self, store: MetadataStore, m: Maker) -> None:
        a = Asset(
            id=new_id(), name="naive", created_at=datetime(2026, 1, 1), created_by="t", content_hash="1" * 64
        )
        with pytest.raises(InvalidInput):
            write(store, a)

    @pytest.mark.parametrize(
        "bad",
        [
            {"name": "nul\x00name"},
            {"attrs": {"x": math.nan}},
            {"attrs": {"x": "nul\x00"}},
            {"attrs": {"x": object()}},
        ],
    )
    def test_when_a_value_cannot_be_kept_faithfully_then_invalid_input_and_nothing_written(
        self, store: MetadataStore, m: Maker, bad: dict[str, Any]
    ) -> None:
        good, wrong = m.asset(), m.asset(**bad)
        with pytest.raises(InvalidInput):
            write(store, good, wrong)
        assert store.get_entities([good.id, wrong.id]) == {}

    def test_when_same_key_and_content_hash_are_written_again_then_stored_entity_is_returned(
        self, store: MetadataStore, m: Maker
    ) -> None:
        first = m.asset("a", content_hash="h" * 64)
        write(store, first)
        again = m.asset("a-again", content_hash="h" * 64)
        result = write(store, again)
        assert result.created == 0
        assert result.entities[0] == first
        assert store.get_entities([again.id]) == {}
        assert store.count_entities(EntityQuery(kind=Kind.ASSET)) == 1

    def test_when_an_entity_is_redirected_then_batch_edges_and_audit_name_the_stored_one(
        self, store: MetadataStore, m: Maker
    ) -> None:
        first = m.asset(content_hash="h" * 64)
        dv = m.version()
        write(store, first, dv)
        dup = m.asset(content_hash="h" * 64)
        event = AuditEvent("ingest", "tester", m.clock.now(), target=dup.id)
        result = write(store, dup, edges=(Edge(dup.id, R.MEMBER_OF, dv.id),), audit=(event,))
        assert result.edges_created == 1
        assert [(e.src, e.dst) for e in store.find_edges(dst=[dv.id])] == [(first.id, dv.id)]
        assert [e.target for e in store.find_audit(action="ingest").items] == [first.id]

    def test_when_same_key_has_other_content_then_conflict_and_nothing_of_the_batch_is_written(
        self, store: MetadataStore, m: Maker
    ) -> None:
        write(store, m.version("plates", 1, content_hash="x" * 64))
        bystander = m.asset()
        clash = m.version("plates", 1, content_hash="y" * 64)
        with pytest.raises(Conflict) as err:
            write(store, bystander, clash, audit=(AuditEvent("x", "t", m.clock.now()),))
        assert "plates" in str(err.value)
        assert store.get_entities([bystander.id, clash.id]) == {}
        assert store.find_audit().items == []

    def test_when_existing_key_has_no_content_hash_then_conflict(
        self, store: MetadataStore, m: Maker
    ) -> None:
        write(store, Dataset(**m._base("plates", {})))
        with pytest.raises(Conflict):
            write(store, Dataset(**m._base("plates", {})))

    def test_when_the_same_entity_is_written_again_then_it_resolves_to_itself(
        self, store: MetadataStore, m: Maker
    ) -> None:
        ds = Dataset(**m._base("plates", {}))
        run = m.run()
        write(store, ds, run)
        result = write(store, ds, run)
        assert result.created == 0
        assert list(result.entities) == [ds, run]

    def test_when_a_batch_repeats_a_key_with_the_same_hash_then_one_is_created(
        self, store: MetadataStore, m: Maker
    ) -> None:
        a, b = m.asset(content_hash="h" * 64), m.asset(content_hash="h" * 64)
        result = write(store, a, b)
        assert result.created == 1
        assert result.entities[0].id == result.entities[1].id

    def test_when_keys_are_null_or_in_other_projects_then_they_do_not_clash(
        self, store: MetadataStore, m: Maker
    ) -> None:
        runs = [m.run("same"), m.run("same")]
        assets = [m.asset(content_hash="h" * 64), m.asset(content_hash="h" * 64, project="other")]
        assert write(store, *runs, *assets).created == 4

    def test_when_an_id_is_unknown_then_get_entity_raises_not_found(self, store: MetadataStore) -> None:
        missing = new_id()
        with pytest.raises(NotFound) as err:
            store.get_entity(missing)
        assert str(missing) in str(err.value)

    def test_when_some_ids_are_unknown_then_get_entities_returns_the_others(
        self, store: MetadataStore, m: Maker
    ) -> None:
        a = m.asset()
        write(store, a)
        assert store.get_entities([a.id, new_id()]) == {a.id: a}

    # -- find_entities -------------------------------------------------------------------------------
    def test_when_paging_then_every_entity_comes_once_in_order_both_ways(
        self, store: MetadataStore, m: Maker
    ) -> None:
        made = [m.asset() for _ in range(23)]
        write(store, *made)
        for newest_first, expected in ((False, made), (True, made[::-1])):
            seen: list[Entity] = []
            cursor = None
            while True:
                page = store.find_entities(EntityQuery(newest_first=newest_first), limit=5, cursor=cursor)
                assert len(page.items) <= 5
                seen.extend(page.items)
                cursor = page.next_cursor
                if cursor is None:
                    break
            assert seen == expected

    def test_when_a_cursor_is_garbage_then_invalid_input(self, store: MetadataStore) -> None:
        with pytest.raises(InvalidInput):
            store.find_entities(EntityQuery(), cursor="not-a-cursor")

    def test_when_filtering_then_every_filter_selects_exactly_its_matches(
        self, store: MetadataStore, m: Maker
    ) -> None:
        hero = m.asset("Hero_Plate%1", sequence="/s/p.####.exr", frame=1001, media={"w": 2, "ch": ["R"]})
        other = m.asset("hero-plate-2", sequence="/s/p.####.exr", frame=1002, storage="reference")
        far = m.asset("heroXplate", project="other", sequence="/t/q.####.exr", frame=None)
        v1, v2 = m.version("plates", 1), m.version("plates", 2)
        write(store, hero, other, far, v1, v2)
        cases: list[tuple[EntityQuery, list[Entity]]] = [
            (EntityQuery(kind=Kind.ASSET), [hero, other, far]),
            (EntityQuery(project="other"), [far]),
            (EntityQuery(name="hero-plate-2"), [other]),
            (EntityQuery(name_like="PLATE"), [hero, other, far, v1, v2]),
            (EntityQuery(name_like="o_p"), [hero]),
            (EntityQuery(name_like="%1"), [hero]),
            (EntityQuery(kind=Kind.DATASET_VERSION, version=2), [v2]),
            (EntityQuery(key="plates@1"), [v1]),
            (EntityQuery(content_hash=other.content_hash), [other]),
            (EntityQuery(ids=[far.id, v2.id, new_id()]), [far, v2]),
            (EntityQuery(ids=[]), []),
            (EntityQuery(fields={"sequence": "/s/p.####.exr"}), [hero, other]),
            (EntityQuery(fields={"sequence": "/s/p.####.exr", "frame": 1002}), [other]),
            (EntityQuery(fields={"frame": None}, kind=Kind.ASSET), [far]),
            (EntityQuery(fields={"storage": "reference"}), [other]),
            (EntityQuery(fields={"media": {"ch": ["R"], "w": 2}}), [hero]),
            (EntityQuery(fields={"paired": False}), [v1, v2]),
            (EntityQuery(fields={"frame": "1001"}), []),
            (EntityQuery(created_after=other.created_at), [far, v1, v2]),
            (EntityQuery(created_before=other.created_at), [hero]),
            (EntityQuery(kind=Kind.ASSET, project="default", name_like="hero"), [hero, other]),
        ]
        for query, expected in cases:
            assert store.find_entities(query).items == expected, query
            assert store.count_entities(query) == len(expected), query

    def test_when_filtering_by_id_prefix_then_the_canonical_text_start_matches(
        self, store: MetadataStore, m: Maker
    ) -> None:
        a = m.asset()
        write(store, a, *[m.asset() for _ in range(5)])
        text = str(a.id)
        for prefix in (text[:4], text[:8], text[:9], text[:11], text, text.upper()[:13]):
            assert a in store.find_entities(EntityQuery(id_prefix=prefix)).items, prefix
        assert store.find_entities(EntityQuery(id_prefix=text[:8] + text[9:12])).items == []

    # -- lifecycle and concurrency -------------------------------------------------------------------
    def test_the_store_reports_a_schema_version_and_a_printable_url(self, store: MetadataStore) -> None:
        assert store.schema_version() >= 1
        assert isinstance(store.url, str) and store.url

    def test_when_threads_write_overlapping_batches_then_nothing_is_lost_or_duplicated(
        self, store: MetadataStore
    ) -> None:
        if not self.thread_safe:
            pytest.skip("this store is not used from several threads")
        hashes = [f"{i:064x}" for i in range(60)]
        errors: list[BaseException] = []

        def worker(seed: int) -> None:
            maker = Maker()
            try:
                for chunk in range(3):
                    part = hashes[chunk * 20 : (chunk + 1) * 20][:: 1 if seed % 2 else -1]
                    result = write(store, *[maker.asset(content_hash=h) for h in part])
                    assert {e.content_hash for e in result.entities} == set(part)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert store.count_entities(EntityQuery(kind=Kind.ASSET)) == len(hashes)
