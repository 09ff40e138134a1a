"""Desk phone: ``AGENTS`` browser agents in one Chromium (a context each, the pages working
in parallel) answer SIPp calls for ``SECONDS`` in the agent desk, over WebRTC bridged by
rtpengine to the callers' plain RTP.

Each SIPp caller (``tests/telephony/sipp/caller_talks_queued.xml``) goes through the IVR
(one RFC 4733 digit) to the queue and talks until the agent hangs up. Each page runs a
small agent of its own (an init script): it accepts a ringing call, measures the media
set-up time (from the click on *Accept* to the first inbound RTP packet in
``getStats()``), hangs up after ``TALK_MS`` and ends the wrap-up. Printed: answered and
failed calls (SIPp's failures and calls no page answered), the set-up time's median and
p95 against the 1 s target, and the front office's CPU seconds per call against the
reference measured in the same run: its CPU per second while the same agents sat idle
(the desk's and the phone's polls) for ``IDLE_SECONDS``.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._kit import ROOT, solution
from caruso_core.testing.browser import CHROMIUM_ARGS, CHROMIUM_CALLS
from caruso_frontoffice.accounts import Accounts
from caruso_frontoffice.database import open_database
from caruso_frontoffice.passwords import Cost, Passwords

sys.path.insert(0, str(ROOT / "tests" / "telephony"))
from sip_peers import Sipp, free_port  # noqa: E402

AGENTS = 20
SECONDS = 120
RATE = 1                   # calls per second
TALK_MS = 3000
WELCOME_MS = 500
IDLE_SECONDS = 10
TARGET_SETUP = 1.0
SCRIPTS = ROOT / "tests" / "comm" / "scripts"
MENU = {"script": "hotline", "numbers": ["100"], "default": "power", "routes": {"power": "power"}}
AGENT_SCRIPT = """(() => {
  if (location.pathname !== "/desk") { return; }
  window.addEventListener("load", () => {
    let accepted = null, measured = false;
    window.setInterval(async () => {
      const state = document.getElementById("phone-state");
      if (!state || !window.deskPhone) { return; }
      const wrapUp = [...document.querySelectorAll("button")].find(b => b.textContent === "End wrap-up");
      if (state.textContent === "idle" && wrapUp && !window.deskPhone.leg) { wrapUp.click(); return; }
      if (state.textContent === "ringing" && accepted === null) {
        accepted = performance.now();
        document.getElementById("phone-accept").click();
      }
      if (accepted !== null && !measured && window.deskPhone.pc) {
        let packets = 0;
        (await window.deskPhone.pc.getStats()).forEach(s => { if (s.type === "inbound-rtp") packets += s.packetsReceived; });
        if (packets > 0 && !measured) {
          measured = true;
          const setups = JSON.parse(sessionStorage.getItem("setups") || "[]");
          setups.push((performance.now() - accepted) / 1000);
          sessionStorage.setItem("setups", JSON.stringify(setups));
          window.setTimeout(() => document.getElementById("phone-hangup").click(), %d);
        }
      }
    }, 50);
  });
})();""" % TALK_MS


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def run() -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with solution() as running:
        folder = running.work
        port = free_port()
        running.host("storage")
        running.host("scripts", config={"scripts": [str(SCRIPTS)], "db": f"sqlite:///{folder / 'scripts.db'}"})
        running.host("telephony", config={
            "udp_port": port, "numbers": ["100"], "max_calls": 500, "media": {"rtp_ports": [30000, 39999]}})
        running.host("comm", config={"db": f"sqlite:///{folder / 'comm.db'}", "queues": [{"name": "power"}],
                                     "ivr": [MENU], "channels": {"voice": {"position_every": 0}}})
        office_db = f"sqlite:///{folder / 'office.db'}"
        accounts = Accounts(open_database(office_db), Passwords(Cost(n=2 ** 10)))
        agents = [f"agent-{number}" for number in range(AGENTS)]
        for agent in agents:
            accounts.add(agent, "agent", f"{agent}-secret")
        office = running.host("frontoffice", config={"address": "http://127.0.0.1:0", "db": office_db,
                                                     "desk": {"capacity": {"voice": 1}}})
        base = running.client.get("frontoffice").url()
        telephony = running.client.get("caruso.telephony/1")
        for agent in agents:
            telephony.set_phone_choice(agent, "browser")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM_CALLS, headless=True, args=CHROMIUM_ARGS)
            pages = [_agent_page(browser, base, agent) for agent in agents]
            pid = office.process.pid
            idle_started, idle_cpu = time.monotonic(), cpu_seconds(pid)
            _wait(pages, IDLE_SECONDS)
            idle_rate = (cpu_seconds(pid) - idle_cpu) / (time.monotonic() - idle_started)
            print(f"{AGENTS} idle agents: front office {idle_rate:.4f} CPU s per second", flush=True)
            calls = round(RATE * SECONDS)
            caller = Sipp("caller_talks_queued.xml", folder, f"127.0.0.1:{port}", service="100", calls=calls,
                          rate=RATE, duration=WELCOME_MS, extra=["-fd", "1"])
            caller.command[caller.command.index("-timeout") + 1] = str(SECONDS + 120)
            busy_started, busy_cpu = time.monotonic(), cpu_seconds(pid)
            caller.start()
            while caller.process.poll() is None and time.monotonic() - busy_started < SECONDS + 120:
                _wait(pages, 1.0)
            caller.stop()
            busy_cpu = cpu_seconds(pid) - busy_cpu
            setups = [s for page in pages for s in page.evaluate("JSON.parse(sessionStorage.getItem('setups') || '[]')")]
            browser.close()
        counts = caller.counts()
    answered = len(setups)
    failed = counts["failed"] + max(0, calls - counts["successful"] - counts["failed"]) + \
        max(0, counts["successful"] - answered)
    setup_p95 = p95(setups) if setups else None
    per_call = busy_cpu / answered if answered else None
    result = {"agents": AGENTS, "seconds": SECONDS, "calls": calls, "answered": answered, "failed": failed,
              "sipp": counts,
              "setup_median_s": round(statistics.median(setups), 3) if setups else None,
              "setup_p95_s": round(setup_p95, 3) if setup_p95 is not None else None,
              "setup_p95_to_target": round(setup_p95 / TARGET_SETUP, 3) if setup_p95 is not None else None,
              "frontoffice_cpu_s_per_call": round(per_call, 4) if per_call is not None else None,
              "frontoffice_idle_cpu_s_per_s": round(idle_rate, 4),
              "cpu_per_call_in_idle_seconds": round(per_call / idle_rate, 2) if per_call and idle_rate else None}
    print(f"answered {answered} of {calls} calls, {failed} failed; media set-up median "
          f"{result['setup_median_s']} s, p95 {result['setup_p95_s']} s (target {TARGET_SETUP} s); front office "
          f"{result['frontoffice_cpu_s_per_call']} CPU s per call = {result['cpu_per_call_in_idle_seconds']} s "
          f"of its idle load", flush=True)
    return result


def _agent_page(browser: Any, base: str, agent: str) -> Any:
    context = browser.new_context(base_url=base)
    context.add_init_script(AGENT_SCRIPT)
    page = context.new_page()
    page.goto("/signin")
    page.fill("input[name=name]", agent)
    page.fill("input[name=password]", f"{agent}-secret")
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    page.goto("/desk")
    page.click("button[value=available]")
    page.wait_for_selector(".desk-status .state.available")
    return page


def _wait(pages: list[Any], seconds: float) -> None:
    """Let the pages work (Playwright's sync API runs their events only while it is called)."""
    pages[0].wait_for_timeout(seconds * 1000)
