// The supervisor's analytics page: while a training, scoring or segmentation runs on the
// server, says so and keeps a second click from starting another run.
"use strict";
(function () {
  const form = document.getElementById("analytics-actions");
  if (!form) { return; }
  const progress = document.getElementById("analytics-progress");
  const WORKING = {
    train: "Training a churn model on the whole history: this can take a few minutes…",
    score: "Scoring every active customer and storing the risks…",
    rfm: "Segmenting the customers by recency, frequency and value…",
    clusters: "Clustering the customers…",
  };
  form.addEventListener("submit", function (event) {
    if (form.dataset.busy) { event.preventDefault(); return; }
    form.dataset.busy = "yes";
    form.setAttribute("aria-busy", "true");
    progress.textContent = WORKING[event.submitter ? event.submitter.value : ""] || "Working…";
    progress.hidden = false;
  });
})();
