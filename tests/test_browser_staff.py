"""The dashboard in a real headless Chromium (Debian's `chromium`, driven by Playwright):
login, queue, claim, outcome, home visit booking, the report page, and the in-place refresh.

Screenshots of the main pages are taken on every run; they are kept in bench/screenshots/
(committed) when HOTLINE_SAVE_SCREENSHOTS=1, otherwise in the test's temporary folder so a
test run leaves the working tree clean.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from hotline.extensions import db
from hotline.models import Ticket, utcnow
from tests.browser_fixtures import *  # noqa: F403  (the served app, the browser)
from tests.browser_fixtures import needs_chromium, page_for
from tests.staff_fixtures import *  # noqa: F403  (fixtures)

KEPT_SHOTS = Path(__file__).resolve().parent.parent / "bench" / "screenshots"

pytestmark = needs_chromium


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = KEPT_SHOTS if os.environ.get("HOTLINE_SAVE_SCREENSHOTS") == "1" else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_login_queue_claim_outcome_visit_and_report(world, server, browser, shots):
    elderly = world.ticket(world.village_a, reason="missed_call", age_minutes=40, elderly=True, topic="vneid")
    callback = world.ticket(world.village_a, age_minutes=90, topic="bhyt")
    world.ticket(world.village_a, reason="sms", age_minutes=3000, topic="khai-sinh", channel="sms")
    world.ticket(world.village_b, age_minutes=10)  # another team's: never shown to lan

    login = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    login.goto(f"{server}/staff/login")
    assert login.locator("h1").inner_text() == "Đăng nhập"
    login.fill("input[name=username]", "lan")
    login.fill("input[name=password]", "wrong password")
    login.click("button[type=submit]")
    assert "Sai tên đăng nhập hoặc mật khẩu." in login.inner_text("main")
    login.screenshot(path=str(shots / "01-login.png"))

    page = page_for(browser, server, "lan")
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 3
    assert rows.nth(0).get_attribute("data-code") == elderly.code  # urgent first
    assert rows.nth(1).get_attribute("data-code") == callback.code
    assert "trễ" in rows.nth(2).inner_text()  # 50 h old: past the 48 h target
    page.screenshot(path=str(shots / "02-queue.png"), full_page=True)

    # The queue refreshes in place when a new request arrives (no reload).
    page.evaluate("window.__marker = 1")
    fresh = world.ticket(world.village_a, age_minutes=0, topic="cu-tru")
    page.wait_for_selector(f'tr[data-code="{fresh.code}"]', timeout=5000)
    assert page.evaluate("window.__marker") == 1

    # Claim from the queue, then book a home visit.
    page.locator(f'tr[data-code="{elderly.code}"] button.claim').click()
    page.wait_for_url(f"{server}/staff/t/{elderly.code}")
    assert "Bạn đã nhận yêu cầu" in page.inner_text("main")
    assert page.inner_text("#assignee") == "Nguyễn Thị Lan"
    visit_day = (utcnow() + timedelta(days=2)).astimezone().date()
    page.check("input[value=home_visit]")
    page.fill("input[name=visit_on]", visit_day.isoformat())
    page.fill("#outcome-form textarea[name=note]", "Mang theo CCCD cũ")
    page.click("#save-outcome")
    page.wait_for_load_state()
    assert "Đã ghi kết quả." in page.inner_text("main")
    timeline = page.inner_text("#timeline")
    assert "hẹn đến nhà" in timeline and "Mang theo CCCD cũ" in timeline
    page.screenshot(path=str(shots / "03-request-visit.png"), full_page=True)

    # A second volunteer pressing claim on a taken request is told who has it.
    other = page_for(browser, server, "hung")
    other.goto(f"{server}/staff/t/{callback.code}")
    page.goto(f"{server}/staff/t/{callback.code}")
    page.click("#claim")
    other.click("#claim")
    assert "Nguyễn Thị Lan đã nhận yêu cầu này." in other.inner_text("main")

    # Resolve it.
    page.check("input[value=resolved]")
    page.click("#save-outcome")
    page.wait_for_load_state()
    assert page.inner_text("#ticket-status") == "đã giải quyết"
    db.session.expire_all()
    assert db.session.get(Ticket, callback.id).status == "resolved"

    # The report counts it, drawn without any network access.
    report = page_for(browser, server, "thu")
    requested = []
    report.on("request", lambda r: requested.append(r.url))
    report.goto(f"{server}/staff/reports?by=village&period=day")
    assert report.inner_text("#total-received") == "4"  # team 1 only
    assert report.inner_text("#total-processed") == "1"
    assert report.locator("svg.chart rect").count() >= 2
    assert all(url.startswith(server) for url in requested)
    report.screenshot(path=str(shots / "04-report.png"), full_page=True)

    page.goto(f"{server}/staff/")
    page.select_option("select[name=status]", "mine")
    # Not wait_for_function: it evals its predicate in the page, which the CSP forbids.
    expect(page.locator("table.queue tbody tr[data-code]")).to_have_count(1)
    assert page.locator("tbody tr[data-code]").get_attribute("data-code") == elderly.code


def test_english_dashboard(world, server, browser, shots):
    world.ticket(world.village_a, topic="vneid")
    page = page_for(browser, server, "admin")
    page.click("button[value=en]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Callback queue"
    page.goto(f"{server}/staff/admin")
    assert "Audit log" in page.inner_text("main")
    page.screenshot(path=str(shots / "05-settings-en.png"), full_page=True)
