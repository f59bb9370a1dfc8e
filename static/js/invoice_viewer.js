// The invoice page viewer: zoom and rotate the page with its outlined fields; hovering a row of
// the fields table highlights its box on the page.
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("[data-viewer]") : null;
  if (!button) return;
  var section = button.closest(".invoice-check");
  var page = section && section.querySelector(".invoice-page");
  if (!page) return;
  var zoom = parseFloat(page.dataset.zoom || "1");
  var turn = parseInt(page.dataset.turn || "0", 10);
  var action = button.dataset.viewer;
  if (action === "in") zoom = Math.min(4, zoom * 1.5);
  if (action === "out") zoom = Math.max(1, zoom / 1.5);
  if (action === "rotate") turn = (turn + 90) % 360;
  if (action === "reset") { zoom = 1; turn = 0; }
  page.dataset.zoom = zoom;
  page.dataset.turn = turn;
  page.style.width = zoom * 100 + "%";
  page.style.transform = turn ? "rotate(" + turn + "deg)" : "";
});
document.addEventListener("mouseover", function (event) {
  var row = event.target.closest ? event.target.closest("tr[data-field]") : null;
  document.querySelectorAll(".field-box.key-current").forEach(function (box) {
    box.classList.remove("key-current");
  });
  if (!row) return;
  var section = row.closest(".invoice-check");
  var box = section && section.querySelector('.field-box[data-field="' + row.dataset.field + '"]');
  if (box) box.classList.add("key-current");
});
