/* The translation workbench (web/work/templates/work/workbench_*.html). Hooks in the page:
   - form[data-workbench] holding textarea[name=text] ("Your translation"): Ctrl+Enter or
     Cmd+Enter submits it, by clicking its [data-workbench-submit] button (else its first
     submit button), so the button's name and value are sent as with a click;
   - #wb-checks (workbench_checks.html): while the volunteer types, the checks of
     web/work/translation_checks.py run here too (same codes, same rules; the messages and the
     length limits come from its data-* attributes, so they are translated server-side), shown
     in that polite live region, after a pause in typing;
   - button[data-wb-use="ID"] (workbench_memory.html): copies #ID's text into the field;
   - [data-wb-shortcuts] and [data-wb-use] are hidden without this script, shown here. */
"use strict";
(function () {
  var PLACEHOLDER = /%%|%\([^()\s]{1,40}\)[-#0+]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%(?:\d+\$)?[-#0+']*\d*(?:\.\d+)?(?:hh|h|ll|l|L|z|j|t|q)?[diouxXeEfFgGcsp@]|\{\{\s*[^{}\s][^{}]*?\s*\}\}|\{[^{}\s]*\}/g;
  var TAG = /<(\/?)([A-Za-z][A-Za-z0-9:-]*)(?:\s[^<>]*)?\/?>/g;
  var NUMBER = /\p{Nd}+(?:[,.'\u00a0\u202f ]\p{Nd}{3}(?!\p{Nd}))*(?:[.,]\p{Nd}+)?/gu;
  var NUMBER_UNSPACED = /\p{Nd}+(?:[,.'\u00a0\u202f]\p{Nd}{3}(?!\p{Nd}))*(?:[.,]\p{Nd}+)?/gu;
  var SPACE_SEPARATOR = /[\u00a0\u202f ]/;
  var DIGIT = /\p{Nd}/u;
  var LETTER = /\p{L}/u;
  var WIDE = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;
  var HANGUL = /\p{Script=Hangul}/u;

  function all(pattern, text) { return text.match(pattern) || []; }
  function counts(list) {
    var found = {};
    list.forEach(function (item) { found[item] = (found[item] || 0) + 1; });
    return found;
  }
  function minus(a, b) { /* the multiset a - b, sorted */
    var out = [];
    Object.keys(a).forEach(function (k) {
      for (var i = (b[k] || 0); i < a[k]; i++) { out.push(k); }
    });
    return out.sort();
  }
  function placeholders(text) {
    return counts(all(PLACEHOLDER, text).map(function (m) {
      return m.indexOf("{{") === 0 ? m.replace(/\s+/g, "") : m;
    }).filter(function (m) { return m !== "%%"; }));
  }
  function tags(text) {
    var out = [];
    text.replace(TAG, function (m, slash, name) { out.push("<" + slash + name.toLowerCase() + ">"); });
    return counts(out);
  }
  function digitValue(ch) { /* Nd digits come in runs of ten from 0 */
    var code = ch.codePointAt(0), start = code;
    while (DIGIT.test(String.fromCodePoint(start - 1))) { start--; }
    return (code - start) % 10;
  }
  function digits(number) {
    var out = "";
    Array.from(number).forEach(function (ch) { if (DIGIT.test(ch)) { out += digitValue(ch); } });
    return out.replace(/^0+/, "") || "0";
  }
  function bare(text) { return text.replace(PLACEHOLDER, " ").replace(TAG, " "); }
  function missingNumbers(source, translation) {
    var t = bare(translation), present = {}, missing = [];
    all(NUMBER, t).concat(all(NUMBER_UNSPACED, t)).forEach(function (n) { present[digits(n)] = 1; });
    all(NUMBER, bare(source)).forEach(function (n) {
      var parts = n.split(SPACE_SEPARATOR);
      if (present[digits(n)]) { return; }
      if (parts.length > 1 && parts.every(function (p) { return present[digits(p)]; })) { return; }
      if (missing.indexOf(n) < 0) { missing.push(n); }
    });
    return missing;
  }
  function visualLength(text) {
    var n = 0;
    Array.from(text).forEach(function (ch) {
      n += !LETTER.test(ch) ? 1 : WIDE.test(ch) ? 3 : HANGUL.test(ch) ? 2 : 1;
    });
    return n;
  }
  function squash(text) { return text.toLowerCase().split(/\s+/).filter(Boolean).join(" "); }
  function lineBreaks(text) { return text.replace(/\r\n?/g, "\n").trim().split("\n").length - 1; }
  function primary(tag) { return tag.split("-")[0].toLowerCase(); }

  /* The same checks, in the same order, as translation_checks() in Python; d: the dataset of
     #wb-checks (source, sourceLang, targetLang, limitLow/High/Short/Ceiling). */
  function check(d, translation) {
    var source = d.source, found = [];
    if (!translation.trim()) { return found; }
    var copied = squash(translation) === squash(source);
    if (copied && primary(d.sourceLang) !== primary(d.targetLang) && LETTER.test(source)) {
      found.push(["copy_of_source", {}]);
    } else if (!copied) {
      var s = visualLength(source.trim()), a = visualLength(translation.trim());
      if (s <= +d.limitShort) {
        if (a > +d.limitCeiling) { found.push(["too_long", {}]); }
      } else if (a < +d.limitLow * s) {
        found.push(["too_short", {}]);
      } else if (a > +d.limitHigh * s) {
        found.push(["too_long", {}]);
      }
    }
    var missing = missingNumbers(source, translation);
    if (missing.length) { found.push(["numbers_missing", {items: missing.join(", ")}]); }
    [["placeholders", placeholders], ["tags", tags]].forEach(function (kind) {
      var expected = kind[1](source), got = kind[1](translation);
      var lack = minus(expected, got), extra = minus(got, expected);
      if (lack.length) { found.push([kind[0] + "_missing", {items: lack.join(", ")}]); }
      if (extra.length) { found.push([kind[0] + "_extra", {items: extra.join(", ")}]); }
    });
    var expectedBreaks = lineBreaks(source), foundBreaks = lineBreaks(translation);
    if (expectedBreaks !== foundBreaks) {
      found.push(["line_breaks", {expected: String(expectedBreaks), found: String(foundBreaks)}]);
    }
    return found;
  }
  function message(box, code, params) {
    var name = "msg" + code.replace(/_(\w)/g, function (m, c) { return c.toUpperCase(); })
      .replace(/^\w/, function (c) { return c.toUpperCase(); });
    return (box.dataset[name] || code).replace(/\{(items|expected|found)\}/g, function (m, key) {
      return params[key] || "";
    });
  }
  function show(box, found) {
    var panel = box.querySelector(".wb-checks-box"), list = panel && panel.querySelector("ul");
    if (!list) { return; }
    var key = JSON.stringify(found);
    if (box.dataset.shown === key) { return; }
    box.dataset.shown = key;
    panel.removeAttribute("role"); /* typing: polite (the box), never an alert */
    list.textContent = "";
    found.forEach(function (item) {
      var li = document.createElement("li");
      li.dataset.code = item[0];
      li.textContent = message(box, item[0], item[1]);
      list.appendChild(li);
    });
    panel.hidden = found.length === 0;
  }

  function submitButton(form) {
    return form.querySelector("[data-workbench-submit]") ||
      form.querySelector("button[type=submit], button:not([type]), input[type=submit]");
  }

  window.Ruche = window.Ruche || {};
  Ruche.translationChecks = check; /* [[code, params], …]: for tests/web/test_workbench_page.py */

  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form[data-workbench]");
    if (!forms.length) { return; }
    var box = document.getElementById("wb-checks"), timer = null;
    document.querySelectorAll("[data-wb-shortcuts], [data-wb-use]").forEach(function (el) {
      el.hidden = false;
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey) || event.repeat) { return; }
      var form = event.target.closest ? event.target.closest("form[data-workbench]") : null;
      form = form || (forms.length === 1 ? forms[0] : null);
      var button = form && submitButton(form);
      if (!button || form.dataset.sending) { return; }
      event.preventDefault();
      form.dataset.sending = "1";
      window.setTimeout(function () { delete form.dataset.sending; }, 2000);
      button.click();
    });
    var field = forms[0].querySelector("textarea[name=text]");
    if (!field) { return; }
    if (box && box.dataset.source !== undefined) {
      field.addEventListener("input", function () {
        window.clearTimeout(timer);
        timer = window.setTimeout(function () { show(box, check(box.dataset, field.value)); }, 700);
      });
    }
    document.querySelectorAll("[data-wb-use]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.getElementById(button.dataset.wbUse);
        var memory = button.closest("[data-wb-memory]");
        if (!source) { return; }
        field.value = source.textContent;
        field.dispatchEvent(new Event("input", {bubbles: true}));
        field.focus();
        if (memory && window.Ruche && Ruche.announce) { Ruche.announce(memory.dataset.wbCopied); }
      });
    });
  });
}());
