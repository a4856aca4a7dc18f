// Messaging pages: the template editor's live preview (asks /api/p/messaging/preview as the text
// changes; the Preview button does the same without scripts) and the campaign composer's choices,
// which recount the recipients as soon as a segment or channel is picked.
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  var form = document.getElementById("template-form");
  if (!form) return;
  var body = document.getElementById("preview-body");
  var subject = document.getElementById("preview-subject");
  var error = document.getElementById("preview-error");
  var who = document.getElementById("preview-who");
  var timer = null;
  var asked = 0;

  function show(data) {
    error.hidden = true;
    body.textContent = data.body || "";
    subject.hidden = !data.subject;
    subject.textContent = data.subject || "";
    var fa = document.documentElement.lang === "fa";
    if (data.customer_id) {
      var id = String(data.customer_id);
      if (fa) id = id.replace(/[0-9]/g, function (d) { return "۰۱۲۳۴۵۶۷۸۹"[d]; });
      who.textContent = (fa ? "برای مشتری " : "As customer ") + id;
    } else {
      who.textContent = fa ? "برای مشتری نمونه" : "As the sample customer";
    }
  }

  function refresh() {
    var text = form.elements.body.value;
    if (!text.trim()) return;
    var params = new URLSearchParams({
      body: text, subject: form.elements.subject.value,
      channel: form.elements.channel.value, customer: form.elements.customer.value
    });
    var mine = ++asked;
    fetch(form.dataset.preview + "?" + params.toString(), {
      headers: { "Accept": "application/json" }, credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      if (mine !== asked) return;  // an older answer arriving late
      if (result.ok) { show(result.data); return; }
      error.textContent = result.data.error || "";
      error.hidden = false;
    }).catch(function () { /* offline: the Preview button still works */ });
  }

  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 350);
  });
})();
