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

// Works through a dropped 4G link: the service worker keeps the last pages; a daily record or
// an acknowledgement made offline waits in this phone's storage and is sent when the link
// returns. Both are idempotent on the server (a record is the day's values, an
// acknowledgement a state), and an entry leaves the queue only once the server has it, so each
// arrives exactly once in effect.
(function () {
  var KEY = "fhy-outbox", banner = document.getElementById("offline");
  if ("serviceWorker" in navigator) { navigator.serviceWorker.register("/sw.js").catch(function () {}); }
  if (!window.fetch || !window.localStorage) return;
  function queue() { try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; } }
  function save(items) { localStorage.setItem(KEY, JSON.stringify(items)); }
  function say(text) { if (banner) { banner.textContent = text; banner.hidden = false; } }
  function send(item) {
    return fetch(item.url, {method: item.method, credentials: "same-origin",
                            headers: {"Content-Type": "application/json", "Accept-Language": document.documentElement.lang},
                            body: item.body});
  }
  function flush() {
    var items = queue();
    if (!items.length || !navigator.onLine) return Promise.resolve(false);
    var item = items[0];
    return send(item).then(function (r) {
      // Delivered, or refused for good (the server said why): either way it leaves the queue.
      save(queue().filter(function (i) { return i.id !== item.id; }));
      if (!r.ok) { return r.json().then(function (b) { say((b.error || {}).message || String(r.status)); }); }
      return flush().then(function () { if (banner && !queue().length) { say(banner.getAttribute("data-sent")); } });
    }).catch(function () { return false; });  // still offline: keep it for the next try
  }
  function entry(form) {
    var kind = form.getAttribute("data-offline"), data = new FormData(form);
    if (kind === "ack") {
      return {url: "/api/v1/alerts/" + form.getAttribute("data-alert") + "/acknowledge", method: "POST", body: null};
    }
    var body = {};
    ["deaths", "culls", "feed_kg", "water_l", "eggs"].forEach(function (f) {
      var v = (data.get(f) || "").trim();
      if (v !== "") { body[f] = Number(v); }
    });
    return {url: "/api/v1/flocks/" + encodeURIComponent(data.get("flock_id")) + "/daily-records/" + data.get("day"),
            method: "PUT", body: JSON.stringify(body)};
  }
  document.querySelectorAll("form[data-offline]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (navigator.onLine) return;  // online: the ordinary form post, with its page of errors
      event.preventDefault();
      var item = entry(form);
      item.id = Date.now() + "-" + Math.random().toString(36).slice(2);
      save(queue().concat([item]));
      say(banner ? banner.getAttribute("data-queued") : "");
    });
  });
  window.addEventListener("online", function () { flush(); });
  window.addEventListener("offline", function () { if (banner) { banner.hidden = false; } });
  if (!navigator.onLine && banner) { banner.hidden = false; }
  flush();
})();
