"""The dashboard on a phone (390×844, touch), in Debian's Chromium driven by Playwright:
no page scrolls sideways, every control is at least 44 px, the queue is cards with the
first claim button on the first screen, phone numbers are `tel:` links, and a request goes
claim → home visit → visit done with taps only."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from hotline.extensions import db
from hotline.models import Ticket
from tests.browser_fixtures import *  # noqa: F403  (the served app, the browser)
from tests.browser_fixtures import PHONE_HEIGHT, PHONE_WIDTH, needs_chromium
from tests.browser_fixtures import phone_for as phone
from tests.staff_fixtures import *  # noqa: F403  (fixtures)
from tests.training_fixtures import rehearse

pytestmark = needs_chromium

WIDTH, HEIGHT = PHONE_WIDTH, PHONE_HEIGHT
KEPT_SHOTS = Path(__file__).resolve().parent.parent / "bench" / "screenshots"
#: The manual's pictures, written with HOTLINE_SAVE_SCREENSHOTS=1 (docs/training.md shows this one).
DOC_SHOTS = Path(__file__).resolve().parent.parent / "docs" / "img"


@pytest.fixture
def shots(tmp_path) -> Path:
    """Kept in bench/screenshots/ with HOTLINE_SAVE_SCREENSHOTS=1, else in the test's folder."""
    folder = KEPT_SHOTS if os.environ.get("HOTLINE_SAVE_SCREENSHOTS") == "1" else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder

#: Controls narrower or shorter than 44 px, and how wide the page is (run in the page).
MEASURE = """() => {
  const small = [];
  const controls = 'a[href], button, select, input:not([type=hidden]), textarea, summary';
  for (const el of document.querySelectorAll(controls)) {
    let box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not shown at this width
    if (el.type === 'radio' || el.type === 'checkbox') {
      const label = el.closest('label');
      if (label) box = label.getBoundingClientRect();
    }
    if (box.height < 43.5 || box.width < 43.5) {
      small.push(el.outerHTML.slice(0, 90) + ' → ' + Math.round(box.width) + '×' + Math.round(box.height));
    }
  }
  return {scroll: document.documentElement.scrollWidth, body: document.body.scrollWidth, small: small};
}"""


def fits(page, what: str) -> None:
    measured = page.evaluate(MEASURE)
    assert measured["scroll"] <= WIDTH and measured["body"] <= WIDTH, (what, measured)
    assert measured["small"] == [], (what, measured["small"])


@pytest.fixture
def busy(world):
    """A queue of lan's team with long names and every kind of row."""
    tickets = [
        world.ticket(world.village_a, reason="missed_call", age_minutes=40, elderly=True, topic="vneid"),
        world.ticket(world.village_a, age_minutes=90, topic="pension_allowance"),
        world.ticket(world.village_a, reason="sms", age_minutes=3000, topic="civil_status", channel="sms"),
    ]
    return world, tickets


