import dataclasses
from dataclasses import dataclass, field

import pytest

from rmtc.core.frozen import assembler


@dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int = 0
    tags: dict = field(default_factory=dict)


def test_an_assembled_instance_equals_the_one_init_makes_and_stays_frozen():
    made = assembler(Point)(1, 2, {"a": 1})
    assert made == Point(1, 2, {"a": 1})
    assert type(made) is Point
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.x = 3  # type: ignore[misc]


def test_every_value_is_positional_and_required():
    # No defaults are filled in: a store row always has every field.
    with pytest.raises(TypeError):
        assembler(Point)(1)


def test_one_assembler_per_class():
    assert assembler(Point) is assembler(Point)


def test_classes_it_cannot_build_faithfully_are_refused():
    @dataclass(frozen=True)
    class NoSlots:
        x: int

    @dataclass(frozen=True, slots=True)
    class Checked:
        x: int

        def __post_init__(self) -> None:
            if self.x < 0:
                raise ValueError("negative")

    with pytest.raises(TypeError, match="slots"):
        assembler(NoSlots)
    with pytest.raises(TypeError, match="__post_init__"):
        assembler(Checked)
    with pytest.raises(TypeError, match="slots"):
        assembler(int)
