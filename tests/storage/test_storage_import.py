"""Importing the storage service changes no process-wide state (warning filters, environment)."""
import subprocess
import sys

CHECK = """
import os, sys, warnings
filters, environment = list(warnings.filters), dict(os.environ)
import caruso_storage.cli, caruso_storage.service
assert warnings.filters == filters, warnings.filters[:len(warnings.filters) - len(filters)]
assert dict(os.environ) == environment
"""


def test_importing_the_storage_leaves_warning_filters_and_environment_alone():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
