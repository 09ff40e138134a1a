// The desk's phone: a call offered to this agent rings here; media is WebRTC to the
// telephony component's rtpengine, the SDP goes through the front office: the agent's
// legs arrive as "phone" events of the desk's push stream (window.deskStream, opened by
// desk.js), answers and hang-ups are POSTs to /desk/phone/... The open stream is also the
// page's sign of life: a closed tab ends it, and the telephony component ends the leg.
// window.deskPhone.live tells desk.js to redraw the desk in place instead of reloading
// the page during a call.
(function () {
  "use strict";
  var card = document.getElementById("phone");
  if (!card) {
    return;
  }
  var $ = function (id) { return document.getElementById(id); };
  var phone = window.deskPhone = {live: false, pc: null, leg: null};
  var stream = null, timer = null, muted = false, holding = false;
  var prepared = null;         // the ringing leg's connection, made before Accept (see prepare)
  var leaving = false;         // the page is being left (a form sent, a reload): the next page takes an offer
  var ICE_LIMIT_MS = 1000 * Number(card.dataset.iceLimit);   // ICE not connected by then: "ICE Failed"
  var LOST = {                 // why the telephony component ended a leg ("lost" in the legs)
    "No Media": "The call was lost: no audio came from this browser (microphone or network).",
    "Browser Gone": "The call was lost: this page lost contact with the server."
  };

  function post(path, fields, keepalive) {   // keepalive: the request outlives a reload that follows
    var body = new URLSearchParams(fields);
    body.set("csrf", card.dataset.csrf);
    return fetch(path, {method: "POST", body: body, credentials: "same-origin", keepalive: !!keepalive})
      .then(function (response) {
        return response.json().then(function (answer) {
          if (!response.ok) { throw new Error(answer.error || response.statusText); }
          return answer;
        });
      });
  }
  function show(id, visible) { $(id).hidden = !visible; }
  function fail(text) {     // kept for the next page too: the desk reloads once the call ended
    $("phone-error").textContent = text;
    show("phone-error", !!text);
    window.sessionStorage.setItem("phone-error", text);
  }
  function state(text) { $("phone-state").textContent = text; $("phone-state").className = "state " + text.replace(" ", "_"); }
  function buttons(names) {
    ["phone-accept", "phone-decline", "phone-mute", "phone-hold", "phone-hangup", "phone-keypad"].forEach(function (id) {
      show(id, names.indexOf(id) >= 0);
    });
  }
  function tick(since) {
    var seconds = Math.max(0, Math.floor((Date.now() - since) / 1000));
    $("phone-timer").textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
  }
  function idle() {
    if (prepared) { prepared.then(function (pc) { pc.close(); }, function () {}); }
    if (phone.pc) { phone.pc.close(); }
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
    window.clearInterval(timer);
    phone.pc = stream = timer = phone.leg = prepared = null;
    muted = holding = false;
    $("phone-mute").setAttribute("aria-pressed", "false");
    $("phone-hold").setAttribute("aria-pressed", "false");
    state("idle");
    $("phone-remote").textContent = $("phone-timer").textContent = "";
    buttons([]);
    if (phone.live) {
      phone.live = false;
      window.location.reload();      // the desk shows the call's wrap-up
    }
  }
  function end(reason) {
    var leg = phone.leg;
    if (leg) {
      window.sessionStorage.setItem("phone-ended", leg.leg);   // a report from before the end is stale
      post("/desk/phone/end", {call: leg.call, leg: leg.leg, reason: reason}, true).catch(function () {});
    }
    idle();
  }
  function ringing(leg) {
    fail("");
    window.sessionStorage.removeItem("phone-error");
    phone.leg = leg;
    phone.live = true;
    state("ringing");
    $("phone-remote").textContent = leg.caller || "unknown number";
    buttons(["phone-accept", "phone-decline"]);
    prepare(leg);
  }
  function connected(leg) {
    if (!timer) {
      var since = Date.now();
      tick(since);
      timer = window.setInterval(function () { tick(since); }, 1000);
    }
    holding = !!leg.holding;
    $("phone-hold").setAttribute("aria-pressed", String(holding));
    state(holding ? "on hold" : "connected");
    var bridged = leg.state !== "answered";     // answered: the caller is not bridged to it yet
    buttons(["phone-mute", "phone-hangup", "phone-keypad"].concat(bridged ? ["phone-hold"] : []));
  }
  function gathered(pc) {
    return new Promise(function (resolve) {
      if (pc.iceGatheringState === "complete") { resolve(); return; }
      pc.addEventListener("icegatheringstatechange", function () {
        if (pc.iceGatheringState === "complete") { resolve(); }
      });
      window.setTimeout(resolve, 2000);   // host candidates are enough for rtpengine
    });
  }
  function prepare(leg) {
    // While it rings: the microphone opened and the connection given the offer, so that
    // Accept only answers (media set-up is then the answer, ICE and DTLS). Nothing is sent
    // before Accept: ICE starts with the local answer. A refusal shows on Accept.
    var mic = $("phone-mic").value;
    var opened = navigator.mediaDevices.getUserMedia({audio: mic ? {deviceId: {exact: mic}} : true});
    if (prepared) { prepared.then(function (pc) { pc.close(); }, function () {}); }
    leg.mic = mic;
    leg.media = opened;
    prepared = opened.then(function (media) {
      if (phone.leg !== leg || leg.media !== opened) {
        media.getTracks().forEach(function (track) { track.stop(); });
        throw new Error("the call is no longer offered");
      }
      if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
      stream = media;
      devices();
      var pc = new RTCPeerConnection({iceServers: []});
      stream.getTracks().forEach(function (track) { pc.addTrack(track, stream); });
      pc.ontrack = function (event) { $("phone-audio").srcObject = event.streams[0]; };
      return pc.setRemoteDescription({type: "offer", sdp: leg.offer}).then(function () { return pc; });
    });
    leg.ready = prepared;
    leg.ready.catch(function () {});   // handled on Accept
  }
  function accept() {
    var leg = phone.leg;
    buttons([]);
    state("connecting");
    if (leg.mic !== $("phone-mic").value) { prepare(leg); }   // another microphone chosen meanwhile
    leg.media
      .catch(function (error) {
        fail("The browser refused the microphone (" + error.name + "): allow it for this site, " +
             "then go available again. The call went to another agent.");
        end("Microphone Refused");
        throw error;
      })
      .then(function () { return leg.ready; })
      .then(function (pc) {
        phone.pc = pc;
        var reached = false;
        function iceFailed() {
          if (phone.pc === pc && !reached) {
            fail("The call's media could not connect (ICE failed): check the network. " +
                 "The caller waits for another agent; go available again once it works.");
            end("ICE Failed");
          }
        }
        pc.oniceconnectionstatechange = function () {
          reached = reached || pc.iceConnectionState === "connected" || pc.iceConnectionState === "completed";
          if (pc.iceConnectionState === "failed") { iceFailed(); }
        };
        return pc.createAnswer()
          .then(function (answer) { return pc.setLocalDescription(answer); })
          .then(function () { return gathered(pc); })
          .then(function () { return post("/desk/phone/answer", {call: leg.call, leg: leg.leg, sdp: pc.localDescription.sdp}); })
          .then(function () { window.setTimeout(iceFailed, ICE_LIMIT_MS); });
      })
      .catch(function (error) {
        if (phone.leg === leg && error.name !== "NotAllowedError" && error.name !== "NotFoundError") {
          fail("The call could not be answered: " + error.message);
          end("Answer Failed");
        }
      });
  }
  function devices() {
    navigator.mediaDevices.enumerateDevices().then(function (found) {
      [["audioinput", "phone-mic"], ["audiooutput", "phone-speaker"]].forEach(function (pair) {
        var select = $(pair[1]), chosen = select.value;
        select.length = 1;
        found.filter(function (d) { return d.kind === pair[0] && d.deviceId !== "default"; }).forEach(function (d) {
          select.add(new Option(d.label || d.kind, d.deviceId, false, d.deviceId === chosen));
        });
      });
    }).catch(function () {});
  }
  function legs(answer) {
    var mine = phone.leg && answer.legs.filter(function (l) { return l.leg === phone.leg.leg; })[0];
    if (mine && mine.state === "lost") {
      fail((LOST[mine.reason] || "The call was lost (" + mine.reason + ").") +
           " You are on break: go available again once your phone works.");
      idle();
    } else if (phone.leg && !mine) {
      idle();
    } else if (mine && (mine.state === "bridged" || mine.state === "answered") && phone.pc) {
      connected(mine);
    } else if (!phone.leg && !leaving) {
      answer.legs.filter(function (l) { return l.state !== "ringing" && l.state !== "lost"; }).forEach(function (l) {
        post("/desk/phone/end", {call: l.call, leg: l.leg, reason: "Page Left"}).catch(function () {});
      });                         // a call of a page that was left: its media cannot come back
      var ended = window.sessionStorage.getItem("phone-ended");
      var offered = answer.legs.filter(function (l) { return l.state === "ringing" && l.offer && l.leg !== ended; })[0];
      if (offered) { ringing(offered); }
    }
  }
  $("phone-accept").addEventListener("click", accept);
  $("phone-decline").addEventListener("click", function () { end("Declined"); });
  $("phone-hangup").addEventListener("click", function () { end("Hung Up"); });
  $("phone-mute").addEventListener("click", function () {
    muted = !muted;
    if (stream) { stream.getAudioTracks().forEach(function (track) { track.enabled = !muted; }); }
    $("phone-mute").setAttribute("aria-pressed", String(muted));
  });
  $("phone-hold").addEventListener("click", function () {
    var leg = phone.leg, on = !holding;   // the stream may report the hold before the answer
    post("/desk/phone/hold", {call: leg.call, leg: leg.leg, on: String(on)})
      .then(function () { if (phone.leg === leg) { connected({holding: on}); } })
      .catch(function (error) { fail(error.message); });
  });
  $("phone-keypad").addEventListener("click", function (event) {
    var digit = event.target.dataset && event.target.dataset.digit;
    var sender = phone.pc && phone.pc.getSenders()[0];
    if (digit && sender && sender.dtmf) { sender.dtmf.insertDTMF(digit, 120, 70); }
  });
  $("phone-speaker").addEventListener("change", function () {
    var audio = $("phone-audio");
    if (audio.setSinkId) { audio.setSinkId($("phone-speaker").value).catch(function (e) { fail(e.message); }); }
  });
  window.addEventListener("beforeunload", function () { leaving = true; });
  window.addEventListener("pagehide", function () {   // a ringing leg outlives a reload: the page's
    var leg = phone.leg;                                // silence ends it after the telephony timeout
    if (leg && phone.pc) {
      navigator.sendBeacon("/desk/phone/end", new URLSearchParams(
        {csrf: card.dataset.csrf, call: leg.call, leg: leg.leg, reason: "Page Closed"}));
    }
  });
  fail(window.sessionStorage.getItem("phone-error") || "");   // the desk may reload again: kept until a call rings
  devices();
  window.deskStream.source.addEventListener("phone", function (event) { legs(JSON.parse(event.data)); });
  if (window.deskStream.last.phone) { legs(window.deskStream.last.phone); }
}());
