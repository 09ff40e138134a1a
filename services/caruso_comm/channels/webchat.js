"use strict";
(function () {
  let chat = null, key = null, seen = 0, lost = false, over = false, portal = false;
  const $ = (id) => document.getElementById(id);
  const KEPT = "caruso-chat";          // this tab's chat (id and key): a reload goes on with it
  // a pass from the portal comes in the fragment (never sent to a server); it is used once
  const pass = new URLSearchParams(location.hash.slice(1)).get("pass");
  if (pass) {
    history.replaceState(null, "", location.pathname + location.search);
    $("signed-in").hidden = false;
    portal = true;
  }

  async function call(method, path, body) {
    const headers = {"Content-Type": "application/json"};
    if (key) { headers.Authorization = "Bearer " + key; }
    const response = await fetch(path, {method: method, headers: headers,
                                        body: body === undefined ? undefined : JSON.stringify(body)});
    const data = await response.json();
    if (!response.ok) {
      const failure = new Error(data.error || response.statusText);
      failure.status = response.status;
      throw failure;
    }
    return data;
  }

  function problem(error) {
    $("problem").textContent = error ? error.message : "";
    $("problem").hidden = !error;
  }

  function show(message) {
    const line = document.createElement("p"), from = document.createElement("span");
    from.className = "from";
    from.textContent = message.from + ":";
    line.append(from, document.createTextNode(message.text));
    $("log").append(line);
  }

  function ended() {
    over = true;
    sessionStorage.removeItem(KEPT);
    $("state").textContent = "The chat has ended.";
    $("write").hidden = true;
    $("leave").hidden = true;
    $("done").hidden = false;
    $("portal-again").hidden = !portal;   // a pass starts one chat: another as the customer starts there
  }

  async function poll() {
    if (over) { return; }
    let data;
    try {
      data = await call("GET", "chats/" + encodeURIComponent(chat) + "/messages?after=" + seen);
    } catch (error) {
      // the server may be restarting: the chat goes on when it is back (docs/communication.md)
      lost = true;
      problem(new Error("The connection was lost. Trying again..."));
      setTimeout(poll, 3000);
      return;
    }
    if (over) { return; }                 // ended while this poll was under way
    if (lost) {
      lost = false;
      problem(null);
    }
    data.messages.forEach(show);
    seen += data.messages.length;
    if (data.state === "ended") {
      ended();
      return;
    }
    $("state").textContent = {waiting: "Waiting for an agent...", offered: "Waiting for an agent...",
                             connected: "Connected."}[data.state] || "";
    setTimeout(poll, 1000);
  }

  function open() {
    $("start").hidden = true;
    $("chat").hidden = false;
    poll();
  }

  $("start").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const started = await call("POST", "chats", pass ? {text: $("first").value, pass: pass}
                                                        : {text: $("first").value});
      chat = started.id;
      key = started.key;
    } catch (error) {
      problem(error);
      return;
    }
    sessionStorage.setItem(KEPT, JSON.stringify({chat: chat, key: key, portal: portal}));
    problem(null);
    open();
  });

  $("write").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await call("POST", "chats/" + encodeURIComponent(chat) + "/messages", {text: $("text").value});
      $("text").value = "";
      problem(null);
    } catch (error) {
      problem(error);
    }
  });

  $("leave").addEventListener("click", async () => {
    try {
      await call("POST", "chats/" + encodeURIComponent(chat) + "/leave");
    } catch (error) {
      if (error instanceof TypeError || error.status >= 500) {   // no answer, or being replaced: it goes on
        problem(new Error("The chat could not be ended just now. Try again in a moment."));
        return;
      }                                   // refused: it ended already
    }
    problem(null);
    ended();
  });

  $("again").addEventListener("click", () => { location.reload(); });

  try {
    const kept = JSON.parse(sessionStorage.getItem(KEPT) || "null");
    if (kept && typeof kept.chat === "string" && typeof kept.key === "string") {
      chat = kept.chat;
      key = kept.key;
      portal = kept.portal === true;
      open();
    }
  } catch (error) {
    sessionStorage.removeItem(KEPT);
  }
})();