def test_every_page_fits_a_phone(busy, app, server, browser, shots):
    world, tickets = busy
    outsider = world.ticket(world.village_b)

    login = phone(browser, server, None)
    fits(login, "login")
    login.goto(f"{server}/")
    fits(login, "landing page")

    page = phone(browser, server, "lan")
    fits(page, "queue")
    # The in-place refresh (every second here) asks with the ETag of what it shows: 304, no body.
    with page.expect_response(lambda r: "partial=1" in r.url and r.status == 304, timeout=15000):
        pass
    page.tap("#filter-box summary")  # folded on a phone; opened, it still fits
    fits(page, "queue with filters open")

    page.goto(f"{server}/staff/t/{tickets[0].code}")
    fits(page, "request")
    tel = page.locator("dd a[href^='tel:']")
    assert tel.get_attribute("href") == f"tel:{tickets[0].phone}"
    # Once it is hers (release, call back and the outcome are the holder's), with no Twilio
    # account here, calling back is a one-tap link to the resident's number.
    with page.expect_navigation():
        page.tap("#claim")
    fits(page, "request, claimed")
    call = page.locator("#call-back")
    assert call.get_attribute("href") == f"tel:{tickets[0].phone}"

    page.goto(f"{server}/staff/t/{outsider.code}")  # another team's: the error page
    fits(page, "error")

    page.goto(f"{server}/staff/reports?by=village&period=day")
    fits(page, "reports by village and day")
    page.screenshot(path=str(shots / "08-phone-reports.png"), full_page=True)
    page.goto(f"{server}/staff/reports?by=topic&period=week")
    fits(page, "reports by procedure")

    admin = phone(browser, server, "admin")
    admin.goto(f"{server}/staff/admin")
    fits(admin, "settings")
    admin.screenshot(path=str(shots / "09-phone-settings.png"), full_page=True)
    rehearse(app, world)  # the trainer page with rehearsals on it
    for path, what in (("/staff/admin/accounts", "accounts"), ("/staff/admin/places", "teams and villages"),
                       ("/staff/privacy", "residents' data"), ("/staff/prompts", "prompts"),
                       ("/staff/simulator", "practice phone, choosing a scenario"),
                       ("/staff/?space=training", "training queue"),
                       ("/staff/reports?space=training", "reports of the training space"),
                       ("/staff/training", "trainer page")):
        admin.goto(f"{server}{path}")
        fits(admin, what)
    with admin.expect_navigation():
        admin.tap("button[value=en]")
    admin.goto(f"{server}/staff/")
    fits(admin, "queue in English")


def test_claim_home_visit_and_visit_done_with_taps_only(busy, server, browser, shots):
    world, tickets = busy
    page = phone(browser, server, "lan")

    cards = page.locator("table.cards tbody tr[data-code]")
    assert cards.count() == 3
    first = cards.nth(0)
    assert first.get_attribute("data-code") == tickets[0].code  # the elderly caller first
    text = first.inner_text()
    for shown in ("Thôn 1", "VNeID", "cuộc gọi nhỡ", " giờ ", tickets[0].code):
        assert shown in text, (shown, text)
    page.screenshot(path=str(shots / "06-phone-queue.png"))
    claim = first.locator("button.claim")
    box = claim.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, box
    assert box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT, box  # on the first screen
    assert box["height"] >= 44 and box["width"] >= WIDTH / 2, box  # one big button

    claim.tap()
    page.wait_for_url(f"{server}/staff/t/{tickets[0].code}")
    assert page.inner_text("#assignee") == "Nguyễn Thị Lan"
    fits(page, "claimed request")

    page.tap("label:has(input[value=home_visit])")
    with page.expect_navigation():
        page.tap("#save-outcome")
    assert "Đã ghi kết quả." in page.inner_text("main")
    db.session.expire_all()
    ticket = db.session.get(Ticket, tickets[0].id)
    assert ticket.outcome == "home_visit" and ticket.status == "in_progress"
    assert "hẹn đến nhà" in page.inner_text("#timeline")

    # Back from the visit: one tap on "resolved", one on save.
    page.tap("label:has(input[value=resolved])")
    with page.expect_navigation():
        page.tap("#save-outcome")
    assert page.inner_text("#ticket-status") == "đã giải quyết"
    db.session.expire_all()
    assert db.session.get(Ticket, tickets[0].id).status == "resolved"
    fits(page, "resolved request")
    page.screenshot(path=str(shots / "07-phone-request.png"), full_page=True)


