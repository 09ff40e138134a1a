"""Demo: wall time and peak memory of ``caruso demo`` and of its simulated morning alone.

Runs the real command (10,000 demo customers, 60 calls, 6 chats, 4 e-mails, a hot-swap
of the script engine) in a scratch folder and reads the morning's start and end from
its output. Peak memory is the largest resident set of any one process of the demo
(the demo itself, the manager or a service host). Target: the whole demo under 60 s.
"""
from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import tempfile
import time

TARGET_SECONDS = 60.0


def run() -> dict:
    env = {key: value for key, value in os.environ.items() if key not in ("CARUSO_MANAGER", "CARUSO_DATA")}
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "caruso_core", "demo", "--dir", scratch],
                                capture_output=True, text=True, env=env, timeout=600)
        wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"caruso demo failed:\n{result.stdout}\n{result.stderr}")
    stamps = {label: float(seconds) for seconds, label in
              re.findall(r"^\[\s*([\d.]+)s\] (morning starts|morning over|loaded)", result.stdout, re.M)}
    morning = stamps["morning over"] - stamps["morning starts"]
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"caruso demo: {wall:.1f} s wall (target < {TARGET_SECONDS:.0f} s); up and 10,000 customers loaded at "
          f"{stamps['loaded']:.1f} s; the morning alone {morning:.1f} s ({morning / wall:.0%} of the demo); "
          f"largest process {peak_mb:.0f} MB")
    return {"demo_seconds": round(wall, 1), "morning_seconds": round(morning, 1),
            "load_seconds": round(stamps["loaded"], 1), "morning_share": round(morning / wall, 3),
            "peak_process_mb": round(peak_mb), "under_target": wall < TARGET_SECONDS}
