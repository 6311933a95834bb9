// Refresh the queue rows in place (no full reload), keeping the filters and the page.
// Each refresh sends the ETag of the rows it shows: when nothing changed the server answers
// 304 with no body, so a slow mobile link carries a few hundred bytes, not the whole list.
(function () {
  "use strict";
  var filterBox = document.getElementById("filter-box");
  if (filterBox && window.matchMedia("(max-width: 600px)").matches) filterBox.open = false;
  var box = document.getElementById("queue");
  if (!box) return;
  var seconds = parseInt(box.dataset.refresh || "20", 10);
  var etag = null, etagUrl = null;
  function refresh() {
    var url = new URL(window.location.href);
    url.searchParams.set("partial", "1");
    var target = url.toString();
    var headers = { "X-Requested-With": "fetch" };
    if (etag && etagUrl === target) headers["If-None-Match"] = etag;
    fetch(target, { credentials: "same-origin", cache: "no-store", headers: headers })
      .then(function (r) {
        // The session ended (logout elsewhere, new password): reload, and the server sends the login page.
        if (r.status === 401) { window.location.reload(); throw new Error(r.status); }
        if (r.status === 304) return null;
        if (r.ok) { etag = r.headers.get("ETag"); etagUrl = target; return r.text(); }
        throw new Error(r.status);
      })
      .then(function (html) {
        if (html !== null) box.innerHTML = html;
        var checked = document.getElementById("checked-at");
        if (checked) checked.textContent = new Date().toTimeString().slice(0, 8);
      })
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
