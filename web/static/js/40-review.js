/* The reviewer's item page: keys 1…n accept answer n, c goes to the correction, r reopens,
   x rejects (never while typing in a field); the list of shortcuts shows once they work; the
   lease's countdown. The page works the same without it (plain buttons). */
(function () {
  "use strict";
  var form = document.getElementById("decide");
  if (!form) { return; }
  var list = document.querySelector("[data-shortcuts]");
  if (list) { list.hidden = false; }

  function typing(element) {
    if (!element || !element.tagName) { return false; }
    var tag = element.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable) { return true; }
    return tag === "INPUT" && !/^(submit|button|reset)$/.test(element.type);
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (typing(event.target)) { return; }
    var key = event.key;
    if (key === "c") {
      var first = form.querySelector("[data-correct-first]");
      if (first) {
        event.preventDefault();
        first.scrollIntoView({ block: "center" });
        first.focus();
      }
      return;
    }
    if (/^[1-9]$/.test(key) || key === "r" || key === "x") {
      var button = form.querySelector('button[data-key="' + key + '"]');
      if (button) {
        event.preventDefault();
        button.click();
      }
    }
  });

  var left = document.getElementById("lease-left");
  if (left) {
    var end = Date.now() + 1000 * Number(left.getAttribute("data-seconds") || 0);
    var timer = 0;
    var tick = function () {
      var seconds = Math.max(0, Math.round((end - Date.now()) / 1000));
      if (seconds === 0) {
        left.textContent = left.getAttribute("data-over");
        Ruche.announce(left.textContent);
        window.clearInterval(timer);
        return;
      }
      var minutes = Math.floor(seconds / 60);
      var rest = seconds % 60;
      left.textContent = minutes + ":" + (rest < 10 ? "0" : "") + rest;
    };
    tick();
    timer = window.setInterval(tick, 1000);
  }
}());
