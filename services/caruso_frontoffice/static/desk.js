// The agent desk: asks the front office every two seconds whether anything on the desk
// changed (an offer, a chat message, ...) and reloads the page when it did, unless the
// agent is typing: then a notice with a link appears instead. While the desk's phone
// holds a call (window.deskPhone.live) the page must not be left: the desk is redrawn
// in place and its forms are sent in the background.
(function () {
  "use strict";
  var desk = document.getElementById("desk");
  if (!desk) {
    return;
  }
  var typing = false;
  function live() { return window.deskPhone && window.deskPhone.live; }
  function redraw(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var board = fresh.getElementById("desk"), phone = document.getElementById("phone");
    var slot = fresh.getElementById("phone");
    if (!board) { return; }
    if (slot && phone) { slot.replaceWith(phone); }
    desk.replaceWith(board);
    desk = board;
    typing = false;
  }
  document.addEventListener("input", function () { typing = true; });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!live() || form.method.toLowerCase() !== "post" || form.action.indexOf("/desk/") < 0) {
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
  function check() {
    fetch(desk.dataset.poll, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state || state.signature === desk.dataset.signature) {
          return;
        }
        if (typing) {
          document.getElementById("desk-changed").hidden = false;
        } else if (live()) {
          fetch(window.location.href, {credentials: "same-origin"})
            .then(function (response) { return response.text(); }).then(redraw);
        } else {
          window.location.reload();
        }
      })
      .catch(function () { /* the next poll tries again */ });
  }
  window.setInterval(check, 2000);
}());
