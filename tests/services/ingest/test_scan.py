import pytest

from rmtc.errors import InvalidInput, NotFound
from rmtc.services.ingest.scan import parse_frames, scan


@pytest.fixture
def shot(tmp_path):
    for frame in (1001, 1002, 1003, 1005):
        (tmp_path / f"plate.{frame}.exr").write_bytes(b"frame%d" % frame)
    (tmp_path / "notes.txt").write_text("hi")
    sub = tmp_path / "ref"
    sub.mkdir()
    (sub / "face.0001.png").write_bytes(b"1")
    (sub / "face.0002.png").write_bytes(b"2")
    return tmp_path


@pytest.mark.parametrize("spelling", ["plate.####.exr", "plate.%04d.exr", "plate.@@@@.exr"])
def test_every_vfx_spelling_of_a_sequence_finds_its_frames(shot, spelling):
    files = scan([str(shot / spelling)])
    assert [f.frame for f in files] == [1001, 1002, 1003, 1005]
    assert {f.sequence for f in files} == {str(shot / "plate.####.exr")}


def test_a_frame_range_selects_frames(shot):
    files = scan([str(shot / "plate.####.exr")], frames="1001-1003")
    assert [f.frame for f in files] == [1001, 1002, 1003]


def test_a_range_inside_the_pattern_works_too(shot):
    assert [f.frame for f in scan([str(shot / "plate.1002-1003####.exr")])] == [1002, 1003]


def test_when_frames_of_a_range_are_missing_then_the_error_lists_them(shot):
    with pytest.raises(InvalidInput, match="frames 1004 of .* are missing"):
        scan([str(shot / "plate.####.exr")], frames="1001-1005")


def test_when_no_frame_exists_then_not_found(shot):
    with pytest.raises(NotFound):
        scan([str(shot / "other.####.exr")])


def test_a_folder_is_walked_and_its_sequences_grouped(shot):
    files = scan([str(shot)])
    by_name = {f.path.name: f for f in files}
    assert by_name["face.0002.png"].sequence == str(shot / "ref" / "face.####.png")
    assert by_name["face.0002.png"].frame == 2
    assert by_name["notes.txt"].sequence is None
    assert len(files) == 7


def test_a_file_named_twice_is_ingested_once(shot):
    path = str(shot / "plate.1001.exr")
    assert len(scan([path, path, str(shot / "plate.####.exr")])) == 4


def test_when_a_path_does_not_exist_then_not_found_names_it(tmp_path):
    with pytest.raises(NotFound, match="missing.exr"):
        scan([str(tmp_path / "missing.exr")])


def test_when_nothing_is_named_then_invalid_input():
    with pytest.raises(InvalidInput):
        scan([])


@pytest.mark.parametrize("text", ["1001-1100", "1-100x2", "1,5,9-12"])
def test_frame_ranges_in_vfx_notation_parse(text):
    assert len(parse_frames(text)) > 0


@pytest.mark.parametrize("text", ["ten", "1001-", "x-y"])
def test_bad_frame_ranges_name_the_text(text):
    with pytest.raises(InvalidInput, match="frame range"):
        parse_frames(text)
