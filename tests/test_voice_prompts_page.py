"""The Prompts page (leads and admins): every prompt of a language with its Vietnamese text,
its state and a player; a recording made with the browser's microphone (Debian's Chromium
with a fake microphone playing a WAV) or uploaded, approved, put live by the real worker
and heard by the next caller."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile
from sqlalchemy import select

from hotline.extensions import db
from hotline.models import PromptRecording, Staff
from tests.browser_fixtures import CHROMIUM, FLAGS, needs_chromium, page_for
from tests.browser_fixtures import server as server  # noqa: F401  (the fixture)
from tests.conftest import PUBLIC_URL, TEST_AUTH_TOKEN
from tests.staff_fixtures import *  # noqa: F403
from tests.twilio_sim import TwilioSim
from tests.voice_helpers import app_settings  # noqa: F401  (their app: no recorded prompts)


def speech_like(path, seconds=3.0, rate=16000):
    t = np.linspace(0, seconds, int(rate * seconds), endpoint=False)
    wave = (0.4 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t))).astype("float32")
    soundfile.write(str(path), wave, rate, subtype="PCM_16")
    return path


@pytest.fixture
def database_url(sqlite_database):
    return sqlite_database


def mnong_choose_language_plays(app) -> list[str]:
    app.extensions["hotline.prompts"].refresh()
    call = TwilioSim(app.test_client(), TEST_AUTH_TOKEN, PUBLIC_URL).call("+84988000333")
    call.start()
    return [el.text for el in call.gather().iter("Play")]


def test_only_leads_and_admins_see_the_page(app, world, login):
    assert login("lan").get("/staff/prompts").status_code == 403
    lead = login("thu")
    page = lead.get("/staff/prompts").get_data(as_text=True)
    assert "M&#39;Nông: 0 đã ghi âm, 0 giọng máy đọc, 43 còn thiếu" in page
    assert "Để nghe tiếng M&#39;Nông, bấm phím 2." in page  # the Vietnamese text to say
    assert "Lời nhắc" in page or "Tải lên" in page
    assert 'href="/staff/prompts"' in lead.get("/staff/").get_data(as_text=True)


def test_an_uploaded_m4a_is_approved_and_heard(app, world, login, tmp_path, work_queue):
    """An M4A from a phone's voice recorder (AAC; FFmpeg through PyAV reads it)."""
    import av

    source = speech_like(tmp_path / "voice.wav")
    m4a = tmp_path / "voice.m4a"
    with av.open(str(source)) as inp, av.open(str(m4a), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=16000)
        for frame in inp.decode(audio=0):
            frame.pts = None
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    lead = login("thu")
    response = lead.post("/staff/prompts/upload", data={
        "lang": "mnong", "key": "main_menu", "file": (io.BytesIO(m4a.read_bytes()), "main_menu.m4a")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.remove()
    take = db.session.scalar(select(PromptRecording))
    assert take.status == "pending" and take.channel == "browser"
    take_id = take.id
    assert lead.get(f"/staff/prompts/take/{take_id}").status_code == 200
    assert lead.post(f"/staff/prompts/take/{take_id}/approve").status_code == 302
    work_queue()
    db.session.remove()
    take = db.session.get(PromptRecording, take_id)
    assert take.status == "live", take.problem
    info = soundfile.info(str(tmp_path / "data" / "prompts" / "mnong" / "main_menu.wav"))
    assert (info.samplerate, info.channels) == (8000, 1) and info.duration > 2.5
    page = lead.get("/staff/prompts?lang=mnong").get_data(as_text=True)
    assert "M&#39;Nông: 1 đã ghi âm" in page and "Phạm Thu" in page


def test_a_file_that_is_not_audio_is_said_so(app, world, login, work_queue):
    lead = login("thu")
    lead.post("/staff/prompts/upload", data={
        "lang": "mnong", "key": "goodbye", "file": (io.BytesIO(b"not audio at all"), "goodbye.wav")},
        content_type="multipart/form-data")
    db.session.remove()
    take_id = db.session.scalar(select(PromptRecording.id))
    lead.post(f"/staff/prompts/take/{take_id}/approve")
    work_queue()
    page = lead.get("/staff/prompts?lang=mnong").get_data(as_text=True)
    assert "không dùng được" in page


def test_the_dashboard_sets_a_pin(app, world, login):
    lead = login("thu")
    lead.post("/staff/prompts/pin", data={"pin": "12"})
    db.session.remove()
    assert db.session.scalar(select(Staff).where(Staff.username == "thu")).pin_hash is None
    lead.post("/staff/prompts/pin", data={"pin": "97531"})
    db.session.remove()
    assert db.session.scalar(select(Staff).where(Staff.username == "thu")).pin_hash.startswith("$argon2")


@pytest.fixture
def fake_microphone(tmp_path):
    return speech_like(tmp_path / "microphone.wav", seconds=4.0, rate=48000)


@pytest.fixture
def mic_browser(fake_microphone):
    from playwright.sync_api import sync_playwright

    flags = [*FLAGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
             f"--use-file-for-fake-audio-capture={fake_microphone}"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=flags)
        yield browser
        browser.close()


@needs_chromium
def test_a_lead_records_a_prompt_with_the_browser_microphone(
        app, world, server, mic_browser, work_queue, tmp_path):
    page = page_for(mic_browser, server, "thu")
    page.context.grant_permissions(["microphone"], origin=server)
    page.goto(f"{server}/staff/prompts?lang=mnong")
    button = page.locator("#p-goodbye button.record")
    button.click()
    page.locator("#p-goodbye button.record.recording[data-heard]").wait_for()  # the fake microphone spoke
    with page.expect_navigation():
        button.click()
    approve = page.locator("#p-goodbye form button.approve")
    approve.wait_for()
    assert page.locator("#p-goodbye .take audio").count() == 1
    with page.expect_navigation():
        approve.click()
    work_queue()
    db.session.remove()
    take = db.session.scalar(select(PromptRecording))
    assert take.status == "live", take.problem
    info = soundfile.info(str(tmp_path / "data" / "prompts" / "mnong" / "goodbye.wav"))
    assert (info.samplerate, info.channels) == (8000, 1) and info.duration > 0.3
    page.goto(f"{server}/staff/prompts?lang=mnong")
    assert page.locator("#p-goodbye").get_attribute("data-state") == "recorded"
    player = page.locator("#p-goodbye audio").first
    assert player.get_attribute("src").startswith("/audio/mnong/goodbye.wav?v=")
