"""`hotline call`: a call played in the terminal against a running hotline over HTTP,
signed like Twilio, with keys fed on stdin."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import soundfile
from werkzeug.serving import make_server

from hotline.extensions import db
from tests.voice_helpers import tickets


@pytest.fixture
def served(app):
    """The test app behind a real HTTP server on a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def test_a_simulated_call_asks_for_a_callback(runner, served):
    result = runner.invoke(args=["call", "--url", served, "--from", "0912 345 678"], input="1\n1\n3\n")
    assert result.exit_code == 0, result.output
    assert "Để nghe tiếng Việt, bấm phím 1" in result.output
    assert "Đăng ký cư trú, bấm 3" in result.output
    assert "— call ended —" in result.output
    (ticket,) = tickets()
    assert ticket.topic == "residence" and ticket.phone == "+84912345678"


def test_lang_option_silence_and_hang_up(runner, served):
    result = runner.invoke(args=["call", "--url", served, "--lang", "mnong"], input="s\nh\n")
    assert result.exit_code == 0, result.output
    assert "⌨  2   (--lang)" in result.output
    assert "chưa nghe thấy phím nào" in result.output
    (ticket,) = tickets()  # hung up at the main menu: a dropped call
    assert ticket.reason == "dropped_call" and ticket.language == "mnong"


def test_a_wav_path_leaves_a_voice_message(runner, served, tmp_path):
    wav = tmp_path / "message.wav"
    soundfile.write(str(wav), np.zeros(16000, dtype="float32"), 8000)
    result = runner.invoke(args=["call", "--url", served, "--from", "anonymous"],
                           input=f"1\n4\n{wav}\n")
    assert result.exit_code == 0, result.output
    assert "beep" in result.output
    (ticket,) = tickets()
    assert ticket.reason == "voicemail" and ticket.phone is None
    from hotline.models import VoiceMessage

    db.session.remove()
    message = db.session.query(VoiceMessage).one()
    assert message.duration_seconds == 2 and message.recording_url == wav.as_uri()
