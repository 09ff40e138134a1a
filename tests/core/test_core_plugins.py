"""Plugins: each component brings its hookspecs; overrides go by precedence, not install
order; clashes are reported, never silently skipped."""
import logging
import subprocess
import sys
import textwrap

import pluggy
import pytest

from caruso_core import hookimpl, plugins


class Override:
    @hookimpl
    def caruso_routing_strategies(self):
        return {"longest_idle": "mine"}


class Rival:
    @hookimpl
    def caruso_routing_strategies(self):
        return {"longest_idle": "rival"}


class Insistent:
    @hookimpl(tryfirst=True)
    def caruso_routing_strategies(self):
        return {"longest_idle": "insistent"}


@pytest.fixture
def manager():
    import caruso_comm.hookspecs
    import caruso_comm.strategies.plugin

    manager = pluggy.PluginManager("caruso")
    manager.add_hookspecs(caruso_comm.hookspecs)
    return manager, caruso_comm.strategies.plugin


def test_a_plugin_overrides_a_standard_one_whatever_the_order(manager):
    manager, standard = manager
    manager.register(Override(), name="override")
    manager.register(standard, name="routing")              # registered last, still the default
    provided = plugins.provided("caruso_routing_strategies", manager)
    assert provided["longest_idle"] == "mine" and "round_robin" in provided


def test_two_plugins_of_one_precedence_are_reported_and_tryfirst_decides(manager, caplog):
    manager, standard = manager
    manager.register(standard, name="routing")
    manager.register(Override(), name="override")
    manager.register(Rival(), name="rival")
    with caplog.at_level(logging.WARNING, logger="caruso.plugins"):
        assert plugins.provided("caruso_routing_strategies", manager)["longest_idle"] == "rival"
    assert "caruso_routing_strategies 'longest_idle' is provided by override and by rival" in caplog.text
    caplog.clear()
    manager.register(Insistent(), name="insistent")
    with caplog.at_level(logging.WARNING, logger="caruso.plugins"):
        assert plugins.provided("caruso_routing_strategies", manager)["longest_idle"] == "insistent"


def test_an_entry_point_clashing_with_a_standard_name_is_reported(tmp_path, monkeypatch, caplog):
    (tmp_path / "impostor_routing.py").write_text(textwrap.dedent("""
        from caruso_core import hookimpl

        @hookimpl
        def caruso_routing_strategies():
            return {"longest_idle": "impostor"}
    """))
    info = tmp_path / "impostor-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: impostor\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[caruso.plugins]\nrouting = impostor_routing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="caruso.plugins"):
        fresh = plugins.plugin_manager.__wrapped__()
    assert ("plugin 'routing' of impostor is not loaded: caruso_comm.strategies.plugin registered that name "
            "already") in caplog.text
    assert plugins.provided("caruso_routing_strategies", fresh)["longest_idle"].__name__ == "LongestIdle"


def test_a_groups_entry_points_are_read_again_once_the_import_path_changes(tmp_path, monkeypatch):
    info = tmp_path / "late-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: late\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[caruso.services]\nlate = late_service:Late\n")
    assert "late" not in plugins.group(plugins.SERVICES_GROUP)
    with monkeypatch.context() as patched:
        patched.syspath_prepend(str(tmp_path))
        assert plugins.group(plugins.SERVICES_GROUP)["late"].value == "late_service:Late"
    assert "late" not in plugins.group(plugins.SERVICES_GROUP)
    assert "storage" in plugins.group(plugins.SERVICES_GROUP)


def test_a_service_installed_after_the_entry_points_were_read_is_found(tmp_path, monkeypatch):
    """As ``caruso swap --use NAME`` in a running ``caruso up`` needs for a package installed since."""
    (tmp_path / "late_service.py").write_text(textwrap.dedent("""
        from caruso_core import service

        @service(name="late", interface="test.late/1", version="1.0.0")
        class Late:
            pass
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "late" not in plugins.group(plugins.SERVICES_GROUP)
    info = tmp_path / "late-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: late\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[caruso.services]\nlate = late_service:Late\n")
    assert plugins.load_service_class("late").__name__ == "Late"


def test_loading_the_standard_plugins_imports_none_of_what_they_provide():
    """Every process loads the plugins; each imports what it provides inside its hook, so a
    process without storage does not pay for SQLAlchemy (about 0.3 CPU s) to start."""
    loaded = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import sys
        from caruso_core import plugins
        manager = plugins.plugin_manager()
        assert len(manager.get_plugins()) >= 8, manager.get_plugins()
        print(sorted(name for name in ("sqlalchemy", "lxml", "starlette", "caruso_storage.rules")
                     if name in sys.modules))
        """)], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stderr
