/* Ruche's own script: small, optional (every page works without it), no framework.
   Each area adds its part in a file of its own (web/static/js/NN-area.js); the server serves
   them as one file. This part: announce the page's message ("Saved") to screen readers. */
"use strict";
window.Ruche = window.Ruche || {};
Ruche.announce = function (text) {
  var live = document.getElementById("live");
  if (!live) { return; }
  live.textContent = "";
  /* A change after a short delay is what screen readers announce; a region filled before the
     page loads is read as part of the page, or not at all. */
  window.setTimeout(function () { live.textContent = text; }, 150);
};
document.addEventListener("DOMContentLoaded", function () {
  var message = document.querySelector("[data-announce]");
  if (message) { Ruche.announce(message.textContent.trim()); }
});
