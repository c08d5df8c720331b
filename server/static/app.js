// Autopartage: small progressive enhancements only; every page works without JavaScript.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) { event.preventDefault(); }
});
// The management menu (admin/_nav.html) opens as native <details>: a click elsewhere or Escape closes it.
function closeMenus(except) {
  document.querySelectorAll(".admin-nav details[open]").forEach(function (d) {
    if (d !== except) { d.removeAttribute("open"); }
  });
}
document.addEventListener("click", function (event) {
  closeMenus(event.target.closest ? event.target.closest(".admin-nav details") : null);
});
document.addEventListener("keydown", function (event) {
  if (event.key === "Escape") { closeMenus(null); }
});
