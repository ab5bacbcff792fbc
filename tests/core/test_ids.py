import uuid

import pytest

from rmtc.core.ids import Ref, new_ids, parse_id
from rmtc.core.kinds import Kind
from rmtc.errors import InvalidInput


def test_when_a_full_uuid_is_given_then_it_is_an_id_reference():
    u = uuid.uuid4()
    assert Ref.parse(str(u)).id == u
    assert Ref.parse(u).id == u


def test_when_kind_name_and_version_are_given_then_each_is_parsed():
    ref = Ref.parse("dataset:sh010-beauty@3")
    assert (ref.kind, ref.name, ref.version) == (Kind.DATASET, "sh010-beauty", "3")
    assert str(ref) == "dataset:sh010-beauty@3"


def test_when_an_alias_is_given_then_it_is_kept_as_the_version():
    ref = Ref.parse("model-version:matte@production")
    assert (ref.kind, ref.name, ref.version) == (Kind.MODEL_VERSION, "matte", "production")


def test_when_an_rmtc_url_is_given_then_it_reads_like_kind_name():
    ref = Ref.parse("rmtc://dataset/plates@2")
    assert (ref.kind, ref.name, ref.version) == (Kind.DATASET, "plates", "2")


def test_when_a_hex_prefix_is_given_then_it_is_a_prefix_reference():
    assert Ref.parse("3fa8c1").prefix == "3fa8c1"


@pytest.mark.parametrize("text", ["", "  ", "ab", "not a ref", "bogus:thing", "dataset:"])
def test_when_a_reference_is_unreadable_then_the_error_says_which_forms_work(text):
    with pytest.raises(InvalidInput) as err:
        Ref.parse(text)
    assert err.value.hint


def test_when_a_uuid_is_malformed_then_parse_id_names_it():
    with pytest.raises(InvalidInput, match="'xyz' is not a UUID"):
        parse_id("xyz")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("licence", Kind.LICENSE),
        ("ModelVersion", Kind.MODEL_VERSION),
        ("talent", Kind.PARTY),
        ("runs", Kind.RUN),
    ],
)
def test_when_people_spell_kinds_their_way_then_the_kind_is_understood(text, kind):
    assert Kind.parse(text) is kind


def test_new_ids_are_distinct_random_v4_uuids_like_new_id():
    ids = new_ids(2000)
    assert len(set(ids)) == 2000
    assert {i.version for i in ids} == {4}
    assert {i.variant for i in ids} == {uuid.RFC_4122}
    assert new_ids(0) == []
