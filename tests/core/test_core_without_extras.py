"""A plain install (``pip install caruso``, no extras: README's first command) has no
PostgreSQL or MariaDB driver, no SIP stack, no scikit-learn and no browser driver;
the core and the manager must start without them, and `caruso demo` runs on SQLite. A
service that needs an extra is refused in one line that names the install."""
import json
import os
import re
import subprocess
import sys

import pytest

from caruso_core.testing.processes import free_port

EXTRAS = ("psycopg", "psycopg2", "pymysql", "sippy", "sklearn", "scipy", "playwright")

BLOCK = f"""
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {EXTRAS!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Absent())
"""


def without_extras(code, tmp_path):
    """Run ``code`` in a fresh interpreter that cannot import the extras; its finished process."""
    return subprocess.run([sys.executable, "-c", BLOCK + code], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env=dict(os.environ, CARUSO_DATA=str(tmp_path / "data")))


def test_the_core_imports_and_the_manager_starts_without_the_optional_extras(tmp_path):
    ran = without_extras("""
import pkgutil, caruso_core
names = [m.name for m in pkgutil.iter_modules(caruso_core.__path__) if m.name != "__main__"]
for name in names:
    __import__("caruso_core." + name)
print(len(names))
""", tmp_path)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert int(ran.stdout) > 20
    manager = BLOCK + "from caruso_core.cli import main\nsys.argv = ['caruso', 'manager', '--insecure', " \
        f"'--ready-json', '--uri', 'PYRO:caruso.manager@127.0.0.1:{free_port()}']\nmain()\n"
    started = subprocess.Popen([sys.executable, "-c", manager], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=tmp_path, env=dict(os.environ, CARUSO_DATA=str(tmp_path / "data")))
    try:
        lines = [started.stdout.readline(), started.stdout.readline()]
        assert any(line.startswith('{"ready"') for line in lines), (lines, started.stderr.read())
    finally:
        started.terminate()
        started.wait(30)


def test_a_service_whose_extra_is_not_installed_is_refused_in_one_line_naming_the_install(tmp_path):
    for name, reference in (("analytics", "caruso_analytics.service:AnalyticsService"),
                            ("telephony", "caruso_telephony.service:TelephonyService")):
        ran = without_extras("from caruso_core.cli import main\nsys.argv = ['caruso', 'serve', "
                             f"{name!r}, '--manager', 'PYRO:caruso.manager@127.0.0.1:9']\nmain()\n", tmp_path)
        assert ran.returncode == 1, ran.stderr
        said = ran.stderr.splitlines()[-1]
        assert re.fullmatch(rf"error: service '{name}' \({re.escape(reference)}\) needs the module "
                            rf"'({'|'.join(EXTRAS)})', which is not installed: pip install 'caruso\[{name}\]'", said), said
        assert "Traceback" not in ran.stderr


def test_every_standard_service_but_those_of_an_extra_loads_without_the_extras(tmp_path):
    ran = without_extras("""
import json
from importlib.metadata import entry_points
from caruso_core.errors import ConfigError
from caruso_core.plugins import load_service_class
loaded, refused = [], []
for entry in entry_points(group="caruso.services"):
    try:
        load_service_class(entry.name)
        loaded.append(entry.name)
    except ConfigError:
        refused.append(entry.name)
print(json.dumps([sorted(loaded), sorted(refused)]))
""", tmp_path)
    assert ran.returncode == 0, ran.stderr[-2000:]
    loaded, refused = json.loads(ran.stdout)
    assert refused == ["analytics", "telephony"]
    assert {"storage", "comm", "scripts", "frontoffice", "monitor", "reports", "erp", "billing",
            "customer-master"} <= set(loaded)


@pytest.mark.parametrize("code, waiting", [
    # `caruso up` and `caruso init` read every service's spec: scikit-learn, SciPy and
    # matplotlib (a second to import) wait until a model is fitted or drawn
    ("from caruso_core.plugins import load_service_class; load_service_class('analytics')",
     ("sklearn", "scipy", "matplotlib")),
    # a manager on SQLite: the PostgreSQL driver waits until a group forms
    ("import caruso_core.manager", ("psycopg", "sqlalchemy.dialects.postgresql")),
    # a storage: Alembic waits until a database an older version made needs its migrations
    ("import caruso_storage.service", ("alembic",)),
], ids=["analytics spec", "manager", "storage"])
def test_a_process_imports_a_library_only_once_it_needs_it(tmp_path, code, waiting):
    ran = subprocess.run([sys.executable, "-c", f"""
import sys
{code}
print(sorted(name for name in {waiting!r} if name in sys.modules))
"""], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert (ran.returncode, ran.stdout.strip()) == (0, "[]"), ran.stderr[-2000:]
