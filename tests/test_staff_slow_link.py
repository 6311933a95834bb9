"""A slow mobile link: no page over 100 kB on first load (its HTML, CSS and script), the CSS
and script under versioned URLs cached for a year, and the queue's refresh answered 304
with no body when the rows did not change."""

from __future__ import annotations

import re

from hotline.extensions import db
from hotline.staff.queue import PAGE_SIZE
from tests.staff_fixtures import *  # noqa: F403  (fixtures)

LIMIT = 100 * 1024


def assets(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def test_no_page_weighs_over_100_kb_on_first_load(world, login, app):
    for n in range(PAGE_SIZE + 5):  # a full first page of the queue, the longest a phone gets
        world.ticket(world.village_a, topic="pension_allowance", age_minutes=n, elderly=n % 3 == 0)
    lan, admin = login("lan"), login("admin")
    code = world.ticket(world.village_a).code
    pages = {
        "queue": lan.get("/staff/"),
        "request": lan.get(f"/staff/t/{code}"),
        "reports": lan.get("/staff/reports?by=village&period=day"),
        "settings": admin.get("/staff/admin"),
        "login": app.test_client().get("/staff/login"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        html = response.get_data(as_text=True)
        files = assets(html)
        assert len(files) == 2, (name, files)  # one stylesheet, one script, nothing else
        weight = len(response.get_data()) + sum(len(lan.get(url).get_data()) for url in files)
        assert weight < LIMIT, (name, weight)


def test_css_and_script_are_versioned_and_cached_for_a_year(world, login):
    lan = login("lan")
    for url in assets(lan.get("/staff/").get_data(as_text=True)):
        assert re.search(r"\?v=[0-9a-f]{12}$", url), url
        response = lan.get(url)
        cache = response.headers["Cache-Control"]
        assert "max-age=31536000" in cache and "immutable" in cache and "public" in cache, cache
        assert "no-cache" not in cache
        stale = lan.get(url.split("?")[0] + "?v=000000000000")  # an old page's link: revalidated
        assert "max-age=31536000" not in stale.headers.get("Cache-Control", "")


def quiet(ticket) -> None:
    """No due time: its row shows no "time left", which changes every minute."""
    ticket.due_at = None
    db.session.commit()


def test_the_queue_refresh_sends_only_what_changed(world, login):
    quiet(world.ticket(world.village_a))
    lan = login("lan")
    headers = {"X-Requested-With": "fetch"}
    first = lan.get("/staff/?partial=1", headers=headers)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and first.get_data()
    same = lan.get("/staff/?partial=1", headers={**headers, "If-None-Match": etag})
    assert same.status_code == 304 and same.get_data() == b""
    newcomer = world.ticket(world.village_a)
    quiet(newcomer)
    changed = lan.get("/staff/?partial=1", headers={**headers, "If-None-Match": etag})
    assert changed.status_code == 200 and newcomer.code in changed.get_data(as_text=True)
    assert changed.headers["ETag"] != etag
    # The ETag follows the reader: the same rows in English are other bytes.
    lan.post("/staff/lang", data={"lang": "en"})
    english = lan.get("/staff/?partial=1", headers={**headers, "If-None-Match": changed.headers["ETag"]})
    assert english.status_code == 200
