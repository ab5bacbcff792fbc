import pytest

from rmtc import errors


@pytest.mark.parametrize("cls", list(errors.BY_CODE.values()))
def test_every_error_survives_the_trip_through_its_code(cls):
    err = cls("the thing broke", hint="do the other thing", details={"id": "42"})
    back = errors.RmtcError.from_dict(err.to_dict())
    assert type(back) is cls
    assert (back.message, back.hint, back.details) == (err.message, err.hint, err.details)


def test_codes_are_unique():
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.RmtcError)]
    assert len({c.code for c in classes}) == len(classes) == len(errors.BY_CODE)


def test_rights_violation_carries_its_evidence():
    err = errors.RightsViolation("no training", evidence=["model_version:m@1", "license:x"])
    assert errors.RmtcError.from_dict(err.to_dict()).evidence == ["model_version:m@1", "license:x"]


def test_one_line_joins_message_and_fix():
    assert errors.NotFound("x is gone", hint="run y").one_line() == "x is gone; run y"
