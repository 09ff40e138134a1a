"""A company starts from the bank vertical: caruso init, caruso up, an agent signs in in Chromium."""
import os
import signal
import subprocess
import sys
import threading
import tomllib

import pytest
import tomli_w

from caruso_core.testing import eventually
from caruso_core.testing.processes import free_port

pytestmark = pytest.mark.browser


def caruso(*args, cwd, env):
    return subprocess.run([sys.executable, "-m", "caruso_core", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_an_agent_signs_in_to_the_bank_front_office(tmp_path, chromium):
    env = {**os.environ, "CARUSO_MANAGER": f"PYRO:caruso.manager@127.0.0.1:{free_port()}"}
    env.pop("CARUSO_DATA", None)
    made = caruso("init", "acme-bank", "--vertical", "bank", cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "acme-bank"
    deployment = tomllib.loads((folder / "caruso.toml").read_text())
    url = f"http://127.0.0.1:{free_port()}"            # the integrator picks the address
    deployment["services"]["frontoffice"].setdefault("config", {})["address"] = url
    (folder / "caruso.toml").write_text(tomli_w.dumps(deployment))
    (folder / "anna.pw").write_text("anna-password-1\n")
    added = caruso("frontoffice", "user", "add", "anna", "--role", "agent", "--password-file", "anna.pw",
                   cwd=folder, env=env)
    assert added.returncode == 0, added.stderr

    up = subprocess.Popen([sys.executable, "-m", "caruso_core", "up"], cwd=folder, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    threading.Thread(target=lambda: lines.extend(line.rstrip() for line in up.stdout), daemon=True).start()
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    try:
        eventually(lambda: up.poll() is not None or any(line.startswith("caruso is up") for line in lines),
                   limit=120, what="caruso is up")
        assert up.poll() is None, "\n".join(lines)
        page = context.new_page()
        errors = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(url + "/signin")
        page.fill("input[name=name]", "anna")
        page.fill("input[name=password]", "anna-password-1")
        page.click("button[type=submit]")
        page.get_by_role("link", name="Customers").first.click()
        page.get_by_role("heading", name="Customers").wait_for()
        page.get_by_role("link", name="Complaints").first.click()
        page.get_by_role("heading", name="Complaints").wait_for()
        assert errors == []
    finally:
        context.close()
        up.send_signal(signal.SIGINT)
        code = up.wait(120)
    assert code == 0, "\n".join(lines)
    assert lines[-1] == "caruso is down"
