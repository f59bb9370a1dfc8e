// Keyboard for queues and detail pages (press ? for the list).
// A table with data-keys: j/k move between rows, o or Enter opens the row's first link,
// x ticks its box. A detail page: a, r, s bring up approve, reject, reset (when the user may),
// p picks up; Enter then confirms. Keys are ignored while typing in a field.
(function () {
  var current = -1;
  function typing(event) {
    var tag = (event.target.tagName || "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable;
  }
  function rows() {
    var table = document.querySelector("table[data-keys]");
    return table ? Array.prototype.slice.call(table.querySelectorAll("tbody tr")) : [];
  }
  function move(step) {
    var list = rows();
    if (!list.length) return;
    if (current >= 0 && list[current]) list[current].classList.remove("key-current");
    current = Math.max(0, Math.min(list.length - 1, current + step));
    list[current].classList.add("key-current");
    list[current].scrollIntoView({ block: "nearest" });
  }
  function row() {
    var list = rows();
    return current >= 0 ? list[current] : null;
  }
  function bringUp(transition) {
    var form = document.querySelector('form.workflow-action[data-transition="' + transition + '"]');
    if (!form) return false;
    var target = form.querySelector("select, textarea") || form.querySelector("button");
    form.scrollIntoView({ block: "center" });
    form.classList.add("key-current");
    target.focus();
    return true;
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
    var help = document.getElementById("keys-help");
    var key = event.key;
    if (key === "?") { if (help) help.hidden = !help.hidden; event.preventDefault(); return; }
    if (key === "Escape" && help) { help.hidden = true; return; }
    if (key === "j") { move(1); return; }
    if (key === "k") { move(-1); return; }
    if ((key === "o" || key === "Enter") && row()) {
      var link = row().querySelector("a[href]");
      if (link) { window.location.href = link.href; event.preventDefault(); }
      return;
    }
    if (key === "x" && row()) {
      var box = row().querySelector('input[type="checkbox"]');
      if (box) box.checked = !box.checked;
      return;
    }
    var transitions = { a: "approve", r: "reject", s: "reset", p: "pick_up" };
    if (transitions[key] && bringUp(transitions[key])) event.preventDefault();
  });
})();
