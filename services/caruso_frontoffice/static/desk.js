// The agent desk: the front office pushes what changed on the desk (an offer, a chat
// message, ...) through one EventSource on /desk/stream, kept as window.deskStream for
// phone.js too; the page reloads when the desk changed; while the agent has typed something
// not sent yet it is redrawn in place keeping it (a notice with a link instead when the
// field holding it would go). While the desk's phone holds a call
// (window.deskPhone.live) the page must not be left: the desk is redrawn in place and
// its forms are sent in the background. Notes typed and not saved go with any other form
// of the desk (as draft_notes, for the interaction draft_for), so that completing,
// transferring or answering the script keeps them (Find the caller saves them first); and they are saved in the background as
// they are typed (SAVE_AFTER ms after the last key; the result shown beside them), so that
// a wrap-up whose time runs out or a desk closed keeps them too. Each [data-countdown] element counts
// down the seconds the server gave it when it drew the desk (a wrap-up's or an accept window's),
// each [data-countup] element counts up from them as minutes:seconds (a call's time).
// A stream the browser gave up for good (the front office answered it with an error, not
// a dropped connection, which the browser retries itself) is reported on the desk, and the
// page reloads once the front office answers again, with growing pauses; not while the
// phone holds a call or the agent types (the notice's link then reloads).
// The colleagues who could take a connected interaction come with the stream too: the
// transfer list is redrawn from them in place (not while the agent is choosing in it).
(function () {
  "use strict";
  var desk = document.getElementById("desk");
  if (!desk) {
    return;
  }
  // a refused form's answer is drawn at the address it was posted to (/desk/complete, ...): make
  // it the desk's own, so that a reload (ours when the desk changes, or F5) asks for the desk
  // instead of posting the form again
  if (window.location.pathname !== "/desk") {
    history.replaceState(null, "", "/desk" + (desk.dataset.focus ? "?i=" + encodeURIComponent(desk.dataset.focus) : ""));
  }
  var typing = false, ticking = null;
  function live() { return window.deskPhone && window.deskPhone.live; }
  function countDown(drawn) {     // drawn: when the server's answer arrived (performance.now() ms)
    var clocks = Array.prototype.slice.call(desk.querySelectorAll("[data-countdown]"));
    var timers = Array.prototype.slice.call(desk.querySelectorAll("[data-countup]"));
    clearInterval(ticking);
    function tick() {
      var elapsed = (performance.now() - drawn) / 1000;
      clocks.forEach(function (clock) {
        clock.textContent = String(Math.max(0, Math.ceil(parseFloat(clock.dataset.countdown) - elapsed)));
      });
      timers.forEach(function (timer) {
        var seconds = Math.floor(parseFloat(timer.dataset.countup) + elapsed);
        timer.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
      });
    }
    if (clocks.length || timers.length) {
      tick();
      ticking = setInterval(tick, 250);
    }
  }
  var navigation = performance.getEntriesByType("navigation")[0];
  countDown(navigation && navigation.responseStart > 0 ? navigation.responseStart : performance.now());
  // what the agent typed or chose and has not sent, by form, interaction and field: kept
  // across a redraw of the desk, with the field they were in and where in it
  function fieldKey(field) {
    var form = field.form, interaction = form && form.elements.interaction;
    return [form ? form.getAttribute("action") : "", interaction ? interaction.value : "", field.name,
            field.type === "radio" || field.type === "checkbox" ? field.value : ""].join("|");
  }
  function formFields(root) {
    return Array.prototype.filter.call(root.querySelectorAll("textarea, input, select"), function (field) {
      return field.name && field.type !== "hidden" && field.type !== "submit";
    });
  }
  function entered(root) {
    var kept = {};
    formFields(root).forEach(function (field) {
      if (field.type === "radio" || field.type === "checkbox") {
        if (field.checked !== field.defaultChecked) { kept[fieldKey(field)] = field.checked; }
      } else if (field.tagName === "SELECT") {
        var chosen = field.options[field.selectedIndex];
        if (chosen && !chosen.defaultSelected) { kept[fieldKey(field)] = field.value; }
      } else if (field.value !== field.defaultValue) {
        kept[fieldKey(field)] = field.value;
      }
    });
    return kept;
  }
  function enterAgain(root, kept, focused) {
    formFields(root).forEach(function (field) {
      var key = fieldKey(field);
      if (key in kept) {
        if (field.type === "radio" || field.type === "checkbox") { field.checked = kept[key]; } else { field.value = kept[key]; }
      }
      if (focused && key === focused.key) {
        field.focus();
        if (focused.caret) { field.setSelectionRange(focused.caret[0], focused.caret[1]); }
      }
    });
  }
  function redraw(html, careful) {   // careful: not when a field holding what was typed would go
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var board = fresh.getElementById("desk"), phone = document.getElementById("phone");
    var slot = fresh.getElementById("phone");
    if (!board) { return; }
    var kept = entered(desk), active = document.activeElement, focused = null;
    if (careful) {
      var drawn = formFields(board).map(fieldKey);
      if (Object.keys(kept).some(function (key) { return drawn.indexOf(key) < 0; })) {
        document.getElementById("desk-changed").hidden = false;     // the agent decides when
        return;
      }
    }
    if (active && active.name && desk.contains(active)) {
      focused = {key: fieldKey(active), caret: typeof active.selectionStart === "number"
                 ? [active.selectionStart, active.selectionEnd] : null};
    }
    if (slot && phone) { slot.replaceWith(phone); }
    desk.replaceWith(board);
    desk = board;
    enterAgain(board, kept, focused);
    typing = Object.keys(kept).length > 0;     // still unsent: the next change redraws too
    countDown(performance.now());
    // drawn perhaps before a change the stream told already (it tells each once)
    colleaguesNow(stream.last.desk && stream.last.desk.colleagues);
  }
  function colleaguesNow(free) {     // free: {channel: [[name, state], ...]} of the connected interactions
    Array.prototype.forEach.call(desk.querySelectorAll("form[data-channel]"), function (form) {
      var select = form.querySelector("select[name=colleague]"), names = (free || {})[form.dataset.channel];
      if (!select || !names || document.activeElement === select) { return; }
      var chosen = select.value;
      while (select.options.length > 1) { select.remove(1); }
      names.forEach(function (pair) { select.add(new Option(pair[0] + " \u00b7 " + pair[1], pair[0])); });
      select.value = names.some(function (pair) { return pair[0] === chosen; }) ? chosen : "";
      if (!select.value) { select.selectedIndex = 0; }
      var hint = desk.querySelector(".no-colleague");
      if (hint) { hint.hidden = names.length > 0; }
    });
  }
  document.addEventListener("focusout", function (event) {    // chosen: now the list may follow again
    if (event.target.name === "colleague") {
      setTimeout(function () { colleaguesNow(stream.last.desk && stream.last.desk.colleagues); }, 0);
    }
  });
  var SAVE_AFTER = 1500, saving = null;
  function notesSaid(notes, text) {
    var said = notes.form.querySelector(".notes-saved");
    if (!said) {
      said = document.createElement("small");
      said.className = "notes-saved";
      said.setAttribute("role", "status");
      notes.parentNode.after(said);
    }
    said.textContent = text;
  }
  function saveNotes(notes) {     // kept by /desk/notes, which answers a redirect when it kept them; true then
    var sent = notes.value, form = notes.form;
    return fetch("/desk/notes", {method: "POST", credentials: "same-origin", redirect: "manual",
                                 body: new URLSearchParams({csrf: form.elements.csrf.value, notes: sent,
                                                            interaction: form.elements.interaction.value})})
      .then(function (response) {
        if (response.type === "opaqueredirect") {
          notes.defaultValue = sent;
          notesSaid(notes, "Notes saved.");
          return true;
        }
        return response.text().then(function (html) {
          var error = new DOMParser().parseFromString(html, "text/html").querySelector(".error:not([id])");
          notesSaid(notes, "Notes not saved: " + (error ? error.textContent : "status " + response.status));
          return false;
        });
      })
      .catch(function () {
        notesSaid(notes, "Notes not saved yet: the front office does not answer.");
        return false;
      });
  }
  function find(event, form) {    // Find the caller: notes not saved yet are saved first (not lost
    var notes = desk.querySelector(".desk-notes textarea[name=notes]");   // by the page's load); in place
    var unsaved = notes && notes.value !== notes.defaultValue;            // while the phone holds a call
    if (!unsaved && !live()) {
      return;
    }
    event.preventDefault();
    clearTimeout(saving);
    var url = form.action + "?" + new URLSearchParams(new FormData(form));
    (unsaved ? saveNotes(notes) : Promise.resolve(true)).then(function (saved) {
      if (!saved) {
        return;                   // said beside the notes; the search waits for them
      }
      if (!live()) {
        window.location.assign(url);
        return;
      }
      history.replaceState(null, "", url);      // the desk's next redraw keeps the search
      fetch(url, {credentials: "same-origin"}).then(function (response) { return response.text(); })
        .then(redraw).catch(function () { /* the next change redraws */ });
    });
  }
  document.addEventListener("input", function (event) {
    var field = event.target;
    typing = true;
    if (field.name === "notes" && field.form && field.form.elements.interaction &&
        field.form.action.indexOf("/desk/") >= 0) {
      clearTimeout(saving);
      saving = setTimeout(function () {          // the field as drawn now: a redraw may have replaced it
        var drawn = desk.querySelector("form[action='" + field.form.getAttribute("action") + "'] textarea[name=notes]");
        if (drawn) { saveNotes(drawn); }
      }, SAVE_AFTER);
    }
  });
  function carry(form, name, value) {
    var field = form.querySelector("input[name=" + name + "]");
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = name;
      form.appendChild(field);
    }
    field.value = value;
  }
  function carryNotes(form) {   // notes typed and not saved go with the desk's other forms
    var notes = desk.querySelector(".desk-notes textarea[name=notes]");
    if (!notes || notes.value === notes.defaultValue || form.querySelector("[name=notes]")) {
      return;
    }
    carry(form, "draft_notes", notes.value);
    carry(form, "draft_for", notes.form.elements.interaction.value);
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.classList.contains("find-caller")) {
      find(event, form);
      return;
    }
    if (form.method.toLowerCase() !== "post" || form.action.indexOf("/desk/") < 0) {
      return;
    }
    clearTimeout(saving);         // the notes go with this form instead
    carryNotes(form);
    formFields(form).forEach(function (field) {     // sent: not typed back into the desk that answers
      field.defaultValue = field.value;
      field.defaultChecked = field.checked;
      Array.prototype.forEach.call(field.options || [], function (option) { option.defaultSelected = option.selected; });
    });
    if (!live()) {
      return;
    }
    event.preventDefault();
    var fields = new FormData(form, event.submitter);
    var submitter = event.submitter;     // a button's formAction is the page's URL when it has none
    fetch(submitter && submitter.hasAttribute("formaction") ? submitter.formAction : form.action,
          {method: "POST", body: new URLSearchParams(fields), credentials: "same-origin"})
      .then(function (response) { return response.text(); })
      .then(redraw)
      .catch(function () { /* the next poll redraws */ });
  });
  var leaving = false;          // a form sent or a link followed: a reload would cancel it
  var LEFT_WITHIN = 15000;      // ms: a page still here by then was not left (a cancelled navigation)
  window.addEventListener("beforeunload", function () {
    leaving = true;
    setTimeout(function () {    // the page is still here: show what changed meanwhile
      leaving = false;
      if (stream.last.desk) { changed(stream.last.desk); }
    }, LEFT_WITHIN);
  });
  function changed(state) {     // redrawn in place while a call or what was typed stays (see redraw); else reloaded
    if (leaving || state.signature === desk.dataset.signature) {
      return;
    }
    if (typing || live()) {
      fetch(window.location.href, {credentials: "same-origin"})
        .then(function (response) { return response.text(); })
        .then(function (html) { redraw(html, true); })
        .catch(function () { /* the next change redraws */ });
    } else {
      window.location.reload();
    }
  }
  var PAUSES = [1000, 2000, 5000, 10000, 20000];    // ms before each try to reach the front office again
  var RECONNECTS = "caruso-desk-reconnects";        // tries since the desk last had its stream
  var source = new EventSource(desk.dataset.stream);
  var stream = window.deskStream = {source: source, last: {}};   // last: each event's latest data
  ["desk", "phone"].forEach(function (name) {
    source.addEventListener(name, function (event) { stream.last[name] = JSON.parse(event.data); });
  });
  source.addEventListener("desk", function (event) {
    sessionStorage.removeItem(RECONNECTS);
    var state = JSON.parse(event.data);
    colleaguesNow(state.colleagues);
    changed(state);
  });
  function reconnect() {
    var tries = Number(sessionStorage.getItem(RECONNECTS) || 0);
    setTimeout(function () {
      sessionStorage.setItem(RECONNECTS, String(tries + 1));
      fetch(window.location.href, {credentials: "same-origin"}).then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        if (!live() && !typing && !leaving) { window.location.reload(); }
      }).catch(reconnect);
    }, PAUSES[Math.min(tries, PAUSES.length - 1)]);
  }
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) {
      document.getElementById("desk-lost").hidden = false;
      reconnect();
    }
  });
  source.addEventListener("refused", function (event) {
    source.close();
    var notice = document.getElementById("desk-refused");
    notice.textContent = JSON.parse(event.data).error;
    notice.hidden = false;
  });
}());
