"""A slow mobile link: no page over 100 kB on first load (its HTML, CSS and script), the CSS
and script under versioned URLs cached for a year, the queue's refresh answered 304 with no
body when the rows did not change, and with only the rows that changed when some did."""

from __future__ import annotations

import re
from datetime import timedelta

from hotline import clock
from hotline.extensions import db
from hotline.models import Ticket, TicketStatus, utcnow
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


FETCH = {"X-Requested-With": "fetch"}
ROW = re.compile(r'<tr [^>]*data-code="(\d+)" data-v="([0-9a-f]+)"')


def shown(html: str) -> dict[str, str]:
    """The rows a page shows: {code: data-v}, in order."""
    return dict(ROW.findall(html))


def have(rows: dict[str, str]) -> str:
    return ",".join(f"{code}.{v}" for code, v in rows.items())


def etag_of(html: str) -> str:
    return re.search(r"data-etag='([^']+)'", html)[1]


def test_the_refresh_sends_only_the_row_that_changed(world, login):
    tickets = [world.ticket(world.village_a, age_minutes=n) for n in range(12)]
    lan, hung = login("lan"), login("hung")
    page = lan.get("/staff/").get_data(as_text=True)
    rows = shown(page)
    assert list(rows) == [t.code for t in tickets][::-1]  # the oldest first
    etag = etag_of(page)
    url = f"/staff/?partial=1&have={have(rows)}"
    # Nothing changed: 304, no body, the ETag the page was served with.
    same = lan.get(url, headers={**FETCH, "If-None-Match": etag})
    assert same.status_code == 304 and same.get_data() == b""
    full = lan.get("/staff/?partial=1&have=", headers=FETCH)  # a page that shows no row yet
    assert full.status_code == 200 and set(full.get_json()["rows"]) == set(rows)

    # Someone else claims one: only that row comes, in its new version, in its place.
    taken = tickets[5]
    assert hung.post(f"/staff/t/{taken.code}/claim").status_code == 302
    changed = lan.get(url, headers={**FETCH, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != f"{etag}"
    answer = changed.get_json()
    assert list(answer["rows"]) == [taken.code]
    assert "Trần Văn Hùng" in answer["rows"][taken.code]
    assert 'class="claim"' not in answer["rows"][taken.code]
    assert shown(answer["rows"][taken.code])[taken.code] != rows[taken.code]
    assert answer["order"] == list(rows) and answer["gone"] == []
    assert len(changed.get_data()) * 5 < len(full.get_data())  # a fraction of the full list

    # One is settled (it leaves the active queue) and a new one comes: gone, and the order.
    settled = db.session.get(Ticket, tickets[0].id)
    settled.status, settled.closed_at = TicketStatus.RESOLVED, utcnow()
    db.session.commit()
    newcomer = world.ticket(world.village_a, age_minutes=500, elderly=True)  # the most urgent
    after = lan.get(url, headers=FETCH).get_json()
    assert after["gone"] == [tickets[0].code]
    assert after["order"][0] == newcomer.code and tickets[0].code not in after["order"]
    assert set(after["rows"]) == {newcomer.code, taken.code}  # the page still shows taken's old version
    assert after["order"] == list(shown(lan.get("/staff/").get_data(as_text=True)))


def test_time_left_does_not_change_a_row(world, login):
    ticket = world.ticket(world.village_a)
    assert ticket.due_at is not None  # it shows a "time left"
    lan = login("lan")
    before = lan.get("/staff/").get_data(as_text=True)
    with clock.travel(timedelta(minutes=1, seconds=1)):
        after = lan.get("/staff/").get_data(as_text=True)
        url = f"/staff/?partial=1&have={have(shown(before))}"
        refreshed = lan.get(url, headers={**FETCH, "If-None-Match": etag_of(before)})
    assert shown(after) == shown(before) and etag_of(after) == etag_of(before)
    assert refreshed.status_code == 304
    with clock.travel(ticket.due_at - utcnow() + timedelta(hours=2)):  # late now: still the same row
        late = lan.get("/staff/").get_data(as_text=True)
    assert "trễ 2 giờ" in late
    assert shown(late) == shown(before)
    # The page carries what the browser needs to compute it: the due moment, the server's
    # clock, and the formats in the page's language.
    assert f'data-due="{int(ticket.due_at.timestamp())}"' in before
    assert 'data-left="%(hours)s giờ %(minutes)s phút"' in before
    assert 'data-late="trễ %(hours)s giờ"' in before


def test_the_refresh_reads_only_what_it_understands(world, login):
    code = world.ticket(world.village_a).code
    lan = login("lan")
    for bad in ("x", f"{code}", f"{code}.ZZ", "../..,", "a" * 3000):
        answer = lan.get(f"/staff/?partial=1&have={bad}", headers=FETCH)
        assert answer.status_code == 200 and list(answer.get_json()["rows"]) == [code]
