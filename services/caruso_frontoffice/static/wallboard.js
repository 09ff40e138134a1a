// The supervisor's wallboard: long-polls the status monitor's picture and redraws the
// agent counts, a tile per queue (figures coloured by the monitor's levels) and the tables
// in place. Values are set as text, never as HTML.
"use strict";
(function () {
  const board = document.getElementById("wallboard");
  if (!board) { return; }
  const status = document.getElementById("wallboard-status");
  const RETRY_MS = 5000;
  const clock = timeOfDay(board.dataset.zone);
  let version = -1;

  // a moment's time of day in the deployment's time zone, with the abbreviation the front office
  // gives it (Python's zone database: EST, where this browser may say GMT-5); a zone this browser
  // does not know (an old one): UTC, which it says
  function timeOfDay(zone) {
    const options = { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
    try {
      const time = new Intl.DateTimeFormat("en-GB", { ...options, timeZone: zone });
      return (moment, abbreviation) => `${time.format(moment)} ${abbreviation}`;
    } catch (unknown) {
      const time = new Intl.DateTimeFormat("en-GB", { ...options, timeZone: "UTC" });
      return (moment) => `${time.format(moment)} UTC`;
    }
  }

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

  // rows of table ``id``: each row's cells, found again by its ``key``
  function fill(id, rows, keys = rows.map((row) => row[0])) {
    const body = document.querySelector(`#${id} tbody`);
    body.replaceChildren(...rows.map((row, n) => {
      const line = document.createElement("tr");
      line.dataset.key = keys[n];
      for (const value of row) {
        const cell = document.createElement("td");
        cell.textContent = value === null || value === undefined ? "" : String(value);
        line.appendChild(cell);
      }
      return line;
    }));
  }

  function count([name, value]) {
    const item = document.createElement("li");
    item.dataset.count = name;
    const number = document.createElement("span"), label = document.createElement("span");
    number.className = "value";
    number.textContent = String(value);
    label.className = "label";
    label.textContent = name.replace("_", " ");
    item.append(number, label);
    return item;
  }

  // one tile per queue, kept across redraws (found by its queue's name)
  function tile(queue) {
    const tiles = document.getElementById("queue-tiles");
    let found = [...tiles.children].find((child) => child.dataset.queue === queue.queue);
    if (!found) {
      found = document.getElementById("queue-tile").content.firstElementChild.cloneNode(true);
      found.dataset.queue = queue.queue;
      found.querySelector(".name").textContent = queue.queue;
    }
    const shown = { waiting: String(queue.waiting), longest_wait: duration(queue.longest_wait),
      service_level: percent(queue.service_level) };
    for (const figure of found.querySelectorAll(".figure")) {
      figure.querySelector(".value").textContent = shown[figure.dataset.figure];
      figure.dataset.level = (queue.levels || {})[figure.dataset.figure] || "ok";
    }
    found.querySelector(".detail").textContent = `talking ${queue.connected} · answered ${queue.answered}`
      + ` · abandoned ${queue.abandoned} · target ${duration(queue.sl_target)}`;
    return found;
  }

  // what the signed-in agents do, each counted once: the work they have, else their status
  const DOING = {offered: "ringing", busy: "busy", wrap_up: "wrap_up"};

  function doing(agents) {
    const counts = {logged_in: agents.length};
    for (const agent of agents) {
      const key = DOING[agent.state] || (agent.status === "break" ? "on_break" : agent.status);
      counts[key] = (counts[key] || 0) + 1;
    }
    return counts;
  }

  function show(picture) {
    document.getElementById("agent-counts").replaceChildren(...Object.entries(doing(picture.agents)).map(count));
    document.getElementById("queue-tiles").replaceChildren(...picture.queues.map(tile));
    fill("agents", picture.agents.map((a) => [a.id, a.status, a.state.replaceAll("_", " "),
      duration(a.seconds_in_state), a.reason]));
    // no caller's name or number on a wall: the queue, the channel, how long, and who it rings at
    fill("waiting", picture.waiting.map((w) => [w.queue, w.channel || "", duration(w.wait),
      (w.ringing || []).length ? `ringing at ${w.ringing.join(", ")}` : w.state]), picture.waiting.map((w) => w.id));
    fill("campaigns", picture.campaigns.map((c) => [c.name, c.state, c.contacts, percent(c.progress), c.dialed,
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
      // 24 hours in the deployment's time zone, as every other time the front office shows
      status.textContent = `Live · as of ${clock(new Date(data.time * 1000), data.abbreviation)}`;
      board.dataset.version = String(version);
      setTimeout(poll, 0);
    } catch (error) {
      status.textContent = `Not connected (${error.message}); trying again in ${RETRY_MS / 1000} s.`;
      setTimeout(poll, RETRY_MS);
    }
  }

  poll();
})();
