// Refresh the queue rows in place (no full reload), keeping the filters and the page.
(function () {
  "use strict";
  var box = document.getElementById("queue");
  if (!box) return;
  var seconds = parseInt(box.dataset.refresh || "20", 10);
  function refresh() {
    var url = new URL(window.location.href);
    url.searchParams.set("partial", "1");
    fetch(url.toString(), { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) {
        // The session ended (logout elsewhere, new password): reload, and the server sends the login page.
        if (r.status === 401) { window.location.reload(); throw new Error(r.status); }
        if (r.ok) return r.text();
        throw new Error(r.status);
      })
      .then(function (html) { box.innerHTML = html; })
      .catch(function () { /* keep the rows we have; try again next time */ });
  }
  window.hotlineRefreshQueue = refresh;
  if (seconds > 0) setInterval(refresh, seconds * 1000);
  var filters = document.getElementById("filters");
  if (filters) {
    filters.addEventListener("change", function () {
      var params = new URLSearchParams(new FormData(filters));
      history.replaceState(null, "", "?" + params.toString());
      refresh();
    });
  }
})();
