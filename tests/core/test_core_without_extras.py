"""A plain install (``pip install caruso``, no extras: README's first command) has no
PostgreSQL or MariaDB driver, no SIP stack, no scikit-learn and no browser driver; the
core and the manager must start without them, and `caruso demo` runs on SQLite."""
import os
import subprocess
import sys

from caruso_core.testing.processes import free_port

EXTRAS = ("psycopg", "psycopg2", "pymysql", "sippy", "sklearn", "playwright")

BLOCK = f"""
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {EXTRAS!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}")
sys.meta_path.insert(0, Absent())
"""


def test_the_core_imports_and_the_manager_starts_without_the_optional_extras(tmp_path):
    imports = BLOCK + """
import pkgutil, caruso_core
names = [m.name for m in pkgutil.iter_modules(caruso_core.__path__) if m.name != "__main__"]
for name in names:
    __import__("caruso_core." + name)
print(len(names))
"""
    ran = subprocess.run([sys.executable, "-c", imports], capture_output=True, text=True, timeout=120, cwd=tmp_path)
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
