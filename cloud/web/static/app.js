// Live alerts on the farmer page: the API's alert stream (server-sent events, scoped to this
// user) says when an alert of this farm changes, and a refresh is offered. Where the browser
// has no EventSource, the small alert list is polled instead.
(function () {
  var live = document.getElementById("live");
  if (!live || !window.fetch) return;
  var farm = live.getAttribute("data-farm"), known = Number(live.getAttribute("data-open"));
  if (window.EventSource) {
    var stream = new EventSource("/api/v1/alerts/stream");
    stream.addEventListener("alert", function (event) {
      var alert = {};
      try { alert = JSON.parse(event.data).alert || {}; } catch (e) { /* show the banner anyway */ }
      if (!alert.farm || alert.farm === farm) { live.hidden = false; }
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
