import dataclasses
from datetime import UTC, date, datetime

import pytest

from rmtc.core.entities import (
    ENTITY_CLASSES,
    Asset,
    DatasetVersion,
    License,
    ModelVersion,
    Run,
    from_columns,
    from_record,
    kind_fields,
    parse_date,
    to_record,
)
from rmtc.core.ids import new_id
from rmtc.core.kinds import Kind
from rmtc.errors import InvalidInput

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _sample(cls):
    return cls(id=new_id(), name=f"a {cls.KIND.value}", created_at=NOW, created_by="ada", attrs={"note": "x"})


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_round_trips_through_the_generic_record(kind):
    entity = _sample(ENTITY_CLASSES[kind])
    assert from_record(to_record(entity)) == entity


def _columns(rec, **changes):
    rec = {**rec, **changes}
    return from_columns(
        rec["kind"],
        rec["id"],
        rec["name"],
        rec["project"],
        rec["version"],
        rec["content_hash"],
        rec["created_at"],
        rec["created_by"],
        dict(rec["fields"]),
        dict(rec["attrs"]),
    )


@pytest.mark.parametrize("kind", list(Kind))
def test_the_columns_path_builds_the_same_entity_as_the_record_path(kind):
    entity = _sample(ENTITY_CLASSES[kind])
    rec = to_record(entity)
    built = _columns(rec)
    assert built == from_record(rec) == entity
    assert type(built) is type(entity)


def test_the_columns_path_decodes_dates_and_fills_what_a_row_does_not_hold():
    lic = License(
        id=new_id(),
        name="ava",
        created_at=NOW,
        created_by="ada",
        grants=("training",),
        finish=date(2027, 1, 2),
    )
    rec = to_record(lic)
    back = _columns(rec)
    assert back.finish == date(2027, 1, 2) and back.grants == ("training",)
    # A row written by an older version lacks newer fields: they take their defaults, and a field
    # only a newer version knows is left out, as from_record does.
    fields = {k: v for k, v in rec["fields"].items() if k != "grants"} | {"from_the_future": 1}
    older = _columns(rec, fields=fields)
    assert older.grants == License.__dataclass_fields__["grants"].default
    assert older == from_record({**rec, "fields": fields})
    assert not hasattr(older, "from_the_future")
    # Defaults made by a factory are fresh for every entity.
    a, b = (_columns(to_record(_sample(Run)), fields={}) for _ in range(2))
    assert a.params == {} and a.params is not b.params


def test_typed_fields_survive_the_record_with_their_types():
    lic = License(
        id=new_id(),
        name="ava-2026",
        created_at=NOW,
        created_by="ada",
        grants=("training", "inference"),
        finish=date(2027, 12, 31),
        jurisdictions=("NZ",),
    )
    back = from_record(to_record(lic))
    assert back.finish == date(2027, 12, 31)
    assert back.grants == ("training", "inference")
    assert isinstance(back, License)


def test_assets_and_weights_are_keyed_by_content_and_versions_by_name_and_number():
    asset = Asset(
        id=new_id(), name="plate.1001.exr", created_at=NOW, created_by="ada", content_hash="ab" * 32
    )
    version = DatasetVersion(id=new_id(), name="plates", version=3, created_at=NOW, created_by="ada")
    mv = ModelVersion(id=new_id(), name="matte", version=2, created_at=NOW, created_by="ada")
    run = Run(id=new_id(), name="train", created_at=NOW, created_by="ada")
    assert asset.key == "ab" * 32
    assert version.key == "plates@3"
    assert mv.key == "matte@2"
    assert run.key is None


def test_entities_are_immutable():
    asset = _sample(Asset)
    with pytest.raises(dataclasses.FrozenInstanceError):
        asset.name = "other"  # type: ignore[misc]


def test_json_form_starts_with_id_and_kind():
    data = _sample(Asset).to_json()
    assert list(data)[:2] == ["id", "kind"]
    assert data["kind"] == "asset"


def test_kind_fields_lists_only_the_kinds_own_fields():
    assert "frame" in kind_fields(Kind.ASSET)
    assert "name" not in kind_fields(Kind.ASSET)


def test_when_a_date_is_malformed_then_the_error_names_the_field():
    with pytest.raises(InvalidInput, match="--finish '31/12/2027' is not a date"):
        parse_date("31/12/2027", "--finish")