def test_a_trainer_follows_the_checklists_and_wipes_the_training_space_with_taps(busy, app, server, browser,
                                                                                   shots):
    world, _tickets = busy
    runs, _files = rehearse(app, world)
    page = phone(browser, server, "thu")
    page.tap("#nav-trainer")
    page.wait_for_url(f"{server}/staff/training")
    fits(page, "trainer page")
    cards = page.locator("table.runs tbody tr[data-run]")
    assert cards.count() == 3
    first = cards.nth(0).bounding_box()  # a card, the width of the screen
    assert first is not None and first["width"] >= WIDTH - 40 and first["x"] >= 0, first
    card = page.locator(f"tr[data-run='{runs[1].id}']").inner_text()
    for shown in ("Lê Văn Minh", "Bà H'Bia", "4/5", "✓", "○", "đã có bản ghi lời", "Bắt đầu"):
        assert shown in card, (shown, card)
    page.screenshot(path=str(shots / "10-phone-trainer.png"), full_page=True)
    if os.environ.get("HOTLINE_SAVE_SCREENSHOTS") == "1":
        DOC_SHOTS.mkdir(exist_ok=True)
        page.locator(f"tr[data-run='{runs[1].id}']").evaluate(
            "card => window.scrollTo(0, card.getBoundingClientRect().top + window.scrollY - 12)")
        page.screenshot(path=str(DOC_SHOTS / "trainer-checklist.png"))

    page.tap("#confirm-wipe")
    with page.expect_navigation():
        page.tap("#wipe-button")
    assert "Đã xóa sạch khu tập huấn: 3 buổi tập, 3 yêu cầu" in page.inner_text("main")
    assert page.locator("tr[data-run]").count() == 0
    fits(page, "trainer page, wiped")


#: Puts a row's due moment `seconds` after the page's server clock and recomputes "time left".
SET_DUE = """([code, seconds]) => {
  const box = document.getElementById('queue');
  const cell = document.querySelector(`tr[data-code="${code}"] td.c-left`);
  cell.dataset.due = String(parseInt(box.dataset.now, 10) + seconds);
  window.hotlineTimeLeft();
  return [cell.textContent, cell.parentNode.classList.contains('overdue')];
}"""


ROWS = "[...document.querySelectorAll('#queue tr[data-code]')]"


def test_a_row_claimed_elsewhere_updates_in_place_and_the_others_keep_their_nodes(busy, server, browser,
                                                                                  login):
    world, tickets = busy
    page = phone(browser, server, "lan")
    codes = [t.code for t in tickets]
    # Mark every row's DOM node: a node the refresh replaced loses the mark.
    page.evaluate(f"() => {ROWS}.forEach(r => {{ r.kept = r.dataset.code; }})")
    taken = tickets[1].code
    assert login("hung").post(f"/staff/t/{taken}/claim").status_code == 302  # another volunteer
    page.wait_for_function(
        f"() => document.querySelector('tr[data-code=\"{taken}\"] .c-assignee')"
        ".textContent.includes('Trần Văn Hùng')",
        timeout=15000,
    )
    rows = page.evaluate(
        f"() => {ROWS}.map(r => [r.dataset.code, r.kept || null])"
    )
    assert sorted(code for code, _ in rows) == sorted(codes)  # nothing gone, nothing doubled
    assert {code: kept for code, kept in rows} == {c: (None if c == taken else c) for c in codes}
    assert page.locator(f'tr[data-code="{taken}"] button.claim').count() == 0
    assert page.evaluate("() => document.documentElement.scrollWidth") <= WIDTH
    # The order is the server's: the page shows the rows as a fresh load does.
    fresh = page.context.new_page()
    fresh.goto(f"{server}/staff/")
    order = f"() => {ROWS}.map(r => r.dataset.code)"
    assert page.evaluate(order) == fresh.evaluate(order)

    # "Time left" is computed in the page, in the page's language, from the due moment.
    texts = page.locator("#queue td.c-left").all_text_contents()
    assert all(re.fullmatch(r"\d+ giờ \d+ phút|trễ \d+ giờ", text) for text in texts), texts
    code = codes[0]
    assert page.evaluate(SET_DUE, [code, 2 * 3600 + 30 * 60 + 50]) == ["2 giờ 30 phút", False]
    assert page.evaluate(SET_DUE, [code, -(3 * 3600 + 60)]) == ["trễ 3 giờ", True]
    with page.expect_navigation():
        page.tap("button[value=en]")
    assert page.evaluate(SET_DUE, [code, 2 * 3600 + 30 * 60 + 50]) == ["2 h 30 min", False]
    assert page.evaluate(SET_DUE, [code, -(3 * 3600 + 60)]) == ["3 h late", True]
    # Every row's text, as the script wrote it, reads in the page's language.
    texts = page.locator("#queue td.c-left").all_text_contents()
    assert all(re.fullmatch(r"\d+ h \d+ min|\d+ h late", text) for text in texts), texts
