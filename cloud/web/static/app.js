// Live alerts on the farmer page: the API's alert stream (server-sent events, scoped to this
// user) says when an alert of this farm changes, and the alert list is redrawn in place from
// the server's own page (the refresh banner stays as the fallback). Where the browser has no
// EventSource, the small alert list is polled instead.
(function () {
  var live = document.getElementById("live");
  if (!live || !window.fetch) return;
  var farm = live.getAttribute("data-farm"), known = Number(live.getAttribute("data-open"));
  function redraw() {
    fetch(location.pathname + location.search, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("alerts");
        var here = document.getElementById("alerts");
        if (!fresh || !here) { live.hidden = false; return; }
        here.replaceWith(fresh);
      })
      .catch(function () { live.hidden = false; });
  }
  if (window.EventSource) {
    var stream = new EventSource("/api/v1/alerts/stream");
    stream.addEventListener("alert", function (event) {
      var alert = {};
      try { alert = JSON.parse(event.data).alert || {}; } catch (e) { /* redraw anyway */ }
      if (!alert.farm || alert.farm === farm) { redraw(); }
    });
    return;
  }
  setInterval(function () {
    fetch("/api/v1/alerts?state=open&limit=1&farm_id=" + encodeURIComponent(farm), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body && body.total > known) { live.hidden = false; } })
      .catch(function () {});
  }, 30000);
})();

// A pushed config: the console waits for the gateway's answer (applied, refused with its reason,
// or rolled back) and shows it when it arrives.
(function () {
  var answer = document.getElementById("answer");
  if (!answer || !answer.getAttribute("data-waiting") || !window.fetch) return;
  var gateway = answer.getAttribute("data-gateway"), desired = Number(answer.getAttribute("data-desired"));
  var timer = setInterval(function () {
    fetch("/api/v1/gateways/" + encodeURIComponent(gateway), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (gw) {
        if (gw && gw.applied_version !== null && gw.applied_version >= desired) {
          clearInterval(timer);
          location.reload();
        }
      })
      .catch(function () {});
  }, 3000);
})();

// Small form helpers (no inline script: the CSP allows only our own files). A select with
// data-form-action points its form at the chosen item; a form with data-confirm asks first.
(function () {
  document.querySelectorAll("select[data-form-action]").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.action = select.getAttribute("data-form-action").replace("{id}", encodeURIComponent(select.value));
    });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
