"""The practice phone in Debian's Chromium (Playwright), on a 390×844 phone with a fake
microphone that speaks Korean (the one Vosk model the registries serve, installed here as
the Vietnamese one): a trainee calls, presses keys, leaves a voice message, sees the
transcript arrive on the training request, texts and gets the reply, then takes the
request in the training queue. The real queue, reports and exports are unchanged, and the
Twilio REST API (a local server: api.twilio.com is unreachable) hears nothing.

`HOTLINE_SAVE_SCREENSHOTS=1` keeps the screenshots in docs/img/ (the manual's pictures)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from hotline.extensions import db
from tests.asr_fixtures import KOREAN_SENTENCES, korean_model_dir, synthesise  # noqa: F401
from tests.browser_fixtures import (
    CHROMIUM,
    FLAGS,
    PHONE_WIDTH,
    needs_chromium,
    phone_for,
    server,  # noqa: F401
)
from tests.conftest import run_queued_jobs, twilio_rest_config
from tests.staff_fixtures import *  # noqa: F403  (world)
from tests.test_voicemail_asr import install_korean_for

pytestmark = needs_chromium

WIDTH = PHONE_WIDTH
DOCS_IMAGES = Path(__file__).resolve().parent.parent / "docs" / "img"


@pytest.fixture
def database_url(sqlite_database):
    """One database: the same domain code runs on both in tests/test_training.py."""
    return sqlite_database


@pytest.fixture
def app(app_factory, tmp_path, twilio_api, korean_model_dir):  # noqa: F811
    app = app_factory(**twilio_rest_config(twilio_api, AUDIO_DIR=str(tmp_path / "audio"),
                                           STAFF_QUEUE_REFRESH_SECONDS=1))
    with app.app_context():
        install_korean_for("vi", app, korean_model_dir)
        yield app
        db.session.remove()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = DOCS_IMAGES if os.environ.get("HOTLINE_SAVE_SCREENSHOTS") == "1" else tmp_path / "shots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def mic_browser(tmp_path):
    """Chromium whose microphone plays Korean speech (48 kHz, as a laptop microphone)."""
    from playwright.sync_api import sync_playwright

    microphone = synthesise(" ".join(KOREAN_SENTENCES[:2]), tmp_path / "microphone.wav", rate=48000)
    flags = [*FLAGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
             f"--use-file-for-fake-audio-capture={microphone}", "--autoplay-policy=no-user-gesture-required"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=flags)
        yield browser
        browser.close()


def real_work(page, base: str) -> dict:
    """What the real views show: the queue's codes and the report CSV."""
    page.goto(f"{base}/staff/?status=active")
    queue = page.locator("tr[data-code]").evaluate_all("rows => rows.map(r => r.dataset.code)")
    report = page.request.get(f"{base}/staff/reports.csv?by=channel&period=day").text()
    return {"queue": queue, "report": report}


def wait_for_heard(page, prompt: str) -> None:
    page.locator(f"#heard li[data-prompt='{prompt}']").last.wait_for()


def test_a_trainee_rehearses_a_call_and_a_text_then_takes_the_request(
        app, world, server, mic_browser, twilio_api, shots):  # noqa: F811
    real_ticket = world.ticket(world.village_a, topic="land")
    lead = phone_for(mic_browser, server, "thu", microphone=True)
    before = real_work(lead, server)
    assert before["queue"] == [real_ticket.code]

    page = phone_for(mic_browser, server, "lan", microphone=True)
    page.goto(f"{server}/staff/simulator")
    page.locator("label.scenario", has_text="khai sinh").tap()
    with page.expect_navigation():
        page.tap("#start-run")
    assert page.locator("#sim-number").inner_text().startswith("0")  # a number of its own, shown as dialled

    # The call: the language menu, then 4 (a voice message) cuts the main menu's prompt.
    page.tap("#call")
    wait_for_heard(page, "choose_language")
    page.tap("#keypad .key[data-key='1']")
    wait_for_heard(page, "main_menu")
    page.screenshot(path=str(shots / "practice-phone.png"), full_page=False)
    page.tap("#keypad .key[data-key='4']")
    wait_for_heard(page, "leave_message")
    page.tap("#screen")  # skip the prompt: the beep, then the microphone records
    page.locator("#phone.recording").wait_for()
    assert "giây" in page.locator("#countdown").inner_text()  # the countdown shows, in Vietnamese
    page.wait_for_timeout(3000)  # three seconds of the fake microphone's speech
    page.tap("#keypad .key[data-key='#']")
    wait_for_heard(page, "message_received")
    page.tap("#screen")
    page.locator("#call-state", has_text="Cuộc gọi đã kết thúc").wait_for()

    # The real transcription worker writes the transcript on the training request; the page shows it.
    run_queued_jobs(app, ("asr",))
    page.locator("#requests q.transcript").wait_for(timeout=15000)
    code = page.locator("#requests li").first.get_attribute("data-code")

    # A text: the reply arrives in the thread once the real worker has "sent" it.
    page.fill("#sms-body", "lam on cho hoi lam giay khai sinh cho con can gi")
    page.tap("#sms-send")
    page.locator("#thread li.resident").wait_for()
    run_queued_jobs(app)
    page.locator("#thread li.hotline").wait_for(timeout=15000)
    assert code in page.locator("#thread li.hotline").first.inner_text()
    page.locator("#sms-card").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "practice-phone-thread.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= WIDTH

    # The staff side: the training queue, a claim with one tap.
    page.tap("#training-queue")
    page.wait_for_url(re.compile(r".*space=training.*"))
    assert page.locator("#training-banner").is_visible()
    card = page.locator(f"tr[data-code='{code}']")
    with page.expect_navigation():
        card.locator("button.claim").tap()
    page.goto(f"{server}/staff/t/{code}")
    assert page.locator("#assignee").inner_text() == "Nguyễn Thị Lan"
    assert page.locator("q, .transcript").count() >= 1

    assert real_work(lead, server) == before
    assert twilio_api.requests == [] and twilio_api.messages == [] and twilio_api.calls == []
