import pytest

from rmtc.errors import InvalidInput
from rmtc.plugins.registry import GROUPS, Registry, registry_for


def test_builtin_stores_register_through_entry_points_like_anyone_else():
    reg = Registry("rmtc.stores")
    assert {"sqlite", "postgresql"} <= set(reg.names())
    assert "(rmtc " in reg.report().loaded["sqlite"]


def test_an_unknown_name_lists_what_is_available():
    with pytest.raises(InvalidInput) as err:
        Registry("rmtc.stores").get("cassandra")
    assert "cassandra" in err.value.message and "sqlite" in err.value.hint


def test_a_factory_registered_in_code_wins():
    reg = Registry("rmtc.stores")

    def mine(url, *, create=False):
        return url

    reg.register("sqlite", mine)
    assert reg.get("sqlite") is mine


def test_a_broken_plugin_is_reported_not_swallowed(monkeypatch):
    from importlib.metadata import EntryPoint

    broken = EntryPoint(name="broken", value="rmtc_no_such_module:factory", group="rmtc.stores")
    monkeypatch.setattr("rmtc.plugins.registry.entry_points", lambda group: [broken])
    reg = Registry("rmtc.stores")
    assert reg.names() == []
    (failure,) = reg.report().failed
    assert failure.name == "broken"
    assert "ModuleNotFoundError" in failure.error
    with pytest.raises(InvalidInput, match="failed to load"):
        reg.get("broken")


def test_a_name_claimed_twice_warns_and_names_both(monkeypatch):
    from importlib.metadata import EntryPoint

    eps = [
        EntryPoint(name="dup", value="rmtc.store.sql.factory:open_sqlite", group="rmtc.stores"),
        EntryPoint(name="dup", value="rmtc.store.sql.factory:open_postgresql", group="rmtc.stores"),
    ]
    monkeypatch.setattr("rmtc.plugins.registry.entry_points", lambda group: eps)
    with pytest.warns(RuntimeWarning, match="registered by both"):
        Registry("rmtc.stores").names()


def test_unknown_groups_are_refused():
    with pytest.raises(InvalidInput):
        registry_for("rmtc.nope")
    assert "rmtc.trainers" in GROUPS
