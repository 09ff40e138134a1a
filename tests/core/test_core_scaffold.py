"""caruso new: the skeletons it writes (service, wrapper, vertical) pass their own tests with the test kit,
run in place without installing anything."""
import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("kind, passed", [("service", "2 passed"), ("wrapper", "2 passed"), ("vertical", "3 passed")])
def test_skeleton_tests_pass(tmp_path, kind, passed):
    made = subprocess.run([sys.executable, "-m", "caruso_core", "new", kind, "acme-stock", "--into", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    assert [path.name for path in tmp_path.iterdir()] == ["acme-stock"]     # written whole, nothing left over
    package = tmp_path / "acme-stock"
    assert (package / "acme_stock" / "contract.py").exists() == (kind == "wrapper")
    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=package,
                            capture_output=True, text=True, timeout=180,
                            env={**os.environ, "PYTHONPATH": str(package)})
    assert passed in tested.stdout, tested.stdout + tested.stderr


def test_bad_names_and_existing_folders_are_one_line_errors(tmp_path):
    def new(name):
        return subprocess.run([sys.executable, "-m", "caruso_core", "new", "service", name, "--into", str(tmp_path)],
                              capture_output=True, text=True, timeout=60)

    bad = new("Acme_Stock")
    assert bad.returncode == 1 and "is not a package name" in bad.stderr
    assert new("acme").returncode == 0
    again = new("acme")
    assert again.returncode == 1 and "exists already" in again.stderr
