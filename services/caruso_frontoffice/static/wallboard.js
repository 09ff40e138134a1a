// The supervisor's wallboard: long-polls the status monitor's picture and redraws the
// tables in place. Values are set as text, never as HTML.
"use strict";
(function () {
  const board = document.getElementById("wallboard");
  if (!board) { return; }
  const status = document.getElementById("wallboard-status");
  const RETRY_MS = 5000;
  let version = -1;

  function duration(seconds) {
    if (seconds === null || seconds === undefined) { return "–"; }
    const whole = Math.max(0, Math.round(seconds));
    const hours = Math.floor(whole / 3600), minutes = Math.floor(whole / 60) % 60, rest = whole % 60;
    const pad = (n) => String(n).padStart(2, "0");
    return hours ? `${hours}:${pad(minutes)}:${pad(rest)}` : `${minutes}:${pad(rest)}`;
  }

  function percent(ratio) {
    return ratio === null || ratio === undefined ? "–" : `${Math.round(ratio * 100)}%`;
  }

  function fill(id, rows) {
    const body = document.querySelector(`#${id} tbody`);
    body.replaceChildren(...rows.map((row) => {
      const line = document.createElement("tr");
      line.dataset.key = row[0];
      for (const value of row) {
        const cell = document.createElement("td");
        cell.textContent = value === null || value === undefined ? "" : String(value);
        line.appendChild(cell);
      }
      return line;
    }));
  }

  function show(picture) {
    const counts = document.getElementById("agent-counts");
    counts.replaceChildren(...Object.entries(picture.agent_counts).map(([name, count]) => {
      const item = document.createElement("li");
      item.dataset.count = name;
      item.textContent = `${name.replace("_", " ")} ${count}`;
      return item;
    }));
    fill("agents", picture.agents.map((a) => [a.id, a.status, a.state, duration(a.seconds_in_state), a.reason]));
    fill("queues", picture.queues.map((q) => [q.queue, q.waiting, duration(q.longest_wait), q.connected,
      q.answered, q.abandoned, percent(q.service_level)]));
    fill("waiting", picture.waiting.map((w) => [w.id, w.queue, w.state, duration(w.wait)]));
    fill("campaigns", picture.campaigns.map((c) => [c.name, c.state, percent(c.progress), c.dialed,
      c.answered, percent(c.abandon_rate)]));
  }

  async function poll() {
    try {
      const response = await fetch(`${board.dataset.source}?since=${version}`,
        { headers: { accept: "application/json" }, cache: "no-store" });
      const json = (response.headers.get("content-type") || "").startsWith("application/json");
      const data = json ? await response.json() : null;
      if (!response.ok || !data) {
        throw new Error(data && data.error ? data.error : `the front office answered ${response.status}`);
      }
      version = data.version;
      show(data);
      status.textContent = `Live · as of ${new Date(data.time * 1000).toLocaleTimeString()}`;
      board.dataset.version = String(version);
      setTimeout(poll, 0);
    } catch (error) {
      status.textContent = `Not connected (${error.message}); trying again in ${RETRY_MS / 1000} s.`;
      setTimeout(poll, RETRY_MS);
    }
  }

  poll();
})();
