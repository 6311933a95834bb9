"""The dashboard's defences in a real Chromium (Debian's, driven by Playwright): stored markup
stays text, and every main page works under the Content-Security-Policy with no violation.
"""

from __future__ import annotations

import time
import uuid
import wave
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from hotline.extensions import db
from hotline.ivr.call_status import callback_for_unfinished_call
from hotline.models import Call, Ticket, TicketEvent, Transcription
from hotline.staff.headers import CONTENT_SECURITY_POLICY
from hotline.voicemail import record_voice_message
from tests.browser_fixtures import *  # noqa: F403  (fixtures)
from tests.browser_fixtures import needs_chromium, page_for
from tests.staff_fixtures import *  # noqa: F403  (fixtures)

pytestmark = needs_chromium

MARKUP = "<img src=x onerror=alert(1)>"

#: Installed before any page script: records CSP violations the page reports.
COLLECT_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


class Watch:
    """What a page said that it should not: dialogs, CSP reports, script errors."""

    def __init__(self, page):
        self.page = page
        self.dialogs: list[str] = []
        self.console: list[str] = []
        self.errors: list[str] = []
        page.add_init_script(COLLECT_VIOLATIONS)
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _console(self, message):
        if "Content Security Policy" in message.text:
            self.console.append(message.text)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def violations(self) -> list[str]:
        return self.page.evaluate("window.__violations || []") + self.console

    def assert_clean(self, where: str) -> None:
        assert self.violations() == [], where
        assert self.errors == [] and self.dialogs == [], where


def poll(page, expression: str, seconds: float = 5.0) -> None:
    """Wait until `expression` holds. Playwright's wait_for_function evaluates its predicate
    with eval() inside the page, which the policy forbids; page.evaluate goes through the
    DevTools protocol instead."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {seconds} s: {expression}"
        page.wait_for_timeout(50)


def open_as(browser, server, username: str) -> tuple[object, Watch]:
    page = page_for(browser, server, username)
    watch = Watch(page)
    page.reload()  # the init script runs from the next document on
    return page, watch


def test_stored_markup_stays_text_in_chromium(world, twilio, server, browser):
    phone = "+84912555401"
    world.resident(phone, world.village_a)
    call = Call(call_sid="CA" + uuid.uuid4().hex, phone=phone, status="completed")
    db.session.add(call)
    callback_for_unfinished_call(call, "dropped_call")
    db.session.commit()
    code = call.ticket.code
    response = twilio.post(
        "/twilio/recording",
        {"CallSid": call.call_sid, "RecordingSid": "RE" + uuid.uuid4().hex, "RecordingStatus": MARKUP},
    )
    assert response.status_code == 204  # refused at the edge (a status Twilio never sends)…
    ticket = db.session.scalar(select(Ticket).where(Ticket.code == code))
    ticket.topic = MARKUP
    # …older rows hold one (add_event takes only an EventKind now)
    ticket.events.append(TicketEvent(kind=f"recording_{MARKUP}", message="a recording", actor="system"))
    ticket.events.append(TicketEvent(kind="%(boom)s", message="a line", actor="system"))
    db.session.commit()

    page, watch = open_as(browser, server, "thu")
    for path in (f"/staff/t/{code}", "/staff/", "/staff/reports?by=topic"):
        page.goto(server + path)
        page.wait_for_load_state("networkidle")
        assert page.locator("img").count() == 0, path
        watch.assert_clean(path)
    page.goto(f"{server}/staff/t/{code}")
    timeline = page.inner_text("#timeline")
    assert f"khác (recording_{MARKUP})" in timeline and "khác (%(boom)s)" in timeline
    assert f"khác ({MARKUP})" in page.inner_text("dl.facts")


def silence_wav(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 4000)


def test_every_main_page_works_under_the_policy(app, world, server, browser):
    world.ticket(world.village_a, age_minutes=30, topic="vneid")
    first = world.ticket(world.village_a, age_minutes=60, topic="land", elderly=True)
    voice = record_voice_message(
        call_sid=None, from_number="+84912555402", recording_sid="RE" + uuid.uuid4().hex,
        recording_url="https://api.twilio.com/rec/x", duration=1, language="vi",
    )
    row = db.session.scalar(select(Transcription).where(Transcription.ticket_id == voice.id))
    row.audio_path = "recordings/test.wav"
    voice.team_id = world.team_a.id
    db.session.commit()
    silence_wav(Path(app.config["DATA_DIR"]) / "recordings" / "test.wav")
    first_code, voice_code = first.code, voice.code

    page, watch = open_as(browser, server, "thu")
    response = page.goto(f"{server}/staff/")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY

    # The queue refreshes itself (fetch) and the filters re-query in place.
    fresh = world.ticket(world.village_a, topic="residence")
    page.wait_for_selector(f'tr[data-code="{fresh.code}"]', timeout=5000)
    page.select_option("select[name=topic]", "land")
    expect(page.locator("table.queue tbody tr[data-code]")).to_have_count(1)
    assert "giấy tờ đất đai" in page.inner_text("#queue")
    watch.assert_clean("queue")

    # Claim from the queue, then record an outcome with the form.
    page.locator(f'tr[data-code="{first_code}"] button.claim').click()
    page.wait_for_url(f"{server}/staff/t/{first_code}")
    page.check("input[value=no_answer]")
    page.fill("#outcome-form textarea[name=note]", "không bắt máy")
    page.click("#save-outcome")
    page.wait_for_load_state()
    assert "Đã ghi kết quả." in page.inner_text("main")
    watch.assert_clean("request page")

    # The recording plays from this server.
    page.goto(f"{server}/staff/t/{voice_code}")
    page.evaluate("document.querySelector('audio').load()")
    poll(page, "document.querySelector('audio').readyState >= 1")
    assert page.evaluate("document.querySelector('audio').duration") == pytest.approx(0.5, abs=0.05)
    watch.assert_clean("voice message")

    # Reports with their chart, and the language switch back to the same page.
    page.goto(f"{server}/staff/reports?by=topic&period=day")
    assert page.locator("svg.chart rect").count() >= 2
    page.click("button[value=en]")
    page.wait_for_url(f"{server}/staff/reports?by=topic&period=day")
    assert page.locator("h1").inner_text() == "Reports"
    watch.assert_clean("reports")

    admin, admin_watch = open_as(browser, server, "admin")
    admin.goto(f"{server}/staff/admin")
    assert admin.locator("#import-form").count() == 1
    admin_watch.assert_clean("settings")

    # Logging out from the menu ends the session; the queue's refresh goes back to login.
    other, other_watch = open_as(browser, server, "thu")
    page.goto(f"{server}/staff/")
    page.click("form[action='/staff/logout'] button")
    page.wait_for_url(f"{server}/staff/login")
    other.wait_for_url(f"{server}/staff/login?next=/staff/", timeout=5000)
    assert "Hãy đăng nhập để xem trang này." in other.inner_text("main")
    other_watch.assert_clean("login after logout")

    # The collector does see a violation: an inline script is blocked and reported.
    page.evaluate("var s = document.createElement('script'); s.textContent = 'window.ran = 1';"
                  "document.body.appendChild(s)")
    poll(page, "window.__violations.length > 0")
    assert page.evaluate("window.ran") is None
    assert watch.violations()[0].startswith("script-src")
