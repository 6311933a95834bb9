"""Decoding, resampling, recognising and downloading, piece by piece (no app needed)."""

from __future__ import annotations

import io
import re
import shutil
import wave

import numpy as np
import pytest

from hotline import speech_models
from hotline.transcription import audio as audio_mod
from hotline.transcription.audio import UnreadableAudio, decode
from hotline.transcription.download import (
    DownloadFailed,
    DownloadRefused,
    NotYetAvailable,
    fetch,
    media_url,
)
from hotline.transcription.recognise import Recognised, recognise
from tests.asr_fixtures import ACCOUNT_SID
from tests.conftest import TEST_AUTH_TOKEN


def wav_bytes(samples: np.ndarray, rate: int, channels: int = 1, width: int = 2) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return out.getvalue()


def tone(seconds: float, rate: int, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")


def test_telephony_wav_is_resampled_to_the_models_rate(tmp_path):
    path = tmp_path / "a.wav"
    path.write_bytes(wav_bytes(tone(1.0, 8000), 8000))
    audio = decode(path)
    assert audio.rate == 8000 and audio.seconds == pytest.approx(1.0)
    pcm = np.frombuffer(audio.pcm16(16000), dtype="<i2")
    assert len(pcm) == pytest.approx(16000, abs=2)
    # A real resampler keeps the tone's level and pitch (no zero-stuffing, no aliasing).
    spectrum = np.abs(np.fft.rfft(pcm[2000:14000]))
    assert np.fft.rfftfreq(12000, 1 / 16000)[spectrum.argmax()] == pytest.approx(440, abs=3)
    assert np.abs(pcm).max() == pytest.approx(0.5 * 32767, rel=0.05)


def test_stereo_is_mixed_to_mono(tmp_path):
    left = tone(0.5, 16000)
    stereo = np.stack([left, np.zeros_like(left)], axis=1).reshape(-1)
    path = tmp_path / "s.wav"
    path.write_bytes(wav_bytes(stereo, 16000, channels=2))
    audio = decode(path)
    assert audio.seconds == pytest.approx(0.5)
    assert np.abs(audio.samples).max() == pytest.approx(0.25, rel=0.05)


@pytest.mark.parametrize("body, reason", [
    (b"", "empty (0 bytes)"),
    (b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk", "corrupt"),
    (wav_bytes(np.zeros(0, dtype="<i2"), 8000), "empty (0.00 s"),
    (wav_bytes(tone(0.05, 8000), 8000), "empty (0.05 s"),
])
def test_corrupt_or_empty_audio_says_why(tmp_path, body, reason):
    path = tmp_path / "bad.wav"
    path.write_bytes(body)
    with pytest.raises(UnreadableAudio, match=re.escape(reason)):
        decode(path)


def test_mp3_needs_a_decoder(tmp_path, monkeypatch):
    path = tmp_path / "m.mp3"
    path.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb" * 100)
    monkeypatch.setattr(audio_mod, "_soundfile", lambda: None)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(UnreadableAudio, match="no decoder for other formats is installed"):
        decode(path)


def test_media_is_fetched_only_from_the_twilio_api_host():
    base = "https://api.twilio.com"
    assert media_url(f"{base}/2010-04-01/Accounts/AC1/Recordings/RE1", base).endswith("/RE1.wav")
    assert media_url(f"{base}/2010-04-01/Accounts/AC1/Recordings/RE1.mp3", base).endswith(".mp3")
    for bad in ("https://evil.example/Recordings/RE1", "http://api.twilio.com/Recordings/RE1",
                "https://api.twilio.com.evil.example/Recordings/RE1", "file:///etc/passwd", ""):
        with pytest.raises(DownloadRefused):
            media_url(bad, base)


def test_fetch_retries_not_yet_available_then_gives_up(media_host, tmp_path):
    path = "/2010-04-01/Accounts/x/Recordings/RE1.wav"
    url = media_host.base_url + path
    media_host.serve(path, b"RIFFdata")
    media_host.fail_path(path, 404, times=2)
    media_host.fail_path(path, 503, times=1)
    pauses: list[float] = []
    size = fetch(url, tmp_path / "r.wav", auth=(ACCOUNT_SID, TEST_AUTH_TOKEN), delays=[1, 2, 4],
                 sleep=pauses.append)
    assert size == 8 and (tmp_path / "r.wav").read_bytes() == b"RIFFdata"
    assert pauses == [1, 2, 4]

    media_host.fail_path(path, 404, times=5)
    with pytest.raises(NotYetAvailable, match="after 3 tries"):
        fetch(url, tmp_path / "s.wav", auth=(ACCOUNT_SID, TEST_AUTH_TOKEN), delays=[0, 0],
              sleep=lambda s: None)
    assert not (tmp_path / "s.wav").exists()


def test_fetch_sends_the_account_credentials(media_host, tmp_path):
    path = "/2010-04-01/Accounts/x/Recordings/RE2.wav"
    media_host.serve(path, b"RIFF")
    with pytest.raises(DownloadFailed, match="HTTP 401"):
        fetch(media_host.base_url + path, tmp_path / "r.wav", auth=(ACCOUNT_SID, "wrong"), delays=[])


def test_confidence_is_weighted_by_word_duration():
    words = [{"word": "a", "start": 0.0, "end": 1.0, "conf": 1.0},
             {"word": "b", "start": 1.0, "end": 1.1, "conf": 0.0}]
    assert Recognised("a b", words).confidence == pytest.approx(1 / 1.1)
    assert Recognised("", []).confidence is None


def test_vosk_hears_words_with_times_and_confidences(korean_model_dir, korean_wav, tmp_path):
    path = tmp_path / "k.wav"
    path.write_bytes(korean_wav)
    audio = decode(path)
    model = speech_models.load_model(korean_model_dir)
    result = recognise(model, audio.pcm16(16000), 16000)
    assert result.text and len(result.words) >= 2
    assert 0 < result.confidence <= 1
    silence = recognise(model, b"\x00\x00" * 16000, 16000)
    assert silence.text == "" and silence.confidence is None
