/* web/work: the task page's lease countdown and heartbeat, number keys for labels, and the
   offline queue (an answer sent while offline is kept, then sent when the connection returns).
   The page works without it: the lease is shown in minutes, buttons submit the form. */
"use strict";
(function () {
  function two(n) { return (n < 10 ? "0" : "") + n; }

  function countdown(lease) {
    var shown = document.getElementById("lease-left");
    var left = Number(lease.dataset.expiresMs) - Number(lease.dataset.nowMs);
    /* Measured from this page's own clock, so a wrong clock on the phone does not matter. */
    var deadline = performance.now() + left;
    var said = { two: left <= 120000, half: left <= 30000, over: false };
    var lastActive = Date.now();
    var over = false;

    function tick() {
      var ms = Math.max(0, deadline - performance.now());
      var s = Math.ceil(ms / 1000);
      shown.textContent = Math.floor(s / 60) + ":" + two(s % 60);
      lease.classList.toggle("lease-low", ms > 0 && ms <= 120000);
      if (!said.two && ms <= 120000 && ms > 30000) { said.two = true; Ruche.announce(lease.dataset.sayTwo); }
      if (!said.half && ms <= 30000 && ms > 0) { said.half = true; Ruche.announce(lease.dataset.sayHalf); }
      if (ms <= 0) { finish(); }
    }

    function finish() {
      if (over) { return; }
      over = true;
      lease.classList.add("lease-over");
      lease.textContent = lease.dataset.sayOver;
      Ruche.announce(lease.dataset.sayOver);
    }

    function beat() {
      if (over || document.visibilityState !== "visible") { return; }
      /* Only for someone at work: a page left open on a desk should not hold a task for hours. */
      if (Date.now() - lastActive > 10 * 60 * 1000) { return; }
      var form = document.getElementById("answer");
      var token = form ? form.querySelector("input[name=csrf_token]") : null;
      if (!token) { return; }
      fetch(lease.dataset.heartbeatUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": token.value, "Accept": "application/json" }
      }).then(function (response) {
        if (response.status === 404 || response.status === 409) { deadline = 0; tick(); return null; }
        return response.ok ? response.json() : null;
      }).then(function (body) {
        if (!body || over) { return; }
        var fresh = body.expires_at_ms - body.now_ms;
        deadline = performance.now() + fresh;
        if (fresh > 120000) { said.two = false; }
        if (fresh > 30000) { said.half = false; }
      }).catch(function () { /* offline for a moment: the next beat tries again */ });
    }

    ["keydown", "pointerdown", "input"].forEach(function (kind) {
      document.addEventListener(kind, function () { lastActive = Date.now(); }, true);
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { tick(); beat(); }
    });
    tick();
    window.setInterval(tick, 1000);
    window.setInterval(beat, Number(lease.dataset.heartbeatMs) || 60000);
  }

  function numberKeys(group) {
    var buttons = group.querySelectorAll("button");
    var list = document.getElementById("shortcuts");
    if (!list) { return; }
    list.hidden = false;
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) { return; }
      var target = event.target;
      if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) { return; }
      var n = Number(event.key);
      if (n >= 1 && n <= buttons.length) { event.preventDefault(); buttons[n - 1].click(); }
    });
  }

  /* The offline queue: one answer at most (a task page holds one form). Kept in the tab's
     sessionStorage too, so that reloading the page while offline does not lose it; sent as the
     very form would have been (same fields, the pressed button's name and value), so the server
     answers as usual: the next task with "Saved", or, if the lease ran out meanwhile, the page
     that shows what was typed. */
  var PENDING = "ruche.pending-answer";
  var held = null;

  function pendingFor(form) {
    var saved = held;
    if (!saved) {
      try { saved = JSON.parse(window.sessionStorage.getItem(PENDING) || "null"); } catch (e) { saved = null; }
    }
    return saved && saved.action === form.getAttribute("action") ? saved : null;
  }

  function send(saved) {
    held = null;
    try { window.sessionStorage.removeItem(PENDING); } catch (e) { /* nothing kept there */ }
    var out = document.createElement("form");
    out.method = "post";
    out.action = saved.action;
    out.hidden = true;
    saved.fields.forEach(function (pair) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = pair[0];
      input.value = pair[1];
      out.appendChild(input);
    });
    document.body.appendChild(out);
    out.submit();
  }

  function offlineQueue(form) {
    var note = document.getElementById("offline-note");
    form.addEventListener("submit", function (event) {
      if (navigator.onLine !== false || event.defaultPrevented) { return; }
      event.preventDefault();
      var fields = [];
      new FormData(form).forEach(function (value, name) {
        if (typeof value === "string") { fields.push([name, value]); }
      });
      var button = event.submitter;
      if (button && button.name) { fields.push([button.name, button.value]); }
      held = { action: form.getAttribute("action"), fields: fields };
      try { window.sessionStorage.setItem(PENDING, JSON.stringify(held)); } catch (e) { /* kept in memory */ }
      if (note) { note.hidden = false; Ruche.announce(note.textContent.trim()); }
    });
    window.addEventListener("online", function () {
      var saved = pendingFor(form);
      if (saved) { send(saved); }
    });
    var waiting = pendingFor(form);
    if (waiting && navigator.onLine !== false) { send(waiting); }
    else if (waiting && note) { note.hidden = false; }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var answer = document.getElementById("answer");
    if (answer && document.getElementById("offline-note")) { offlineQueue(answer); }
    var lease = document.getElementById("lease");
    if (lease && lease.dataset.expiresMs) { countdown(lease); }
    var group = document.querySelector("[data-number-keys]");
    if (group) { numberKeys(group); }
  });
})();
