"""Prompts: recordings played and served with caching headers, text-to-speech fallback,
and the `hotline prompts status|import|synth` commands."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile

from tests.voice_helpers import app_settings  # noqa: F401  (their app: no recorded prompts)


def tone(path, rate=44100, channels=2, seconds=0.5, fmt=None):
    t = np.linspace(0, seconds, int(rate * seconds), endpoint=False)
    wave = 0.3 * np.sin(2 * np.pi * 440 * t).astype("float32")
    data = np.stack([wave] * channels, axis=1) if channels > 1 else wave
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), data, rate, format=fmt) if fmt else soundfile.write(str(path), data, rate)
    return path


def test_recordings_are_served_with_caching_headers(app, client, tmp_path):
    tone(tmp_path / "audio" / "vi" / "goodbye.wav", rate=8000, channels=1)
    response = client.get("/audio/vi/goodbye.wav")
    assert response.status_code == 200 and response.mimetype == "audio/wav"
    assert "max-age=604800" in response.headers["Cache-Control"]
    assert "public" in response.headers["Cache-Control"]
    etag = response.headers["ETag"]
    assert client.get("/audio/vi/goodbye.wav", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/audio/vi/nothing.wav").status_code == 404
    assert client.get("/audio/..%2Fsecret/x.wav").status_code == 404


def test_a_vietnamese_recording_replaces_text_to_speech(app, twilio, tmp_path):
    tone(tmp_path / "audio" / "vi" / "choose_language.wav", rate=8000, channels=1)
    app.extensions["hotline.prompts"].refresh()
    call = twilio.call()
    call.start()
    gather = call.gather()
    assert [child.tag for child in gather] == ["Play"]
    assert gather.find("Play").text.startswith("https://hotline.example.org/audio/vi/choose_language.wav?v=")


def test_the_language_menu_offers_mnong_in_mnong_once_recorded(app, twilio, tmp_path):
    call = twilio.call()
    call.start()
    assert [child.tag for child in call.gather()] == ["Say"]
    tone(tmp_path / "audio" / "mnong" / "choose_language.wav", rate=8000, channels=1)
    app.extensions["hotline.prompts"].refresh()
    call.press("*")
    assert [child.tag for child in call.gather()] == ["Say", "Play"]


def test_prompts_status_lists_recorded_tts_and_missing(app, runner, tmp_path):
    tone(tmp_path / "audio" / "mnong" / "main_menu.wav", rate=8000, channels=1)
    result = runner.invoke(args=["prompts", "status"])
    assert result.exit_code == 0, result.output
    assert "vi (Tiếng Việt): 0 recorded, 43 text-to-speech, 0 missing" in result.output
    assert "mnong (M'Nông): 1 recorded, 0 text-to-speech, 42 missing" in result.output
    assert "main_menu              recorded" in result.output


def test_prompts_import_converts_any_wav_or_mp3_to_8khz_mono(app, runner, tmp_path):
    staff = tmp_path / "from_staff"
    tone(staff / "mnong" / "main_menu.wav", rate=44100, channels=2)
    tone(staff / "mnong" / "goodbye.mp3", rate=22050, channels=1, fmt="MP3")
    tone(staff / "mnong" / "not_a_prompt.wav", rate=16000, channels=1)
    (staff / "mnong" / "broken.wav").write_bytes(b"RIFF nonsense")
    result = runner.invoke(args=["prompts", "import", str(staff)])
    assert result.exit_code == 1  # problems are reported, the good files still imported
    assert "no prompt named 'not_a_prompt'" in result.output
    assert "no prompt named 'broken'" in result.output
    for name in ("main_menu", "goodbye"):
        info = soundfile.info(str(tmp_path / "audio" / "mnong" / f"{name}.wav"))
        assert (info.samplerate, info.channels, info.subtype) == (8000, 1, "PCM_16")
        assert abs(info.duration - 0.5) < 0.05
    assert not (tmp_path / "audio" / "mnong" / "not_a_prompt.wav").exists()


def test_prompts_import_with_lang_and_a_flat_folder(app, runner, tmp_path):
    flat = tmp_path / "flat"
    tone(flat / "welcome.wav", rate=48000, channels=1)
    result = runner.invoke(args=["prompts", "import", str(flat), "--lang", "vi"])
    assert result.exit_code == 0, result.output
    assert soundfile.info(str(tmp_path / "audio" / "vi" / "welcome.wav")).samplerate == 8000
    assert runner.invoke(args=["prompts", "import", str(flat)]).exit_code == 1


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_prompts_synth_makes_placeholder_recordings(app, runner, tmp_path):
    tone(tmp_path / "audio" / "vi" / "goodbye.wav", rate=8000, channels=1, seconds=0.1)
    result = runner.invoke(args=["prompts", "synth", "--lang", "vi"])
    assert result.exit_code == 0, result.output
    assert "42 placeholder recordings" in result.output  # goodbye was already recorded
    info = soundfile.info(str(tmp_path / "audio" / "vi" / "digit_7.wav"))
    assert (info.samplerate, info.channels) == (8000, 1) and info.duration > 0.2
    assert soundfile.info(str(tmp_path / "audio" / "vi" / "goodbye.wav")).duration < 0.2
