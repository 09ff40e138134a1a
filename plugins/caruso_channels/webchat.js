"use strict";
(function () {
  let chat = null, seen = 0;
  const $ = (id) => document.getElementById(id);

  async function post(path, body) {
    const response = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                        body: JSON.stringify(body)});
    const data = await response.json();
    if (!response.ok) { throw new Error(data.error || response.statusText); }
    return data;
  }

  function show(message) {
    const line = document.createElement("p"), from = document.createElement("span");
    from.className = "from";
    from.textContent = message.from + ":";
    line.append(from, document.createTextNode(message.text));
    $("log").append(line);
  }

  async function poll() {
    const response = await fetch("chats/" + encodeURIComponent(chat) + "/messages?after=" + seen);
    const data = await response.json();
    data.messages.forEach(show);
    seen += data.messages.length;
    $("state").textContent = {waiting: "Waiting for an agent...", offered: "Waiting for an agent...",
                             connected: "Connected.", ended: "The chat has ended."}[data.state] || "";
    if (data.state !== "ended") { setTimeout(poll, 1000); }
  }

  $("start").addEventListener("submit", async (event) => {
    event.preventDefault();
    const started = await post("chats", {customer: $("customer").value, text: $("first").value});
    chat = started.id;
    $("start").hidden = true;
    $("chat").hidden = false;
    poll();
  });

  $("write").addEventListener("submit", async (event) => {
    event.preventDefault();
    await post("chats/" + encodeURIComponent(chat) + "/messages", {text: $("text").value});
    $("text").value = "";
  });
})();
