// Progressive enhancement only: every page works without JavaScript.
document.addEventListener("DOMContentLoaded", function () {
  var toggle = document.querySelector("[data-nav-toggle]");
  var nav = document.getElementById("site-nav");
  if (toggle && nav) {
    toggle.addEventListener("click", function () {
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
  // "Use this item": a suggestion fills the form's select (delegated: suggestions arrive by htmx).
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-fill-select]") : null;
    if (!button) { return; }
    var target = document.getElementById(button.getAttribute("data-fill-select"));
    if (!target) { return; }
    target.value = button.getAttribute("data-value");
    target.dispatchEvent(new Event("change", { bubbles: true }));
    var chosen = document.querySelectorAll("[data-fill-select].chosen");
    for (var i = 0; i < chosen.length; i++) { chosen[i].classList.remove("chosen"); }
    button.classList.add("chosen");
  });
  // The installable app: a service worker keeps pages for offline use (core/pwa.py).
  if ("serviceWorker" in navigator && document.body.getAttribute("data-sw")) {
    navigator.serviceWorker.register(document.body.getAttribute("data-sw"), { scope: "/" }).then(function () {
      // On the login page (also where logging out leads) the pages kept for the last user go.
      if (/^\/accounts\/login\//.test(location.pathname) && navigator.serviceWorker.controller) {
        navigator.serviceWorker.controller.postMessage("forget-pages");
      }
    }).catch(function () { /* no offline support: the pages work as they are */ });
  }
  // "Use my location": the phone's GPS fills the coordinates of a call.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-locate]") : null;
    if (!button || !navigator.geolocation) { return; }
    var status = document.getElementById(button.getAttribute("data-locate-status"));
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("id_latitude").value = pos.coords.latitude.toFixed(6);
      document.getElementById("id_longitude").value = pos.coords.longitude.toFixed(6);
      if (status) { status.textContent = button.getAttribute("data-ok"); }
    }, function () {
      if (status) { status.textContent = button.getAttribute("data-failed"); }
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });
  // Switching the working role submits at once when scripts run.
  var select = document.getElementById("switch-membership");
  if (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  }
});
