// "Then the next one": a box on a record's page, remembered in this browser, that makes a
// decision open the next item of the queue instead of coming back to the record.
(function () {
  var box = document.getElementById("then-next");
  if (!box) return;
  var key = "ssa.then-next." + (box.dataset.queue || "");
  box.checked = window.localStorage.getItem(key) === "1";
  box.addEventListener("change", function () {
    window.localStorage.setItem(key, box.checked ? "1" : "0");
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!box.checked || !form.classList || !form.classList.contains("workflow-action")) return;
    var field = form.querySelector('input[name="then"]') || document.createElement("input");
    field.type = "hidden";
    field.name = "then";
    field.value = "next";
    form.appendChild(field);
  });
})();
