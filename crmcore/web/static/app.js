// crmcore web: instant search, board moves by drag and drop, caller-ID pops. No framework, no CDN.
"use strict";
(function () {
  var body = document.body;
  var csrf = body.getAttribute("data-csrf") || "";
  var i18n = {};
  try { i18n = JSON.parse(document.getElementById("i18n").textContent); } catch (e) { i18n = {}; }
  var fa = body.getAttribute("data-lang") === "fa";
  function digits(text) {
    text = text == null ? "" : String(text);
    return fa ? text.replace(/[0-9]/g, function (d) { return "۰۱۲۳۴۵۶۷۸۹"[d]; }) : text;
  }
  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text != null) node.textContent = text;
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  // --- instant search -------------------------------------------------------------------------------
  var q = document.getElementById("q");
  var results = document.getElementById("results");
  if (q && results && q.getAttribute("data-instant")) {
    var timer = null, seq = 0;
    q.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var mine = ++seq, text = q.value.trim();
        history.replaceState(null, "", text ? "/customers?q=" + encodeURIComponent(text) : "/customers");
        var none = document.getElementById("no-results");
        if (none) none.remove();
        if (!text) { results.textContent = ""; return; }
        fetch(q.getAttribute("data-instant") + "?limit=20&q=" + encodeURIComponent(text), {credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : {results: []}; })
          .then(function (data) {
            if (mine !== seq) return;
            results.textContent = "";
            data.results.forEach(function (m) {
              var li = el("li"), a = el("a", null, {href: "/customers/" + m.id});
              a.appendChild(el("strong", m.name));
              li.appendChild(a);
              var extra = m.phones.map(digits).join(" · ") + (m.city ? " · " + m.city : "");
              li.appendChild(el("span", extra, {"class": "muted"}));
              results.appendChild(li);
            });
            if (!data.results.length) results.appendChild(el("li", i18n.none || "No customer matches.", {"class": "muted"}));
          });
      }, 120);
    });
  }

  // --- boards -------------------------------------------------------------------------------------------
  var board = document.querySelector(".board[data-can-move='yes']");
  if (board) {
    var dragged = null, errorBox = document.getElementById("board-error");
    board.addEventListener("dragstart", function (e) {
      dragged = e.target.closest(".board-card");
      if (dragged) e.dataTransfer.setData("text/plain", dragged.getAttribute("data-card"));
    });
    board.querySelectorAll(".column").forEach(function (col) {
      col.addEventListener("dragover", function (e) { e.preventDefault(); col.classList.add("drop"); });
      col.addEventListener("dragleave", function () { col.classList.remove("drop"); });
      col.addEventListener("drop", function (e) {
        e.preventDefault();
        col.classList.remove("drop");
        if (!dragged || dragged.closest(".column") === col) return;
        var card = dragged, form = new FormData();
        form.append("csrf_token", csrf);
        form.append("card", card.getAttribute("data-card"));
        form.append("column", col.getAttribute("data-column"));
        fetch(board.getAttribute("data-move"), {method: "POST", body: form, credentials: "same-origin",
                                                 headers: {"Accept": "application/json"}})
          .then(function (r) { return r.json().then(function (data) { return {ok: r.ok, data: data}; }); })
          .then(function (res) {
            if (!res.ok) { errorBox.textContent = res.data.error || "error"; errorBox.hidden = false; return; }
            errorBox.hidden = true;
            location.reload();  // counts, totals and the move buttons are the server's to compute
          });
      });
    });
  }

  // --- drag to a drop target (a plugin's calendar) -------------------------------------------
  // A container [data-drop-field] holds drop targets [data-drop-value] and cards
  // [data-drag-action]; a card dropped on a target POSTs {field: value} to its action (Accept:
  // JSON) and the page reloads; a refusal shows in #drop-error. Without script, each card keeps
  // its own form.
  var zone = document.querySelector("[data-drop-field]");
  if (zone) {
    var carried = null, dropError = document.getElementById("drop-error");
    zone.addEventListener("dragstart", function (e) {
      carried = e.target.closest("[data-drag-action]");
      if (carried) e.dataTransfer.setData("text/plain", carried.getAttribute("data-drag-action"));
    });
    zone.querySelectorAll("[data-drop-value]").forEach(function (target) {
      target.addEventListener("dragover", function (e) {
        if (carried) { e.preventDefault(); target.classList.add("drop"); }
      });
      target.addEventListener("dragleave", function () { target.classList.remove("drop"); });
      target.addEventListener("drop", function (e) {
        e.preventDefault();
        target.classList.remove("drop");
        if (!carried || carried.closest("[data-drop-value]") === target) return;
        var form = new FormData();
        form.append("csrf_token", csrf);
        form.append(zone.getAttribute("data-drop-field"), target.getAttribute("data-drop-value"));
        target.appendChild(carried);
        fetch(carried.getAttribute("data-drag-action"),
              {method: "POST", body: form, credentials: "same-origin",
               headers: {"Accept": "application/json"}})
          .then(function (r) {
            return r.json().then(function (data) { return {ok: r.ok, data: data}; });
          })
          .then(function (res) {
            if (!res.ok) {
              dropError.textContent = res.data.error || "error";
              dropError.hidden = false;
              return;
            }
            location.reload();
          });
      });
    });
  }

  // --- caller-ID pops -------------------------------------------------------------------------------------
  var stream = body.getAttribute("data-calls");
  var pops = document.getElementById("call-pops");
  var template = document.getElementById("pop-template");
  if (stream && window.EventSource && pops && template) {
    var source = new EventSource(stream);
    source.addEventListener("call", function (e) {
      var pop = JSON.parse(e.data);
      var node = template.content.firstElementChild.cloneNode(true);
      node.setAttribute("data-call", pop.id);
      node.querySelector(".pop-title").textContent = (i18n.incoming || "Incoming call") + " · " +
        (pop.customer ? pop.customer.name
          : pop.restricted ? (i18n.restricted || "A colleague's customer")
          : (i18n.unknown || "Unknown caller"));
      var number = node.querySelector(".pop-number");
      number.textContent = digits(pop.number_display || pop.number || "");
      number.setAttribute("dir", "ltr");
      var facts = [];
      ["tier", "points", "open_tickets"].forEach(function (k) {
        if (pop.summary && pop.summary[k] != null) facts.push((i18n[k] || k) + ": " + digits(pop.summary[k]));
      });
      node.querySelector(".pop-summary").textContent = facts.join(" · ");
      var link = node.querySelector(".pop-link");
      if (pop.customer) { link.href = "/customers/" + pop.customer.id; link.textContent = i18n.open || "Open"; }
      else if (pop.suggestion && pop.suggestion.phone) {
        link.href = "/customers/new?phone=" + encodeURIComponent(pop.suggestion.phone); link.textContent = i18n.add || "Add";
      } else link.remove();
      node.querySelector(".pop-close").addEventListener("click", function () { node.remove(); });
      pops.prepend(node);
      setTimeout(function () { node.remove(); }, 60000);
      var list = document.getElementById("live-calls");
      if (list) {
        var li = el("li");
        li.appendChild(el("bdi", digits(pop.number_display || pop.number || ""), {dir: "ltr"}));
        li.appendChild(document.createTextNode(" "));
        if (pop.customer) li.appendChild(el("a", pop.customer.name, {href: "/customers/" + pop.customer.id}));
        else li.appendChild(document.createTextNode(pop.restricted
          ? (i18n.restricted || "A colleague's customer") : (i18n.unknown || "Unknown caller")));
        list.prepend(li);
      }
    });
    // a staff notification for this user: a pop linking to it, and the bell's count goes up
    source.addEventListener("notice", function (e) {
      var notice = JSON.parse(e.data);
      var node = template.content.firstElementChild.cloneNode(true);
      node.classList.add("notice-pop");
      node.setAttribute("data-notice", notice.notification);
      node.querySelector(".pop-title").textContent = notice.title || "";
      node.querySelector(".pop-number").remove();
      node.querySelector(".pop-summary").remove();
      var link = node.querySelector(".pop-link");
      link.href = notice.link || "/notifications";
      link.textContent = i18n.notice_open || "Open";
      node.querySelector(".pop-close").addEventListener("click", function () { node.remove(); });
      pops.prepend(node);
      setTimeout(function () { node.remove(); }, 60000);
      var bell = document.getElementById("bell");
      if (bell) {
        var count = bell.querySelector(".bell-count");
        if (!count) { count = el("span", "", {"class": "bell-count"}); bell.appendChild(count); }
        var n = Number(count.getAttribute("data-unread") || 0) + 1;
        count.setAttribute("data-unread", n);
        count.textContent = digits(n);
        bell.classList.add("has-unread");
      }
    });
  }
})();

