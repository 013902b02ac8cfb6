// The console's upload form (web/ngo/templates/ngo/data.html), when scripts run: the form
// posts as any form does, and while the browser waits for the report this page asks the
// server how far the upload got (the form's data-progress URL) and shows the line reached in
// a progress bar and a status line. A file over the size bound is refused before sending.
(function () {
  "use strict";
  var form = document.querySelector("form.ngo-upload");
  if (!form || !window.XMLHttpRequest) return;
  var box = form.querySelector(".ngo-upload-progress");
  var bar = form.querySelector("progress");
  var status = form.querySelector(".ngo-upload-status");
  var file = form.querySelector("input[type=file]");
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10);

  function say(text, value) {
    box.hidden = false;
    status.textContent = text;
    if (value === null) bar.removeAttribute("value"); else bar.value = value;
  }

  function poll() {
    var ask = new XMLHttpRequest();
    ask.open("GET", form.getAttribute("data-progress"));
    ask.onload = function () {
      if (ask.status !== 200) return;
      var seen = JSON.parse(ask.responseText);
      if (!seen.lines) return;
      var text = status.getAttribute("data-line");
      say(text.replace("{line}", seen.line).replace("{lines}", seen.lines),
          Math.min(100, Math.round(100 * seen.line / seen.lines)));
    };
    ask.send();
  }

  form.addEventListener("submit", function (event) {
    var chosen = file.files && file.files[0];
    if (chosen && maxBytes && chosen.size > maxBytes) {
      event.preventDefault();
      say(status.getAttribute("data-too-big"), 0);
      file.focus();
      return;
    }
    if (!chosen) return; // the server says what is missing
    say(status.getAttribute("data-sending"), null);
    window.setInterval(poll, 700);
  });
})();
