"""What each dashboard page costs a volunteer on a slow mobile link: bytes and time.

1. Bytes: each page's HTML and, on a first visit, its stylesheet and script (goal: under
   100 kB); the queue's in-place refresh when nothing changed (304), when one row changed
   (only that row is sent) and when the page has none of the rows (the whole list); and
   the server's time to render each page, with the login page, rendered by
   the same app in the same run, as the baseline of the ratios.
2. Time: Debian's Chromium at 390×844 with its network throttled through the DevTools
   protocol (2G/EDGE and slow 3G) loads each page cold (empty cache), then again warm
   (the versioned CSS and script come from the cache, not the network).

    .venv/bin/python bench/page_weight.py [--requests 1000] [--repeat 50] [--no-browser]
"""

from __future__ import annotations

import argparse
import gzip
import re
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from werkzeug.serving import make_server  # noqa: E402

from bench.staff_bench_db import bench_app, logged_in, seed  # noqa: E402

PASSWORD = "bench-password-1"
CHROMIUM = "/usr/bin/chromium"
#: Network profiles: (name, round trip ms, download and upload in kbit/s). Slow 3G is
#: Chrome DevTools' preset; 2G is an EDGE link as measured in rural areas.
PROFILES = [("2G (EDGE)", 600, 240, 120), ("slow 3G", 400, 400, 400)]


def assets(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def server_ms(client, path: str, repeat: int, **kw) -> float:
    client.get(path, **kw)
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(path, **kw)
        out.append((time.perf_counter() - start) * 1000)
    return statistics.median(out)


def weights(app, pages, repeat: int) -> None:
    clients = {
        "anonymous": app.test_client(),
        "admin": logged_in(app, "admin", PASSWORD),
        "volunteer": logged_in(app, "v00", PASSWORD),
    }
    baseline = server_ms(clients["anonymous"], "/staff/login", repeat)
    print(f"{'page':<28} {'HTML':>8} {'gzip':>7} {'+assets':>8} {'first load':>10}  server p50")
    for name, who, path in pages:
        client = clients[who]
        response = client.get(path)
        body = response.get_data()
        extra = sum(len(client.get(url).get_data()) for url in assets(body.decode()))
        ms = server_ms(client, path, repeat)
        first = len(body) + extra
        verdict = "ok" if first < 100 * 1024 else "OVER 100 kB"
        print(
            f"{name:<28} {len(body) / 1024:7.1f}k {len(gzip.compress(body)) / 1024:6.1f}k "
            f"{extra / 1024:7.1f}k {first / 1024:9.1f}k  {ms:6.1f} ms ({ms / baseline:.1f}x login) {verdict}"
        )
    fetch = {"X-Requested-With": "fetch"}
    for who in ("admin", "volunteer"):
        refresh_bytes(app, clients[who], who, fetch)


def refresh_bytes(app, client, who: str, fetch: dict[str, str]) -> None:
    """The page's script names the rows it shows (have=code.v,…): nothing changed → 304;
    one row changed → that row; a page with no rows yet → the whole list."""
    from hotline.extensions import db
    from hotline.models import Ticket

    page = client.get("/staff/").get_data(as_text=True)
    rows = re.findall(r'<tr [^>]*data-code="(\d+)" data-v="([0-9a-f]+)"', page)
    etag = re.search(r"data-etag='([^']+)'", page)[1]
    url = "/staff/?partial=1&have=" + ",".join(f"{code}.{v}" for code, v in rows)
    same = client.get(url, headers={**fetch, "If-None-Match": etag})
    full = client.get("/staff/?partial=1&have=", headers=fetch)
    with app.app_context():  # one row changes (one more try), as when someone works on it
        ticket = db.session.query(Ticket).filter_by(code=rows[len(rows) // 2][0]).one()
        ticket.attempts += 1
        db.session.commit()
    one = client.get(url, headers={**fetch, "If-None-Match": etag})
    sent = one.get_json()["rows"]
    assert one.status_code == 200 and len(sent) == 1, sent.keys()
    with app.app_context():
        ticket = db.session.query(Ticket).filter_by(code=rows[len(rows) // 2][0]).one()
        ticket.attempts -= 1
        db.session.commit()
    body, whole = len(one.get_data()), len(full.get_data())
    zipped = len(gzip.compress(one.get_data())) / 1024, len(gzip.compress(full.get_data())) / 1024
    print(
        f"queue refresh, {who} ({len(rows)} rows): {len(same.get_data())} B of body + "
        f"{len(str(same.headers))} B of headers when nothing changed ({same.status_code}); "
        f"{body / 1024:.1f} kB ({zipped[0]:.1f} kB gzip) when one row changed, "
        f"{whole / 1024:.1f} kB ({zipped[1]:.1f} kB gzip) for the whole list "
        f"({body / whole:.0%}); the request names the rows in {len(url)} B of URL"
    )


def browser_times(app, pages) -> None:
    from playwright.sync_api import sync_playwright

    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_port}"
    try:
        with sync_playwright() as playwright:
            flags = ["--headless", "--no-sandbox"]
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=flags)
            for profile, rtt, down, up in PROFILES:
                print(f"{profile}: {rtt} ms round trip, {down} kbit/s down, {up} kbit/s up")
                for name, who, path in pages:
                    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
                    page = context.new_page()
                    if who != "anonymous":  # log in unthrottled: the page is what is measured
                        page.goto(f"{base}/staff/login")
                        page.fill("input[name=username]", "admin" if who == "admin" else "v00")
                        page.fill("input[name=password]", PASSWORD)
                        with page.expect_navigation():
                            page.click("button[type=submit]")
                    cdp = context.new_cdp_session(page)
                    cdp.send("Network.enable")
                    cdp.send("Network.clearBrowserCache")
                    cdp.send(
                        "Network.emulateNetworkConditions",
                        {"offline": False, "latency": rtt, "downloadThroughput": down * 125,
                         "uploadThroughput": up * 125},
                    )
                    loads = []
                    for _ in range(2):  # cold, then warm
                        page.goto(base + path, wait_until="load", timeout=120_000)
                        loads.append(page.evaluate("performance.getEntriesByType('navigation')[0].duration"))
                    print(f"  {name:<26} cold {loads[0] / 1000:5.2f} s   warm {loads[1] / 1000:5.2f} s")
                    context.close()
            browser.close()
    finally:
        httpd.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    with bench_app("sqlite") as app:
        with app.app_context():
            seed(args.requests, claimers=1, password=PASSWORD)
            from hotline.extensions import db
            from hotline.models import Ticket

            code = db.session.query(Ticket.code).order_by(Ticket.id).first()[0]
        pages = [
            ("login", "anonymous", "/staff/login"),
            ("queue, admin (50 rows)", "admin", "/staff/"),
            ("queue, volunteer", "volunteer", "/staff/"),
            ("request", "admin", f"/staff/t/{code}"),
            ("reports by village, daily", "admin", "/staff/reports?by=village&period=day"),
            ("settings", "admin", "/staff/admin"),
        ]
        print(f"{args.requests} open requests in 23 teams; server times: median of {args.repeat}")
        weights(app, pages, args.repeat)
        if not args.no_browser:
            browser_times(app, pages)


if __name__ == "__main__":
    main()
