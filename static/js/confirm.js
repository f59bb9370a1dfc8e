// A form with data-confirm asks before it is sent (e.g. "Approve? The dealer's data changes now.").
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (event.submitter && event.submitter.hasAttribute("data-no-confirm")) {
    return; // a preview changes nothing
  }
  if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
