// Polls a background job's status and updates its progress bar until it finishes.
(function () {
  var box = document.querySelector("[data-job-status-url]");
  if (!box) return;
  var url = box.getAttribute("data-job-status-url");
  function render(job) {
    var fill = box.querySelector(".fill");
    fill.style.width = job.percent + "%";
    fill.textContent = job.percent + "%";
    box.querySelector("[data-field=message]").textContent = job.message || "";
    box.querySelector("[data-field=counts]").textContent = job.progress_total ? job.progress_done + " / " + job.progress_total : "";
    if (job.is_finished) { window.location.reload(); return; }
    setTimeout(poll, 1000);
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); }).then(render)
      .catch(function () { setTimeout(poll, 3000); });
  }
  if (box.getAttribute("data-finished") !== "true") poll();
})();
