"""docs/wrappers.md works as written: its service is served, listed, called, and tested."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).parents[2] / "docs" / "wrappers.md"


def blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.S)


def test_the_documented_wrapper_is_served_listed_and_called(tmp_path, caruso_host, caruso_manager):
    service_module, client_snippet, test_module = blocks("python")
    (tmp_path / "stock.py").write_text(service_module)
    (tmp_path / "warehouse.csv").write_text(blocks("text")[0])
    env = {**os.environ, "CARUSO_MANAGER": caruso_manager.uri}

    caruso_host("stock:StockLevels", cwd=str(tmp_path), config={"path": str(tmp_path / "warehouse.csv")})
    listed = subprocess.run([sys.executable, "-m", "caruso_core", "services", "--json"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert [(s["name"], s["interface"], s["version"]) for s in json.loads(listed.stdout)] == \
        [("stock", "acme.stock/1", "1.0.0")]

    called = subprocess.run([sys.executable, "-c", client_snippet], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert called.stdout.strip() == "12 ['B-200', 'C-300']", called.stderr

    (tmp_path / "test_stock.py").write_text(test_module)
    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_stock.py"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert "2 passed" in tested.stdout, tested.stdout + tested.stderr
