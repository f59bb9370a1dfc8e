// A list's "select all" box (#select-all) ticks or clears every row box (name="ids") on the page.
document.addEventListener("change", function (event) {
  if (event.target && event.target.id === "select-all") {
    document.querySelectorAll('input[name="ids"]').forEach(function (box) {
      box.checked = event.target.checked;
    });
  }
});
