"""`hotline call`: a call played in the terminal against a running hotline over HTTP,
signed like Twilio, with keys fed on stdin."""

from __future__ import annotations

import threading
from pathlib import Path

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
    assert message.duration_seconds == 2
    # Delivered as Twilio would: a URL on the Twilio API host, the file where the worker keeps it.
    assert message.recording_url.startswith("https://api.twilio.com/2010-04-01/Accounts/")
    delivered = Path(runner.app.config["DATA_DIR"]) / "recordings" / f"{message.recording_sid}.wav"
    assert delivered.read_bytes() == wav.read_bytes()


def test_a_wav_at_the_beep_is_transcribed_locally(runner, served, app, korean_model_dir, korean_wav, tmp_path,
                                                  work_queue):
    """The worker's production host check stays: the RecordingUrl is on the Twilio API host and
    the file is already in the data folder, so nothing is downloaded and the message is heard."""
    from hotline import speech_models
    from hotline.models import Transcription

    speech_models.install("vi", str(korean_model_dir), app.config["DATA_DIR"], in_place=True)
    wav = tmp_path / "message.wav"
    wav.write_bytes(korean_wav)
    result = runner.invoke(args=["call", "--url", served], input=f"1\n4\n{wav}\n")
    assert result.exit_code == 0, result.output
    work_queue(("asr",))
    db.session.remove()
    row = db.session.query(Transcription).one()
    assert row.status == "done", row.error
    assert row.text and row.ticket.transcript == row.text


def test_hash_ends_a_typed_code_as_twilio_strips_it(runner, served, app):
    from hotline import tickets as domain
    from hotline.unit_of_work import unit_of_work

    with unit_of_work():
        code = domain.create_ticket(phone="+84912000999", channel="sms", reason="callback_requested").code
    db.session.remove()
    result = runner.invoke(args=["call", "--url", served, "--from", "+84988777666"],
                           input=f"1\n2\n{code}#\nh\n")
    assert result.exit_code == 0, result.output
    assert "không đúng" not in result.output and "Không tìm thấy" not in result.output
    assert "Yêu cầu đang chờ cán bộ gọi lại" in result.output


def test_an_unreachable_hotline_says_what_to_do_in_one_line(runner, app):
    result = runner.invoke(args=["call", "--url", "http://127.0.0.1:9"], input="1\n")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert "no hotline answers at http://127.0.0.1:9" in line and "hotline up" in line


def test_a_refused_signature_says_what_to_do_in_one_line(served, app_factory):
    other = app_factory(TWILIO_AUTH_TOKEN="another-token")  # the CLI signs with a token the server lacks
    with other.app_context():  # the command runs in the current app context: make it the other one
        result = other.test_cli_runner().invoke(args=["call", "--url", served], input="1\n")
    assert result.exit_code == 1
    (line,) = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert "refused the signature" in line and "TWILIO_AUTH_TOKEN" in line


def test_the_default_url_is_the_one_hotline_up_noted(app, tmp_path):
    from hotline.callsim import DEFAULT_URL, running_url

    data_dir = Path(app.config["DATA_DIR"])
    assert running_url(data_dir) == DEFAULT_URL
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "web_url").write_text("http://127.0.0.1:5077\n")
    assert running_url(data_dir) == "http://127.0.0.1:5077"
