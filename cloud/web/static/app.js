// Live alerts on the farmer page: poll the alert list (small JSON) and offer a refresh when it changes.
(function () {
  var live = document.getElementById("live");
  if (!live || !window.fetch) return;
  var farm = live.getAttribute("data-farm"), known = Number(live.getAttribute("data-open"));
  function poll() {
    fetch("/api/v1/alerts?state=open&limit=1&farm_id=" + encodeURIComponent(farm), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (body && body.total > known) { live.hidden = false; }
      })
      .catch(function () {});
  }
  setInterval(poll, 30000);
})();
