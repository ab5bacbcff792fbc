import gc

import pytest

from rmtc.core import collector


@pytest.fixture(autouse=True)
def _collector_enabled():
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_the_collector_is_paused_inside_and_resumed_after() -> None:
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_resumes_when_the_work_fails() -> None:
    with pytest.raises(ValueError, match="refused"), collector.paused():
        raise ValueError("refused")
    assert gc.isenabled()


def test_small_work_leaves_the_collector_running() -> None:
    with collector.paused(when=False):
        assert gc.isenabled()


def test_a_collector_the_application_paused_stays_paused() -> None:
    gc.disable()
    with collector.paused():
        assert not gc.isenabled()
    assert not gc.isenabled()