// --- installable app: the service worker keeps the app shell --------------------------------------------
(function () {
  if ("serviceWorker" in navigator && document.body.getAttribute("data-sw") === "yes") {
    navigator.serviceWorker.register("/sw.js", {scope: "/"}).catch(function () { /* the site works without it */ });
  }
})();

// --- forms that fit Iran: dates, phones, amounts -----------------------------------------------------------
(function () {
  var body = document.body;
  var fa = body.getAttribute("data-lang") === "fa";
  var PERSIAN = "۰۱۲۳۴۵۶۷۸۹";
  function ascii(text) {
    return String(text || "").replace(/[۰-۹]/g, function (d) { return PERSIAN.indexOf(d); })
      .replace(/[٠-٩]/g, function (d) { return "٠١٢٣٤٥٦٧٨٩".indexOf(d); });
  }
  function local(text) {
    return fa ? String(text).replace(/[0-9]/g, function (d) { return PERSIAN[d]; }) : String(text);
  }

  // Dates: the Jalali picker (vendor/jalalidatepicker) on Persian pages; the browser's own Gregorian picker
  // on English pages. The server reads either calendar, with Persian or Latin digits.
  var dates = document.querySelectorAll("input[data-date]");
  if (dates.length && fa && window.jalaliDatepicker) {
    dates.forEach(function (input) {
      input.setAttribute("data-jdp", "");
      // the picker writes Latin digits; the page shows Persian ones (the server reads both)
      input.addEventListener("change", function () {
        var shown = local(input.value);
        if (shown !== input.value) input.value = shown;
      });
    });
    window.jalaliDatepicker.startWatch({persianDigits: true, autoReadOnlyInput: false, showTodayBtn: true,
                                        showEmptyBtn: true, useDropDownYears: true, zIndex: 20,
                                        separatorChars: {date: "/"}});
  } else if (dates.length && !fa) {
    dates.forEach(function (input) {
      if (!input.value || /^\d{4}-\d{2}-\d{2}$/.test(input.value)) input.type = "date";
    });
  }

  // Phones: any format is accepted; beside the field, the number as it will be stored (the server parses it).
  document.querySelectorAll("input[data-phone]").forEach(function (input) {
    var out = document.getElementById(input.getAttribute("aria-describedby"));
    var timer = null, seq = 0;
    if (!out) return;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var mine = ++seq, text = input.value.trim();
        if (!text) { out.textContent = ""; out.classList.remove("bad"); return; }
        fetch("/api/phone?number=" + encodeURIComponent(text), {credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) {
            if (!data || mine !== seq) return;
            out.textContent = data.text;
            out.classList.toggle("bad", data.ok === false);
          });
      }, 250);
    });
  });

  // Amounts: digits grouped in threes as they are typed (the server strips the separators and reads the
  // amount exactly); the caret stays after the same digit.
  var GROUP = fa ? "٬" : ",";
  function group(text) {
    var clean = ascii(text).replace(/[^0-9.]/g, "");
    var parts = clean.split(".");
    var whole = parts[0].replace(/^0+(?=\d)/, "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return local((whole + (parts.length > 1 ? "." + parts.slice(1).join("") : "")).replace(/,/g, GROUP));
  }
  document.querySelectorAll("input[data-money]").forEach(function (input) {
    if (input.value) input.value = group(input.value);
    input.addEventListener("input", function () {
      var caret = input.selectionStart || 0;
      var digitsBefore = ascii(input.value.slice(0, caret)).replace(/[^0-9.]/g, "").length;
      var shown = group(input.value);
      input.value = shown;
      var pos = 0, seen = 0;
      while (pos < shown.length && seen < digitsBefore) {
        if (/[0-9.۰-۹]/.test(shown[pos])) seen++;
        pos++;
      }
      input.setSelectionRange(pos, pos);
    });
  });
})();
