// The agent desk: asks the front office every two seconds whether anything on the desk
// changed (an offer, a chat message, ...) and reloads the page when it did, unless the
// agent is typing: then a notice with a link appears instead.
(function () {
  "use strict";
  var desk = document.getElementById("desk");
  if (!desk) {
    return;
  }
  var typing = false;
  document.addEventListener("input", function () { typing = true; });
  function check() {
    fetch(desk.dataset.poll, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state || state.signature === desk.dataset.signature) {
          return;
        }
        if (typing) {
          document.getElementById("desk-changed").hidden = false;
        } else {
          window.location.reload();
        }
      })
      .catch(function () { /* the next poll tries again */ });
  }
  window.setInterval(check, 2000);
}());
