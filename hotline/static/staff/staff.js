// Refresh the queue rows in place (no full reload), keeping the filters and the page.
// Each refresh names the rows it shows (have=code.version,…) and sends the ETag of the whole
// state: when nothing changed the server answers 304 with no body; when something did, it
// sends the row order and only the rows this page lacks or shows in another version, so a
// slow mobile link carries the one row that changed, not the whole list. Rows that did not
// change keep their DOM nodes. "Time left" is computed here every minute from each row's
// data-due, with the server's clock and the page's language (the container's data-left and
// data-late), so the passing minutes never make a row change.
(function () {
  "use strict";
  var filterBox = document.getElementById("filter-box");
  if (filterBox && window.matchMedia("(max-width: 600px)").matches) filterBox.open = false;
  var box = document.getElementById("queue");
  if (!box) return;
  var seconds = parseInt(box.dataset.refresh || "20", 10);
  var skew = 0;  // the server's clock less this device's, in ms
  function setNow(serverSeconds) { if (serverSeconds) skew = serverSeconds * 1000 - Date.now(); }
  setNow(parseInt(box.dataset.now || "0", 10));

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, name) { return String(values[name]); });
  }
  function timeLeft() {
    var now = (Date.now() + skew) / 1000;
    var cells = box.querySelectorAll("td.c-left[data-due]");
    for (var i = 0; i < cells.length; i++) {
      var cell = cells[i], due = parseInt(cell.dataset.due, 10);
      if (!due || cell.dataset.closed) continue;  // the server's "?" or "—" stays
      var left = due - now, text;
      if (left < 0) text = format(box.dataset.late, { hours: Math.floor(-left / 3600) });
      else text = format(box.dataset.left, { hours: Math.floor(left / 3600), minutes: Math.floor((left % 3600) / 60) });
      if (cell.textContent !== text) cell.textContent = text;
      var row = cell.parentNode;
      if (row.classList.contains("overdue") !== left < 0) row.classList.toggle("overdue", left < 0);
    }
  }

  function parse(html) {
    var t = document.createElement("template");
    t.innerHTML = "<table><tbody>" + html + "</tbody></table>";
    return t.content.querySelector("tr");
  }
  function apply(answer) {
    var tbody = box.querySelector("tbody");
    var summary = document.getElementById("queue-summary");
    if (summary && summary.outerHTML !== answer.summary) summary.outerHTML = answer.summary;
    var nav = box.querySelector("nav.pages");
    if (nav && nav.outerHTML !== answer.nav) nav.outerHTML = answer.nav;
    var kept = {}, wanted = {};
    answer.order.forEach(function (code) { wanted[code] = true; });
    var rows = tbody.querySelectorAll("tr");
    for (var i = 0; i < rows.length; i++) {
      var code = rows[i].dataset.code;
      if (code && wanted[code]) kept[code] = rows[i];
      else rows[i].remove();  // gone, or the "nothing here" row
    }
    var cursor = tbody.firstElementChild;  // rows before it are in their place
    answer.order.forEach(function (code) {
      var row = kept[code], html = answer.rows[code];
      if (html !== undefined) {  // new, or changed: the server's row replaces ours
        var fresh = parse(html);
        if (row) { if (row === cursor) cursor = fresh; row.replaceWith(fresh); }
        row = fresh;
      }
      if (!row) { etag = null; return; }  // not sent and not here (two refreshes crossed): ask again
      if (row === cursor) cursor = cursor.nextElementSibling;
      else tbody.insertBefore(row, cursor);  // moves it, the same node
    });
    if (!answer.order.length && answer.empty) tbody.appendChild(parse(answer.empty));
    timeLeft();
  }
  function have() {
    var rows = box.querySelectorAll("tbody tr[data-code]"), out = [];
    for (var i = 0; i < rows.length; i++) out.push(rows[i].dataset.code + "." + rows[i].dataset.v);
    return out.join(",");
  }

  var etag = box.dataset.etag || null, etagUrl = null;
  (function () { var u = new URL(window.location.href); u.searchParams.set("partial", "1"); etagUrl = u.toString(); })();
  function refresh() {
    var url = new URL(window.location.href);
    url.searchParams.set("partial", "1");
    var target = url.toString();
    url.searchParams.set("have", have());
    var headers = { "X-Requested-With": "fetch" };
    if (etag && etagUrl === target) headers["If-None-Match"] = etag;
    fetch(url.toString(), { credentials: "same-origin", cache: "no-store", headers: headers })
      .then(function (r) {
        // The session ended (logout elsewhere, new password): reload, and the server sends the login page.
        if (r.status === 401) { window.location.reload(); throw new Error(r.status); }
        if (r.status === 304) return null;
        if (r.ok) { etag = r.headers.get("ETag"); etagUrl = target; return r.json(); }
        throw new Error(r.status);
      })
      .then(function (answer) {
        if (answer !== null) { setNow(answer.now); apply(answer); }
        var checked = document.getElementById("checked-at");
        if (checked) checked.textContent = new Date().toTimeString().slice(0, 8);
      })
      .catch(function () { /* keep the rows we have; try again next time */ });
  }
  window.hotlineRefreshQueue = refresh;
  window.hotlineTimeLeft = timeLeft;
  timeLeft();
  setInterval(timeLeft, 60 * 1000);
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
